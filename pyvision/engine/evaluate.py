"""Accuracy on a folder of labelled images named ``<wnid>_<anything>.<ext>``, or, for a
custom model, ``<label id>_<anything>.<ext>``."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .errors import ImageError
from .hedging import DEFAULT_CONFIDENCE, hedge, hierarchy

LABELLED_NAME = re.compile(r"^(n\d{8})_")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}


@dataclass(frozen=True)
class Accuracy:
    model: str
    n: int
    top1: float
    top5: float
    failed: int
    # Hedged answers: how often the true class is the answer or under it, and the
    # answer's mean WordNet depth (entity = 0); None for a model without a hierarchy.
    hedged: float | None = None
    hedged_depth: float | None = None


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


def evaluate(classifier: Classifier, folder: Path, *, batch_size: int = 16, confidence: float = DEFAULT_CONFIDENCE,
             progress=None) -> Accuracy:
    images = labelled_images(folder, label_ids(classifier))
    if not images:
        raise ValueError(f"No images named <{'label id' if classifier.spec.is_custom else 'wnid'}>_*.<ext> in {folder}.")
    top1 = top5 = failed = 0
    hedged_right, hedged_depths = 0, []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        inputs, wnids = [], []
        for path, wnid in chunk:
            try:
                inputs.append(classifier.prepare(path.read_bytes()))
                wnids.append(wnid)
            except ImageError:
                failed += 1
        for wnid, row in zip(wnids, classifier.probabilities(np.stack(inputs)) if inputs else []):
            ranked = [p.wnid for p in classifier.top_k(row, 5)]
            top1 += ranked[0] == wnid
            top5 += wnid in ranked
            if answer := hedge(classifier.spec.name, row, confidence):
                hedged_right += wnid in hierarchy().wnids_under(answer.wnid)
                hedged_depths.append(answer.depth)
        if progress:
            progress(len(chunk))
    n = len(images)
    hedged = (hedged_right / len(hedged_depths), sum(hedged_depths) / len(hedged_depths)) if hedged_depths else (None, None)
    return Accuracy(classifier.spec.name, n, top1 / n, top5 / n, failed, *hedged)


def label_ids(classifier: Classifier) -> tuple[str, ...]:
    return tuple(label.id for label in classifier.spec.labels)
