"""Near-duplicates from the models' embeddings, measured on 200 photos: the 100 ImageNet
samples and a copy of each as it is passed on (cropped a little, resized, recompressed,
EXIF gone). Run with -s to see the numbers the README gives."""

import io
import random

import numpy as np
import pytest
from PIL import Image

from pyvision.engine import similarity
from pyvision.engine.classifier import Classifier
from pyvision.engine.evaluate import labelled_images


def passed_on(data: bytes, rng: random.Random) -> bytes:
    """Up to 5% cropped off each side, resized to 50-90%, JPEG quality 50-90, no EXIF."""
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = picture.size
    picture = picture.crop((int(w * rng.uniform(0, 0.05)), int(h * rng.uniform(0, 0.05)),
                            w - int(w * rng.uniform(0, 0.05)), h - int(h * rng.uniform(0, 0.05))))
    scale = rng.uniform(0.5, 0.9)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=rng.randint(50, 90))
    return buffer.getvalue()


@pytest.mark.parametrize("model", ["lite0", "lite2"])
def test_duplicate_groups_find_the_copies_with_precision_95_and_recall_90(model, imagenet_dev):
    classifier = Classifier(model)
    rng = random.Random(11)
    originals = [path.read_bytes() for path, _ in labelled_images(imagenet_dev)]
    photos = originals + [passed_on(data, rng) for data in originals]
    _, embeddings = classifier.infer(np.stack([classifier.prepare(data) for data in photos]))
    stored = similarity.unpack([similarity.compact(e) for e in embeddings])
    n = len(originals)
    found = {(a, b) for group in similarity.duplicate_groups(stored) for a in group for b in group if a < b}
    truth = {(i, i + n) for i in range(n)}
    precision, recall = len(found & truth) / max(len(found), 1), len(found & truth) / len(truth)
    print(f"{model}: {2 * n} photos, precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.9


def test_the_stored_vectors_keep_the_embeddings_similarities():
    rng = np.random.default_rng(1)
    embeddings = np.abs(rng.standard_normal((50, 1280))).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    stored = similarity.unpack([similarity.compact(e) for e in embeddings])
    error = np.abs(stored @ stored.T - embeddings @ embeddings.T)
    assert error.mean() < 0.04 and error.max() < 0.15  # 256 random directions: about 1/16 at worst
    rows, scores = similarity.nearest(stored, stored[7], 3)
    assert rows[0] == 7 and scores[0] == pytest.approx(1, abs=1e-5) and list(scores) == sorted(scores, reverse=True)
