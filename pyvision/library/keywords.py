"""The keywords a photo gets from its classes: names in each language, and a path for
keyword trees. An ImageNet class's path is its place in WordNet
(``pyvision|organism|animal|...|tabby``); a custom model has no tree, so its labels sit
under the model's name (``pyvision|colours|red``)."""

from collections.abc import Mapping
from functools import cache

from pyvision.engine.hedging import hierarchy
from pyvision.engine.results import Prediction
from pyvision.engine.synsets import (
    ancestor_names,
    display_label,
    first_synonym,
    load_synsets,
)

ROOT = "pyvision"
# Lightroom's separator between the levels of a hierarchical keyword.
SEPARATOR = "|"
# Ancestors shared by nearly every class ("entity", "physical entity", "object",
# "whole") would put the whole tree under four levels that tell nothing.
TOO_GENERAL = 0.9


class ImageNetKeywords:
    """The built-in models' classes: ImageNet names, WordNet paths."""

    def label(self, prediction: Prediction, language: str) -> str:
        return label(prediction.wnid, language)

    def hierarchical(self, prediction: Prediction) -> str:
        return hierarchical(prediction.wnid)


class CustomKeywords:
    """A custom model's labels, by id (which stands in a prediction's ``wnid``): their
    names, English where a label has none in a language, as the site shows them."""

    def __init__(self, model: str, names: Mapping[str, Mapping[str, str]]):
        self.model, self.names = model, names

    def label(self, prediction: Prediction, language: str) -> str:
        names = self.names[prediction.wnid]
        return first_synonym(names.get(language) or names["en"])

    def hierarchical(self, prediction: Prediction) -> str:
        return SEPARATOR.join([ROOT, self.model, self.label(prediction, "en")])


def synset(wnid: str) -> dict:
    return _by_wnid()[wnid]


def label(wnid: str, language: str) -> str:
    names = synset(wnid)["names"]
    return display_label(names.get(language) or names["en"], language)


def hierarchical(wnid: str) -> str:
    return SEPARATOR.join([ROOT, *(name for _, name in _paths()[wnid])])


def tells_nothing(wnid: str) -> bool:
    """An ancestor so general ("entity", "object", "whole") that the keyword tree leaves it out."""
    return len(_classes_under()[wnid]) >= TOO_GENERAL * len(load_synsets())


def node_label(wnid: str, language: str) -> str:
    """A hedged answer's name: a class's, or a WordNet ancestor's (English where it has
    none in the language: ancestors are named in en, zh-hans and zh-hant)."""
    if wnid in _by_wnid():
        return label(wnid, language)
    names = ancestor_names()[wnid]
    return names.get(language) or names["en"]


def node_hierarchical(wnid: str, under: str) -> str:
    """A hedged answer's path: a class's own, or an ancestor's, as it stands in the path
    of the class ``under`` it (the photo's top-1), so both land in the same tree."""
    if wnid in _by_wnid():
        return hierarchical(wnid)
    tree = hierarchy()
    full = [entry["wnid"] for entry in synset(under)["hierarchy"]]
    if wnid not in full:
        full = [entry["wnid"] for entry in synset(tree.class_wnids[tree.classes_under(wnid)[0]])["hierarchy"]]
    above = set(full[:full.index(wnid)])
    kept = [name for ancestor, name in _paths()[full[-1]] if ancestor in above]
    return SEPARATOR.join([ROOT, *kept, tree.nodes[tree.position[wnid]].name])


@cache
def _by_wnid() -> dict[str, dict]:
    return {s["wnid"]: s for s in load_synsets()}


@cache
def _classes_under() -> dict[str, frozenset[str]]:
    """Each node of the tree -> the classes at or under it."""
    tree = hierarchy()
    return {node.wnid: frozenset(tree.wnids_under(node.wnid)) for node in tree.nodes}


@cache
def _paths() -> dict[str, list[tuple[str, str]]]:
    """Each class's WordNet path as (wnid, name), without the levels that tell nothing:
    the most general ancestors, and an ancestor over exactly the classes of the next one
    (of "chordate" and "vertebrate", only "vertebrate" stays)."""
    classes_under = _classes_under()
    paths = {}
    for s in load_synsets():
        ancestors = s["hierarchy"][:-1]
        kept = [(a["wnid"], a["name"]) for a, below in zip(ancestors, ancestors[1:] + [None])
                if not tells_nothing(a["wnid"])
                and (below is None or classes_under[a["wnid"]] != classes_under[below["wnid"]])]
        paths[s["wnid"]] = [*kept, (s["wnid"], s["hierarchy"][-1]["name"])]
    return paths
