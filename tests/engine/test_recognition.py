"""The engine names what is in real photos, and int8 sees what fp32 sees.

Asserted only what holds on every CPU: the photos have clear answers, and where two
close classes compete (three kinds of cat) any of them will do.
"""

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
    # The three cats share most of the belief (0.7-0.9 depending on the model).
    assert sum(p.score for p in predictions if p.wnid in CAT_CLASSES) > 0.5


def test_the_coffee_photo_is_espresso_by_a_wide_margin(classifier, photo):
    first, second = classifier.recognize(photo("coffee.png")).predictions[:2]
    assert (first.wnid, first.label) == (ESPRESSO, "espresso")
    # 0.88-0.95 on every CPU; the saturating models of 0.2 fell to 0.49 on AVX2.
    assert first.score > 0.7 and first.score > 10 * second.score


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


def test_int8_names_a_thing_fp32_ranks_near_the_top(reference, photo):
    quantised = Classifier("lite0")
    for name in PHOTOS:
        data = photo(name)
        fp32_top3 = [p.wnid for p in reference.recognize(data, 3).predictions]
        assert quantised.recognize(data).predictions[0].wnid in fp32_top3, name


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
