"""A custom ONNX classifier, checked before it is accepted, and its labels' file.

Each refusal is an InvalidModel whose message says exactly what is wrong, for the
person adding the model.
"""

import csv
import io
import json

import numpy as np
from PIL import Image

from .decode import decode
from .preprocess import preprocess
from .registry import Label, ModelSpec
from .selfcheck import SELFCHECK_DIR, reference

# The torchvision convention most exported classifiers were trained with.
DEFAULT_CROP_RATIO = 0.875
DEFAULT_MEAN = (0.485, 0.456, 0.406)
DEFAULT_STD = (0.229, 0.224, 0.225)

# A Softmax's row sums to 1 within float32 rounding, far inside this; a row of logits
# summing to 1 by chance on every sample image does not happen.
PROBABILITY_SUM_TOLERANCE = 1e-3


class InvalidModel(ValueError):
    """The model file or its labels cannot be used; the message says why."""


def parse_labels(data: bytes, filename: str) -> tuple[Label, ...]:
    """One English name a line (the name is its id), a CSV with a header ``id,en[,zh-hans,...]``,
    or JSON: a list of ``{"id": ..., "names": {"en": ..., ...}}``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidModel(f"{filename}: the labels file is not UTF-8 text.") from None
    if filename.lower().endswith(".json"):
        labels = _json_labels(text, filename)
    elif filename.lower().endswith(".csv"):
        labels = _csv_labels(text, filename)
    else:
        labels = [Label(line.strip(), {"en": line.strip()}) for line in text.splitlines() if line.strip()]
    if not labels:
        raise InvalidModel(f"{filename}: no labels in the file.")
    ids = [label.id for label in labels]
    if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
        raise InvalidModel(f"{filename}: the label id {duplicated[0]!r} is given more than once.")
    return tuple(labels)


def _json_labels(text: str, filename: str) -> list[Label]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidModel(f"{filename}: not valid JSON ({exc}).") from None
    if not isinstance(entries, list):
        raise InvalidModel(f'{filename}: expected a list of {{"id": ..., "names": {{"en": ...}}}}.')
    labels = []
    for number, entry in enumerate(entries, start=1):
        names = entry.get("names") if isinstance(entry, dict) else None
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise InvalidModel(f'{filename}: label {number} has no "names" object of strings.')
        labels.append(_label(str(entry.get("id") or names.get("en") or ""), names, f"{filename}: label {number}"))
    return labels


def _csv_labels(text: str, filename: str) -> list[Label]:
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or "id" not in rows.fieldnames or "en" not in rows.fieldnames:
        raise InvalidModel(f"{filename}: the first row must name the columns, with at least id and en.")
    return [_label(row["id"] or "", {lang: (name or "").strip() for lang, name in row.items() if lang != "id"},
                   f"{filename}: line {number}")
            for number, row in enumerate(rows, start=2)]


def _label(label_id: str, names: dict[str, str], where: str) -> Label:
    names = {lang: name.strip() for lang, name in names.items() if name and name.strip()}
    if not label_id.strip() or not names.get("en"):
        raise InvalidModel(f"{where}: every label needs an id and an English name (en).")
    return Label(label_id.strip(), names)


def check_model(spec: ModelSpec, data: bytes, *, max_bytes: int | None = None, output: str | None = None) -> str:
    """Refuse a model that could not serve: too big, not ONNX, not one image input of the
    spec's size, not one output as wide as its labels, or failing on the sample images.

    Returns what its output is: ``output`` when given (checked against its answers),
    else found out from the answers: "probabilities" where every row is non-negative
    and sums to 1, "logits" otherwise."""
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidModel(f"The model file is {len(data):,} bytes; the limit is {max_bytes:,} "
                           "(PYVISION_CUSTOM_MODEL_MAX_BYTES).")
    try:
        import onnxruntime as ort  # see the package's docstring

        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for every kind of bad file
        raise InvalidModel(f"The file is not an ONNX model onnxruntime can load: {str(exc).strip()[:300]}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise InvalidModel(f"The model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                           "it must have one, the image.")
    shape = inputs[0].shape
    size = spec.input_size
    if len(shape) != 4 or shape[1] != 3 or any(isinstance(d, int) and d != size for d in shape[2:]):
        raise InvalidModel(f"The model's input has shape {shape}; expected (batch, 3, {size}, {size}) for --size {size}.")
    if inputs[0].type != "tensor(float)":
        raise InvalidModel(f"The model's input is a {inputs[0].type}; expected a tensor(float) image.")
    if len(outputs) != 1:
        raise InvalidModel(f"The model has {len(outputs)} outputs; it must have one, the class scores.")
    width = outputs[0].shape[-1] if outputs[0].shape else None
    if isinstance(width, int) and width != len(spec.labels):
        raise InvalidModel(f"The model's output has {width} classes and the labels file {len(spec.labels)}: "
                           "they must be the same.")
    rows = []
    for name, image in sample_images(size):
        pixels = preprocess(image, size, crop_ratio=spec.crop_ratio, mean=spec.mean, std=spec.std)
        try:
            (scores,) = session.run(None, {inputs[0].name: pixels[np.newaxis]})
        except Exception as exc:
            raise InvalidModel(f"The model failed on a sample image ({name}): {str(exc).strip()[:300]}") from None
        if scores.shape != (1, len(spec.labels)):
            raise InvalidModel(f"On a sample image ({name}) the model answered shape {scores.shape}; expected "
                               f"(1, {len(spec.labels)}) for its labels.")
        if not np.isfinite(scores).all():
            raise InvalidModel(f"On a sample image ({name}) the model answered a score that is not a finite number.")
        rows.append((name, scores[0]))
    if output is None:
        return "probabilities" if all(are_probabilities(row) for _, row in rows) else "logits"
    if output == "probabilities":
        # Taken as they are, scores outside 0-1 would be shown as impossible percentages.
        for name, row in rows:
            if row.min() < 0 or row.max() > 1:
                raise InvalidModel(f"The model's output is said to be probabilities, but on a sample image ({name}) "
                                   f"it answered {row.min() if row.min() < 0 else row.max():.4g}; probabilities "
                                   "are between 0 and 1. Leave --output out to find out which it is.")
    return output


def are_probabilities(row: np.ndarray) -> bool:
    """A row a Softmax wrote: no negative score, and a sum of 1."""
    return bool(row.min() >= 0 and abs(float(row.sum(dtype=np.float64)) - 1) <= PROBABILITY_SUM_TOLERANCE)


def sample_images(size: int) -> list[tuple[str, Image.Image]]:
    """A plain grey image and the self-check's photos: a model's output kind is judged on
    real photos, not only on a blank that might give a degenerate row."""
    grey = ("a plain grey image", Image.new("RGB", (size * 2, size), (120, 140, 160)))
    return [grey, *((photo, decode((SELFCHECK_DIR / photo).read_bytes())) for photo in reference()["photos"])]
