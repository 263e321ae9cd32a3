"""The photos under some files and folders, and what the model or a server needs of each."""

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from pyvision.engine.classifier import Classifier
from pyvision.engine.decode import DEFAULT_MAX_PIXELS
from pyvision.engine.evaluate import IMAGE_SUFFIXES

from . import raw
from .raw import RAW_SUFFIXES

PHOTO_SUFFIXES = IMAGE_SUFFIXES | RAW_SUFFIXES


def photos(paths: Iterable[Path]) -> Iterator[Path]:
    """Each photo once, folders walked recursively in name order.

    Hidden files and folders (``.thumbnails``, ``.git``...) and everything that is not a
    photo (sidecars included) are left out; a file named on the command line is taken
    whatever its name. Symbolic links to folders are followed, each folder once, so a
    link back up the tree ends the walk there instead of looping.
    """
    seen: set[tuple[int, int]] = set()
    for path in paths:
        if path.is_dir():
            yield from _walk(path, seen)
        else:
            yield path


def _walk(folder: Path, seen: set[tuple[int, int]]) -> Iterator[Path]:
    try:
        info = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        # A folder we may not read is not the library's fault: the rest is walked.
        return
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            yield from _walk(path, seen)
        elif is_file and path.suffix.lower() in PHOTO_SUFFIXES:
            yield path


def pixels_for(classifier: Classifier) -> Callable[[Path], np.ndarray]:
    """path -> the model's input; raises ImageError or OSError."""
    def prepare(path: Path) -> np.ndarray:
        if raw.is_raw(path):
            return classifier.preprocess(raw.preview(path, max_pixels=classifier.max_pixels,
                                                     draft_size=classifier.decode_size_hint()))
        return classifier.prepare(path.read_bytes())

    return prepare


def upload(path: Path) -> tuple[str, bytes]:
    """path -> (file name, bytes) for a server, which reads no RAW file: its preview goes instead."""
    if raw.is_raw(path):
        return path.name + ".preview", raw.preview_file(path, max_pixels=DEFAULT_MAX_PIXELS)
    return path.name, path.read_bytes()
