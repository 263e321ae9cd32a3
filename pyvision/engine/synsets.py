"""The 1000 ImageNet classes in model output order, from the committed data file."""

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "synsets.json"

# Synonyms are separated by commas: Latin, full-width (Chinese) or Arabic.
SYNONYM_SEPARATOR = re.compile(r"\s*[,，،]\s*")


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str
    label: str


@cache
def _document() -> dict:
    with DATA_FILE.open(encoding="utf-8") as f:
        return json.load(f)


def load_synsets() -> list[dict]:
    """Every class with its names in all languages and its WordNet hierarchy."""
    return _document()["synsets"]


@cache
def ancestor_names() -> dict[str, dict[str, str]]:
    """Names by language ("en", "zh-hans", "zh-hant") of the ancestors that can be a hedged answer."""
    return {a["wnid"]: a["names"] for a in _document()["ancestors"]}


@cache
def load_classes() -> list[ImageNetClass]:
    return [ImageNetClass(s["index"], s["wnid"], display_label(s["names"]["en"], "en")) for s in load_synsets()]


def first_synonym(names: str) -> str:
    return SYNONYM_SEPARATOR.split(names.strip())[0]


def display_label(names: str, language: str) -> str:
    """The name people see: the first synonym, or all of them where another class's
    first synonym is the same (Cardigan the corgi and cardigan the sweater)."""
    first = first_synonym(names)
    return names.strip() if first.casefold() in shared_first_synonyms(language) else first


@cache
def shared_first_synonyms(language: str) -> frozenset[str]:
    counts = Counter(first_synonym(s["names"].get(language) or s["names"]["en"]).casefold() for s in load_synsets())
    return frozenset(name for name, count in counts.items() if count > 1)
