"""Does this CPU give the answers the models were built to give?

int8 arithmetic differs from CPU to CPU (on x86 without VNNI a badly quantised model
saturates and loses points of accuracy without any error). The build wrote a few
public-domain photos and the float models' probabilities for each into
``data/selfcheck/``; here each served int8 model is run on them and compared, so that
a wrong answer is never silent: ``pyvision doctor`` prints it, and each worker logs it
at start and reports it through ``/readyz``.
"""

import hashlib
import json
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .registry import expected_sha256, get_spec

SELFCHECK_DIR = Path(__file__).parent / "data" / "selfcheck"

# The total variation distance between the int8 and the float probabilities, averaged
# over the photos. The committed models measure 0.07 (Lite0) and 0.05 (Lite2), the same
# on every CPU since their integer arithmetic cannot saturate; a model that saturates
# drifts far more (Lite2 compared with Lite0's reference measures 0.37). Each photo's int8 top-1 must also be
# among the float model's top 3: close classes may swap, a wrong kind of thing may not.
MAX_MEAN_DISTANCE = 0.12
TOP1_WITHIN = 3


@dataclass(frozen=True)
class PhotoCheck:
    photo: str
    reference_top1: int
    top1: int
    distance: float


@dataclass(frozen=True)
class ModelCheck:
    model: str
    agrees: bool
    mean_distance: float
    photos: list[PhotoCheck]

    @property
    def summary(self) -> str:
        verdict = "agrees with" if self.agrees else "DISAGREES with"
        return f"{self.model} {verdict} its float reference (mean distance {self.mean_distance:.3f}, limit {MAX_MEAN_DISTANCE})"


@cache
def reference() -> dict:
    return json.loads((SELFCHECK_DIR / "reference.json").read_text())


def checked_models() -> list[str]:
    return sorted(reference()["probabilities"])


def check(classifier: Classifier, model: str | None = None) -> ModelCheck:
    """Compare ``classifier`` with the float reference of ``model`` (default: its own)."""
    model = model or classifier.spec.name
    expected = np.array(reference()["probabilities"][model])
    photos = reference()["photos"]
    batch = np.stack([classifier.prepare((SELFCHECK_DIR / photo).read_bytes()) for photo in photos])
    actual = classifier.probabilities(batch)
    checks = [
        PhotoCheck(photo, int(want.argmax()), int(got.argmax()), round(float(0.5 * np.abs(want - got).sum()), 4))
        for photo, want, got in zip(photos, expected, actual)
    ]
    mean_distance = float(np.mean([c.distance for c in checks]))
    top1_close = all(got.argmax() in np.argsort(want)[::-1][:TOP1_WITHIN] for want, got in zip(expected, actual))
    return ModelCheck(model, top1_close and mean_distance <= MAX_MEAN_DISTANCE, round(mean_distance, 4), checks)


def check_apart(model: str) -> ModelCheck:
    """``check`` of a built-in model, loaded in a child process: the caller learns whether
    this CPU gives the model's answers without keeping the model in its own memory."""
    child = subprocess.run([sys.executable, "-m", __name__, model], stdout=subprocess.PIPE, text=True, check=True)
    found = json.loads(child.stdout)
    return ModelCheck(**{**found, "photos": [PhotoCheck(**photo) for photo in found["photos"]]})


def conditions(model: str) -> str:
    """What a built-in model's check depends on besides this code: its file, the
    reference, the CPU's int8 features and onnxruntime's version."""
    spec = get_spec(model)
    reference_sha = hashlib.sha256((SELFCHECK_DIR / "reference.json").read_bytes()).hexdigest()[:16]
    this_cpu = cpu()
    features = ",".join(name for name, on in this_cpu["features"].items() if on)
    return (f"{model} {expected_sha256()[spec.filename][:16]} {reference_sha} {MAX_MEAN_DISTANCE} {this_cpu['model']} "
            f"{features} {_installed_runtime()}")


def _installed_runtime() -> str:
    """onnxruntime's distributions and versions (onnxruntime, onnxruntime-gpu), read
    without importing it (as runtime() would)."""
    distributions = sorted(set(metadata.packages_distributions().get("onnxruntime", [])))
    return ",".join(f"{name} {metadata.version(name)}" for name in distributions)


def cpu() -> dict:
    """The CPU features that decide how int8 runs: AVX2, AVX-512 and VNNI on x86, NEON and
    its dot product on ARM."""
    flags, model = set(), platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key in ("flags", "features") and not flags:
                flags = set(value.split())
            elif key == "model name" and not model:
                model = value.strip()
    except OSError:
        pass  # not Linux: the machine's name is all there is to say
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        features = {"neon": "asimd" in flags or machine == "arm64", "dot_product": "asimddp" in flags,
                    "i8mm": "i8mm" in flags}
    else:
        features = {"avx2": "avx2" in flags, "avx512": "avx512f" in flags,
                    "vnni": bool(flags & {"avx512_vnni", "avx_vnni"})}
    return {"machine": machine, "model": model, "features": features}


def runtime() -> dict:
    import onnxruntime as ort  # see the package's docstring

    return {"onnxruntime": ort.__version__, "providers": ort.get_available_providers()}


if __name__ == "__main__":  # check_apart's child
    print(json.dumps(asdict(check(Classifier(sys.argv[1])))))
