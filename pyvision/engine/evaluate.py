"""Accuracy on a folder of labelled images named ``<wnid>_<anything>.<ext>``."""

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


def labelled_images(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(folder.iterdir()):
        match = LABELLED_NAME.match(path.name)
        if match and path.suffix.lower() in IMAGE_SUFFIXES:
            found.append((path, match.group(1)))
    return found


def evaluate(classifier: Classifier, folder: Path, *, batch_size: int = 16, progress=None) -> Accuracy:
    images = labelled_images(folder)
    if not images:
        raise ValueError(f"No images named <wnid>_*.<ext> in {folder}.")
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
