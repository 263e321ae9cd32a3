"""Accuracy on the 100 ImageNet samples beside the checkout (research-only: never copied here)."""

from pyvision.engine.classifier import Classifier
from pyvision.engine.evaluate import evaluate


def test_lite0_names_at_least_85_percent_of_the_samples_first(imagenet_dev):
    result = evaluate(Classifier("lite0"), imagenet_dev)
    assert result.n == 100
    assert result.failed == 0
    assert result.top1 >= 0.85
    assert result.top5 >= result.top1


def test_lite2_is_at_least_as_good(imagenet_dev):
    assert evaluate(Classifier("lite2"), imagenet_dev).top1 >= 0.85
