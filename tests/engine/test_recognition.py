"""The engine names what is in real photos, and int8 sees what fp32 sees."""

import threading

import numpy as np
import pytest

from pyvision.engine.classifier import Classifier
from pyvision.engine.registry import REFERENCE_MODEL

CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}  # tabby, tiger cat, Egyptian cat
ESPRESSO = "n07920052"
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png"]


@pytest.fixture(scope="module", params=["lite0", "lite2"])
def classifier(request):
    return Classifier(request.param)


@pytest.fixture(scope="module")
def reference():
    return Classifier(REFERENCE_MODEL)


def test_the_cat_photo_is_a_cat(classifier, photo):
    predictions = classifier.recognize(photo("chelsea.png")).predictions
    assert predictions[0].wnid in CAT_CLASSES
    assert {p.wnid for p in predictions[:3]} == CAT_CLASSES


def test_the_coffee_photo_is_espresso(classifier, photo):
    top = classifier.recognize(photo("coffee.png")).predictions[0]
    assert (top.wnid, top.label) == (ESPRESSO, "espresso")
    assert top.score > 0.5


def test_top_k_is_ranked_and_scores_are_probabilities(photo):
    classifier = Classifier("lite0")
    predictions = classifier.recognize(photo("coffee.png"), k=10).predictions
    assert [p.rank for p in predictions] == list(range(1, 11))
    scores = [p.score for p in predictions]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0 + 1e-6
    full = classifier.probabilities(classifier.prepare(photo("coffee.png"))[np.newaxis])
    assert full.shape == (1, 1000)
    assert full.sum() == pytest.approx(1.0, abs=1e-4)


def test_int8_agrees_with_fp32_on_top1(reference, photo):
    quantised = Classifier("lite0")
    for name in PHOTOS:
        data = photo(name)
        assert quantised.recognize(data).predictions[0].wnid == reference.recognize(data).predictions[0].wnid, name


def test_a_batch_gives_the_same_answers_as_one_at_a_time(photo):
    classifier = Classifier("lite0")
    inputs = [classifier.prepare(photo(name)) for name in PHOTOS]
    batched = classifier.classify_batch(inputs, 3)
    single = [classifier.classify_batch([x], 3)[0] for x in inputs]
    for one, many in zip(single, batched):
        assert [p.wnid for p in one] == [p.wnid for p in many]
        assert [p.score for p in one] == pytest.approx([p.score for p in many], abs=1e-4)


def test_one_classifier_serves_several_threads(photo):
    classifier = Classifier("lite0", threads=1)
    expected = {name: classifier.recognize(photo(name)).predictions[0].wnid for name in PHOTOS}
    seen, errors = [], []

    def work(name):
        try:
            for _ in range(5):
                seen.append((name, classifier.recognize(photo(name)).predictions[0].wnid))
        except Exception as exc:  # a failure in a thread must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in PHOTOS * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == len(PHOTOS) * 2 * 5
    assert all(wnid == expected[name] for name, wnid in seen)


def test_recognition_reports_its_timings(photo):
    result = Classifier("lite0").recognize(photo("chelsea.png"))
    assert result.decode_ms > 0 and result.inference_ms > 0
