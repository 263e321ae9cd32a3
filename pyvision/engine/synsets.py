"""The 1000 ImageNet classes in model output order, from the committed data file."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "synsets.json"


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str
    label: str


@cache
def load_synsets() -> list[dict]:
    """Every class with its names in all languages and its WordNet hierarchy."""
    with DATA_FILE.open(encoding="utf-8") as f:
        return json.load(f)["synsets"]


@cache
def load_classes() -> list[ImageNetClass]:
    return [
        ImageNetClass(s["index"], s["wnid"], s["names"]["en"].split(",")[0].strip())
        for s in load_synsets()
    ]
