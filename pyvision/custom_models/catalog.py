"""The models a recognition can use: the built-in ones and the enabled custom ones.

A custom model's file lives in the storage backend (the media folder, or S3 in the
distributed mode) with its sha256: each worker and web process reads it from there on
first use and checks it against that sum before loading it.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from pyvision.engine.custom import DEFAULT_CROP_RATIO, DEFAULT_MEAN, DEFAULT_STD, InvalidModel, check_model, parse_labels
from pyvision.engine.registry import MODELS, ModelIntegrityError, ModelSpec, verify
from pyvision.synsets.models import by_index

from .models import CustomModel, Label

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class UnknownModel(LookupError):
    """No built-in model and no enabled custom model has this name."""


def names() -> list[str]:
    """Every model a recognition may ask for, built-in first."""
    return [*MODELS, *CustomModel.objects.filter(enabled=True).values_list("name", flat=True)]


def is_available(name: str) -> bool:
    return name in MODELS or CustomModel.objects.filter(name=name, enabled=True).exists()


def enabled(name: str) -> CustomModel:
    try:
        return CustomModel.objects.get(name=name, enabled=True)
    except CustomModel.DoesNotExist:
        raise UnknownModel(f"No model is named {name!r}, or it is disabled; see `pyvision models list`.") from None


def version(name: str) -> str:
    """What a process's loaded copy of the model is keyed by: a model removed and added
    again under the same name is loaded again."""
    return name if name in MODELS else f"{name}@{enabled(name).sha256}"


def classifier(name: str, **options):
    """The model loaded for this process: a built-in one from the package, a custom one
    from the storage backend, its bytes checked against its sha256."""
    from pyvision.engine.classifier import Classifier

    if name in MODELS:
        return Classifier(name, **options)
    model = enabled(name)
    data = stored_bytes(model)
    log.info("model %s: %d bytes read from storage (%s)", name, len(data), model.file.name)
    return Classifier(model.spec(), model_bytes=data, **options)


def stored_bytes(model: CustomModel) -> bytes:
    with model.file.open("rb") as f:
        return f.read()


@dataclass(frozen=True)
class ModelCheck:
    model: str
    ok: bool
    # Why it could not serve; empty when it can.
    reason: str = ""

    @property
    def summary(self) -> str:
        return f"custom model {self.model}: {self.reason or 'read from storage, sha256 verified, answers as it should'}"


def check_enabled() -> list[ModelCheck]:
    """Each enabled custom model as a worker would load it: read from the storage backend,
    its sha256 verified, loaded in onnxruntime, run on the sample images, each answer a row
    of the kind it was added as (finite; probabilities between 0 and 1)."""
    checks = []
    for model in CustomModel.objects.filter(enabled=True).prefetch_related("labels"):
        spec = model.spec()
        try:
            data = stored_bytes(model)
        except Exception as exc:  # each storage backend fails in its own way: a missing file, S3's ClientError, ...
            checks.append(ModelCheck(model.name, False, f"its file {model.file.name} could not be read from storage: {exc}"))
            continue
        try:
            check_model(spec, verify(spec, data), output=model.output)
        except (ModelIntegrityError, InvalidModel) as exc:
            checks.append(ModelCheck(model.name, False, str(exc)))
        else:
            checks.append(ModelCheck(model.name, True))
    return checks


def classes(name: str) -> dict:
    """Output position -> what a prediction names: an ImageNet Synset, or a custom Label."""
    if name in MODELS:
        return by_index()
    return {label.index: label for label in Label.objects.filter(model__name=name)}


def prediction_targets(name: str, indexes: list[int]) -> list[dict]:
    """The fields of each stored Prediction that say which class it is, in order."""
    if name in MODELS:
        # A synset's primary key is its class index: no lookup needed.
        return [{"synset_id": i} for i in indexes]
    labels = dict(Label.objects.filter(model__name=name, index__in=indexes).values_list("index", "pk"))
    return [{"label_id": labels[i]} for i in indexes]


def add(name: str, onnx: Path, labels: Path, *, size: int = 224, crop_ratio: float = DEFAULT_CROP_RATIO,
        mean: tuple[float, ...] = DEFAULT_MEAN, std: tuple[float, ...] = DEFAULT_STD, description: str = "",
        output: str | None = None) -> CustomModel:
    """Check a model and its labels, then store them; raises InvalidModel saying why not,
    having stored nothing. ``output`` ("logits" or "probabilities") is found out from the
    model's answers unless given."""
    if not NAME.match(name):
        raise InvalidModel(f"{name!r}: a model's name is 1-32 lowercase letters, digits, - or _, starting with a letter or digit.")
    if name in MODELS or CustomModel.objects.filter(name=name).exists():
        raise InvalidModel(f"A model named {name!r} exists already; remove it first or choose another name.")
    if not 16 <= size <= 2048:
        raise InvalidModel(f"--size {size}: expected 16 to 2048 pixels.")
    if not 0 < crop_ratio <= 1:
        raise InvalidModel(f"--resize-crop {crop_ratio}: expected a share of the shorter side, above 0 and at most 1.")
    if len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std):
        raise InvalidModel("--mean and --std take three values (R,G,B) on the 0-1 scale; each std above 0.")
    if onnx.stat().st_size > settings.CUSTOM_MODEL_MAX_BYTES:
        raise InvalidModel(f"The model file is {onnx.stat().st_size:,} bytes; the limit is "
                           f"{settings.CUSTOM_MODEL_MAX_BYTES:,} (PYVISION_CUSTOM_MODEL_MAX_BYTES).")
    data = onnx.read_bytes()
    parsed = parse_labels(labels.read_bytes(), labels.name)
    sha256 = hashlib.sha256(data).hexdigest()
    spec = ModelSpec(name, "", size, description, crop_ratio=crop_ratio, mean=tuple(v * 255 for v in mean),
                     std=tuple(v * 255 for v in std), labels=parsed, sha256=sha256)
    output = check_model(spec, data, max_bytes=settings.CUSTOM_MODEL_MAX_BYTES, output=output)
    model = CustomModel(name=name, description=description, sha256=sha256, size=len(data), input_size=size,
                        crop_ratio=crop_ratio, mean=list(mean), std=list(std), output=output)
    model.file.save("model.onnx", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            model.save()
            Label.objects.bulk_create(Label(model=model, model_name=name, index=i, key=label.id, names=label.names)
                                      for i, label in enumerate(parsed))
    except Exception:
        default_storage.delete(model.file.name)
        raise
    return model


def remove(model: CustomModel) -> None:
    """Delete the model and its file; its labels stay, so past recognitions still read."""
    model.delete()
    default_storage.delete(model.file.name)
