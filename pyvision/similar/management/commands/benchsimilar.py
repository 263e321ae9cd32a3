"""Time `similar` over a library of N photos of one owner, in a transaction rolled back
at the end: nothing stays in the database."""

import statistics
import time
import uuid

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from pyvision.engine import similarity
from pyvision.recognition.models import Image
from pyvision.similar import library
from pyvision.similar.models import PhotoVector


class RolledBack(Exception):
    pass


class Command(BaseCommand):
    help = "Time similar photos over N stored photos of one owner (nothing is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=int, default=100_000)
        parser.add_argument("--queries", type=int, default=50)

    def handle(self, photos, queries, **options):
        try:
            with transaction.atomic():
                self.run(photos, queries)
                raise RolledBack
        except RolledBack:
            pass

    def run(self, photos: int, queries: int) -> None:
        owner = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        for start in range(0, photos, 5000):
            images = Image.objects.bulk_create(
                Image(owner=owner, file=f"images/bench/{i}", size=1) for i in range(start, min(start + 5000, photos)))
            # Non-negative like the models' pooled features.
            embeddings = np.abs(rng.standard_normal((len(images), 1280))).astype(np.float32)
            PhotoVector.objects.bulk_create(PhotoVector(image=image, model="lite0", owner=owner,
                                                        vector=similarity.compact(e)) for image, e in zip(images, embeddings))
        self.stdout.write(f"stored {photos} photos in {time.perf_counter() - started:.1f} s")
        sample = list(Image.objects.filter(owner=owner).order_by("?")[:queries])
        started = time.perf_counter()
        library.similar_images(sample[0], "lite0", 10)
        self.stdout.write(f"first search (reads the library): {(time.perf_counter() - started) * 1000:.0f} ms")
        times = []
        for image in sample:
            started = time.perf_counter()
            library.similar_images(image, "lite0", 10)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        matrix = library.library(library.owned_by(sample[0]), "lite0").matrix
        self.stdout.write(f"similar, {queries} searches: p50 {statistics.median(times):.1f} ms, "
                          f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms; library in memory {matrix.nbytes / 1e6:.0f} MB")
