"""Accuracy on a folder of labelled images named ``<wnid>_<anything>.<ext>``, or, for a
custom model, ``<label id>_<anything>.<ext>``."""

import re
from dataclasses import dataclass
from pathlib import Path

from .classifier import Classifier
from .errors import ImageError

LABELLED_NAME = re.compile(r"^(n\d{8})_")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}


@dataclass(frozen=True)
class Accuracy:
    model: str
    n: int
    top1: float
    top5: float
    failed: int


def labelled_images(folder: Path, label_ids: tuple[str, ...] = ()) -> list[tuple[Path, str]]:
    """Each image with its class: a wnid, or the longest of ``label_ids`` its name starts with."""
    by_length = sorted(label_ids, key=len, reverse=True)
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if label_ids:
            label = next((i for i in by_length if path.name.startswith(i + "_")), None)
        else:
            label = match.group(1) if (match := LABELLED_NAME.match(path.name)) else None
        if label:
            found.append((path, label))
    return found


def evaluate(classifier: Classifier, folder: Path, *, batch_size: int = 16, progress=None) -> Accuracy:
    images = labelled_images(folder, label_ids(classifier))
    if not images:
        raise ValueError(f"No images named <{'label id' if classifier.spec.is_custom else 'wnid'}>_*.<ext> in {folder}.")
    top1 = top5 = failed = 0
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        inputs, wnids = [], []
        for path, wnid in chunk:
            try:
                inputs.append(classifier.prepare(path.read_bytes()))
                wnids.append(wnid)
            except ImageError:
                failed += 1
        for wnid, predictions in zip(wnids, classifier.classify_batch(inputs, 5)):
            ranked = [p.wnid for p in predictions]
            top1 += ranked[0] == wnid
            top5 += wnid in ranked
        if progress:
            progress(len(chunk))
    n = len(images)
    return Accuracy(classifier.spec.name, n, top1 / n, top5 / n, failed)


def label_ids(classifier: Classifier) -> tuple[str, ...]:
    return tuple(label.id for label in classifier.spec.labels)
