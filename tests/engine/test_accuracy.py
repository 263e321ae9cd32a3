"""Accuracy on the 100 ImageNet samples beside the checkout (research-only: never copied here)."""

import numpy as np

from pyvision.engine.classifier import Classifier
from pyvision.engine.evaluate import evaluate, labelled_images
from pyvision.engine.registry import REFERENCE_MODEL


def test_lite0_names_at_least_85_percent_of_the_samples_first(imagenet_dev):
    result = evaluate(Classifier("lite0"), imagenet_dev)
    assert result.n == 100
    assert result.failed == 0
    assert result.top1 >= 0.85
    assert result.top5 >= result.top1


def test_lite2_is_at_least_as_good(imagenet_dev):
    assert evaluate(Classifier("lite2"), imagenet_dev).top1 >= 0.85


def test_int8_and_fp32_name_the_same_class_first_for_97_of_the_100(imagenet_dev):
    quantised, reference = Classifier("lite0"), Classifier(REFERENCE_MODEL)
    batch = np.stack([quantised.prepare(path.read_bytes()) for path, _wnid in labelled_images(imagenet_dev)])
    agree = (quantised.probabilities(batch).argmax(axis=1) == reference.probabilities(batch).argmax(axis=1)).sum()
    assert agree >= 97
