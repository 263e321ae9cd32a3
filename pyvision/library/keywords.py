"""The keywords a photo gets from its classes: names in each language, and a path in
the WordNet hierarchy for keyword trees (``pyvision|organism|animal|...|tabby``)."""

from collections import defaultdict
from functools import cache

from pyvision.engine.synsets import display_label, load_synsets

ROOT = "pyvision"
# Lightroom's separator between the levels of a hierarchical keyword.
SEPARATOR = "|"
# Ancestors shared by nearly every class ("entity", "physical entity", "object",
# "whole") would put the whole tree under four levels that tell nothing.
TOO_GENERAL = 0.9


def synset(wnid: str) -> dict:
    return _by_wnid()[wnid]


def label(wnid: str, language: str) -> str:
    names = synset(wnid)["names"]
    return display_label(names.get(language) or names["en"], language)


def hierarchical(wnid: str) -> str:
    return SEPARATOR.join([ROOT, *_paths()[wnid]])


@cache
def _by_wnid() -> dict[str, dict]:
    return {s["wnid"]: s for s in load_synsets()}


@cache
def _paths() -> dict[str, list[str]]:
    """Each class's WordNet path, without the levels that tell nothing: the most general
    ancestors, and an ancestor over exactly the classes of the next one (of "chordate"
    and "vertebrate", only "vertebrate" stays)."""
    synsets = load_synsets()
    classes_under = defaultdict(set)
    for s in synsets:
        for ancestor in s["hierarchy"][:-1]:
            classes_under[ancestor["wnid"]].add(s["wnid"])
    paths = {}
    for s in synsets:
        ancestors = s["hierarchy"][:-1]
        kept = [a["name"] for a, below in zip(ancestors, ancestors[1:] + [None])
                if len(classes_under[a["wnid"]]) < TOO_GENERAL * len(synsets)
                and (below is None or classes_under[a["wnid"]] != classes_under[below["wnid"]])]
        paths[s["wnid"]] = [*kept, s["hierarchy"][-1]["name"]]
    return paths
