"""Speed and memory of the engine alone, as ``pyvision bench`` reports them."""

import io
import resource
import statistics
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .classifier import Classifier


@dataclass(frozen=True)
class Benchmark:
    model: str
    threads: int
    single_ms_p50: float
    single_ms_p95: float
    batch_size: int
    batch_img_per_s: float
    decode_megapixels: float
    decode_ms_p50: float
    recognize_ms_p50: float
    peak_rss_mb: float


def sample_jpeg(width: int = 1600, height: int = 1000, seed: int = 0) -> bytes:
    """A 1.6 MP photo-like JPEG of about 230 kB: smooth gradients with sensor-like noise.

    The noise sets the entropy, and so the decode cost, near that of a real photo of
    that size (phone photos resized for upload are 100-250 kB).
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], axis=-1)
    pixels = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q))


def _timed(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(classifier: Classifier, *, jpeg: bytes | None = None, repeats: int = 200, batch_size: int = 16,
        batch_seconds: float = 3.0) -> Benchmark:
    jpeg = jpeg or sample_jpeg()
    one = classifier.prepare(jpeg)[np.newaxis]
    batch = np.repeat(one, batch_size, axis=0)

    classifier.probabilities(one)  # the first run allocates onnxruntime's buffers
    single = _timed(lambda: classifier.probabilities(one), repeats)

    images = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < batch_seconds:
        classifier.probabilities(batch)
        images += batch_size

    decode = _timed(lambda: classifier.prepare(jpeg), max(repeats // 4, 20))
    recognize = _timed(lambda: classifier.recognize(jpeg), max(repeats // 4, 20))
    with Image.open(io.BytesIO(jpeg)) as probe:
        megapixels = probe.width * probe.height / 1e6

    return Benchmark(
        model=classifier.spec.name,
        threads=classifier.threads,
        single_ms_p50=statistics.median(single),
        single_ms_p95=_percentile(single, 95),
        batch_size=batch_size,
        batch_img_per_s=images / elapsed,
        decode_megapixels=round(megapixels, 2),
        decode_ms_p50=statistics.median(decode),
        recognize_ms_p50=statistics.median(recognize),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
