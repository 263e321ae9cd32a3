"""Each person's vectors: stored when a recognition is done, searched from memory.

A web process keeps the vectors of the few people who searched last as one float32
matrix each (100 MB for 100,000 photos), and reads them again from the database only
when they changed (their count and newest time, read through the owner's index, at
most every CHECK_SECONDS).
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Count, Max
from django.dispatch import receiver

from pyvision.engine import similarity
from pyvision.recognition.signals import recognition_done

from .models import PhotoVector

# Libraries kept in memory by a web process, least recently used out first.
KEPT_LIBRARIES = 4
# A kept library is checked against the database at most this often: asking costs more
# than the search (60 of 90 ms for 100,000 photos). A photo deleted in between is left out
# of answers all the same (its recognition is gone); a new one shows a little later.
CHECK_SECONDS = 2


@receiver(recognition_done)
def store_vector(sender, recognition, result, **kwargs):
    if result.embedding is None:  # a model without an embedding output
        return
    image = recognition.image
    # One upsert: update_or_create would select, then write, in a savepoint of its own.
    # MySQL/MariaDB take no conflict target: their upsert answers any unique key's conflict.
    target = ["image", "model"] if connection.features.supports_update_conflicts_with_target else None
    PhotoVector.objects.bulk_create([PhotoVector(
        image=image, model=recognition.model, owner_id=image.owner_id,
        session_key="" if image.owner_id else image.session_key, vector=similarity.compact(result.embedding),
    )], update_conflicts=True, unique_fields=target, update_fields=["owner", "session_key", "vector", "stored_at"])


@dataclass(frozen=True)
class Library:
    image_ids: list
    matrix: np.ndarray  # (len(image_ids), DIMENSIONS), unit rows
    rows: dict = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "rows", {image_id: row for row, image_id in enumerate(self.image_ids)})


_kept: OrderedDict[tuple, tuple[dict, float, Library]] = OrderedDict()
_lock = threading.Lock()


def owned_by(image) -> dict:
    """The filter for the vectors of whoever owns ``image``."""
    return {"owner_id": image.owner_id} if image.owner_id else {"owner": None, "session_key": image.session_key}


def library(owner: dict, model: str) -> Library:
    key = (tuple(sorted(owner.items())), model)
    with _lock:
        kept = _kept.get(key)
        if kept and time.monotonic() - kept[1] < CHECK_SECONDS:
            _kept.move_to_end(key)
            return kept[2]
    rows = PhotoVector.objects.filter(model=model, **owner)
    version = rows.aggregate(count=Count("id"), newest=Max("stored_at"))
    if kept and kept[0] == version:
        found = kept[2]
    else:
        pairs = list(rows.order_by("id").values_list("image_id", "vector"))
        found = Library([image_id for image_id, _ in pairs], similarity.unpack([bytes(vector) for _, vector in pairs]))
    with _lock:
        _kept[key] = (version, time.monotonic(), found)
        _kept.move_to_end(key)
        while len(_kept) > KEPT_LIBRARIES:
            _kept.popitem(last=False)
    return found


def similar_images(image, model: str, limit: int) -> list[tuple[object, float]]:
    """The owner's other images nearest to ``image`` by ``model``'s embedding: (image id, similarity)."""
    found = library(owned_by(image), model)
    position = found.rows.get(image.pk)
    if position is None:
        return []
    rows, scores = similarity.nearest(found.matrix, found.matrix[position], limit + 1)
    return [(found.image_ids[row], float(score)) for row, score in zip(rows, scores) if row != position][:limit]


def duplicate_groups(owner: dict, model: str) -> list[list]:
    """The owner's near-identical images by ``model``, in groups of image ids."""
    found = library(owner, model)
    return [[found.image_ids[row] for row in group] for group in similarity.duplicate_groups(found.matrix)]
