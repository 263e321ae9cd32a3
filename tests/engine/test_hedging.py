"""Hedged answers in the engine: ancestors' probabilities, the most specific sure node,
and how often the answers are right on labelled photos."""

import numpy as np
import pytest

from pyvision.engine import hedging
from pyvision.engine.classifier import Classifier
from pyvision.engine.evaluate import evaluate
from pyvision.engine.synsets import ancestor_names, load_synsets

DOG = "n02084071"


def class_index(wnid: str) -> int:
    return next(s["index"] for s in load_synsets() if s["wnid"] == wnid)


def test_an_ancestor_is_as_likely_as_the_classes_under_it_together():
    tree = hedging.hierarchy()
    under_dog = tree.classes_under(DOG)
    assert 100 < len(under_dog) < 130  # the 120-odd breeds
    probabilities = np.zeros(1000)
    probabilities[under_dog[::30][:4]] = 0.24  # four breeds far apart (toy, hound, terrier, working), none sure
    probabilities[class_index("n02123045")] = 0.04  # a tabby
    answer = tree.hedge(probabilities, 0.9)
    assert (answer.wnid, answer.is_class) == (DOG, False)
    assert answer.score == pytest.approx(0.96)


def test_a_sure_class_is_its_own_answer_and_an_unsure_photo_climbs_near_the_root():
    tree = hedging.hierarchy()
    sure = np.full(1000, 0.01 / 999)
    sure[class_index("n07920052")] = 0.99
    assert tree.hedge(sure, 0.95).wnid == "n07920052"
    # Knowing nothing, it says "physical entity" or "object": a few classes are abstractions.
    assert tree.hedge(np.full(1000, 1 / 1000), 0.95).depth <= 2


def test_every_ancestor_that_can_be_an_answer_is_named_in_english_and_both_chineses():
    children = {}
    for synset in load_synsets():
        path = [entry["wnid"] for entry in synset["hierarchy"]]
        for parent, child in zip(path, path[1:]):
            children.setdefault(parent, set()).add(child)
    branching = {wnid for wnid, below in children.items() if len(below) > 1}
    names = ancestor_names()
    assert branching == set(names)
    assert names[DOG] == {"en": "dog", "zh-hans": "狗", "zh-hant": "狗"}
    assert all(all(n[lang] for lang in ("en", "zh-hans", "zh-hant")) for n in names.values())


def test_a_model_without_a_hierarchy_has_no_hedged_answer():
    assert hedging.hedge("my-own-model", np.full(1000, 1 / 1000)) is None


@pytest.mark.parametrize("model", ["lite0", "lite2"])
def test_hedged_answers_are_right_95_percent_of_the_time_and_more_specific_than_the_raw_softmax(model, imagenet_dev,
                                                                                                   monkeypatch):
    classifier = Classifier(model)
    calibrated = evaluate(classifier, imagenet_dev)
    assert calibrated.hedged >= 0.95
    assert calibrated.hedged_depth >= 8  # a leaf is 11 deep on average; 0.9 on the raw softmax gives 4-8
    monkeypatch.setitem(hedging.TEMPERATURES, model, 1.0)
    raw = evaluate(classifier, imagenet_dev, confidence=0.9)
    assert calibrated.hedged_depth > raw.hedged_depth
