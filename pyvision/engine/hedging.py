"""Hedged answers ("hedging your bets", Deng et al., CVPR 2012): the most specific class
of the WordNet hierarchy, a leaf or an ancestor, that the model is sure enough of.

An ancestor's probability is the sum over the classes under it. The models' softmax is
under-confident (Lite0 at a 0.9 target was right 99% of the time), so each model's
logits are first divided by a temperature that makes its probabilities honest; a model
without a temperature here has no hierarchy to hedge in, and gets no hedged answer.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from .synsets import load_synsets

# Fitted by minimising the negative log-likelihood of the true class (temperature
# scaling, Guo et al. 2017) over the 100 labelled ImageNet samples in ../shared; only
# these numbers ship, not the photos. Below 1: the softmax is sharpened. Fitted on one
# half and measured on the other, a 0.95 target was right 96-98% of the time; 0.9 only
# 92-98% (README, "Hedged answers").
TEMPERATURES = {"lite0": 0.74, "lite0-fp32": 0.73, "lite2": 0.62}

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Node:
    wnid: str
    name: str
    depth: int  # entity = 0


@dataclass(frozen=True)
class Hedged:
    wnid: str
    name: str
    depth: int
    score: float
    is_class: bool  # one of the 1000 classes, not an ancestor


class Hierarchy:
    """The classes' hypernym tree as a (classes x nodes) membership matrix."""

    def __init__(self, synsets: list[dict]):
        self.nodes: list[Node] = []
        position: dict[str, int] = {}
        for synset in synsets:
            for depth, entry in enumerate(synset["hierarchy"]):
                if entry["wnid"] not in position:
                    position[entry["wnid"]] = len(self.nodes)
                    self.nodes.append(Node(entry["wnid"], entry["name"], depth))
        self.position = position
        self.class_wnids = [synset["wnid"] for synset in synsets]
        self.class_index = {wnid: index for index, wnid in enumerate(self.class_wnids)}
        self.leaves = set(self.class_wnids)
        self.membership = np.zeros((len(synsets), len(self.nodes)), dtype=np.float32)
        for synset in synsets:
            for entry in synset["hierarchy"]:
                self.membership[synset["index"], position[entry["wnid"]]] = 1
        self._depths = np.array([node.depth for node in self.nodes])
        # The same tree as (class, node) pairs: one image's node probabilities are then a
        # sum over some 10,000 pairs, not a product with the whole 1000 x nodes matrix.
        self._pair_classes, self._pair_nodes = np.nonzero(self.membership)

    def node_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        """(..., classes) -> (..., nodes): each node's probability, the sum over its classes."""
        if probabilities.ndim == 1:
            return np.bincount(self._pair_nodes, weights=probabilities[self._pair_classes], minlength=len(self.nodes))
        return probabilities.astype(np.float32) @ self.membership

    def classes_under(self, wnid: str) -> np.ndarray:
        """The indexes of the classes at or under a node."""
        return np.flatnonzero(self.membership[:, self.position[wnid]])

    def wnids_under(self, wnid: str) -> set[str]:
        return {self.class_wnids[i] for i in self.classes_under(wnid)}

    def hedge(self, probabilities: np.ndarray, confidence: float) -> Hedged:
        """The deepest node whose probability reaches ``confidence`` (the root always
        does); the likelier of two at the same depth. Above 0.5 the sure nodes lie on
        one path, so the answer is unique."""
        scores = self.node_probabilities(probabilities)
        sure = np.flatnonzero(scores >= min(confidence, float(scores.max())))
        best = max(sure, key=lambda i: (self._depths[i], scores[i]))
        node = self.nodes[best]
        return Hedged(node.wnid, node.name, node.depth, float(scores[best]), node.wnid in self.leaves)


@cache
def hierarchy() -> Hierarchy:
    return Hierarchy(load_synsets())


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The softmax of logits / temperature, from the softmax of the logits."""
    sharpened = np.power(probabilities.astype(np.float64), 1 / temperature)
    return sharpened / sharpened.sum(axis=-1, keepdims=True)


def hedge(model: str, probabilities: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> Hedged | None:
    """One image's hedged answer; None for a model without a hierarchy."""
    temperature = TEMPERATURES.get(model)
    if temperature is None:
        return None
    return hierarchy().hedge(calibrated(probabilities, temperature), confidence)
