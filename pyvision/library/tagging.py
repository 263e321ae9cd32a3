"""``pyvision tag``: keywords for every photo of a library, in XMP sidecars.

Photos whose sidecar already holds this model's keywords for the file as it is now are
skipped without being read; the others go through the pipeline (the engine here, or a
server) and their sidecars are written one by one, so an interrupted run loses nothing
done and the next one carries on where it stopped.
"""

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyvision.engine.hedging import Hedged, hedge
from pyvision.engine.pipeline import BATCH_SIZE, UNREADABLE_FILE, Failure, pipelined
from pyvision.engine.results import Prediction

from . import keywords, raw, xmp
from .photos import PHOTO_SUFFIXES, Found

TAGGED, SKIPPED, FAILED = "tagged", "skipped", "failed"
# A dry run's row for a photo it would have tagged: nothing was written.
WOULD_TAG = "would_tag"
ClassNames = keywords.ImageNetKeywords | keywords.CustomKeywords


class BackendRefused(Exception):
    """The backend refuses every photo of this run (a server that rejects the token or
    the model): going on would fail each the same way."""


@dataclass(frozen=True)
class Options:
    languages: tuple[str, ...] = ("en",)
    top: int = 3
    min_score: float = 0.2
    xmp: bool = False
    basename: bool = False
    force: bool = False
    dry_run: bool = False
    hedged: bool = False

    @property
    def settings(self) -> str:
        """What, besides the model, decides the keywords: a change re-tags."""
        return (f"lang={','.join(self.languages)} top={self.top} min-score={self.min_score:g}"
                + (" hedged" if self.hedged else ""))


@dataclass(frozen=True)
class Answer:
    """A photo's classes, likeliest first, and its hedged answer: the most specific class
    or WordNet ancestor the model is sure enough of (None for a model without a tree)."""

    predictions: list[Prediction]
    hedged: Hedged | None = None


@dataclass(frozen=True)
class Backend:
    """Where photos are classified: ``prepare`` runs on a pool of threads, ``process``
    gets batches of what it made (``batches_at_once`` batches at a time) and returns an
    Answer (or a Failure) for each.
    ``version`` names the model as sidecars record it: a built-in model's name, a custom
    model's name and sha256, so that a model replaced under the same name re-tags.
    ``names`` names its classes."""

    prepare: Callable[[Path], object]
    process: Callable[[list], list[Answer | Failure]]
    jobs: int
    version: str
    names: ClassNames
    batch_size: int = BATCH_SIZE
    batches_at_once: int = 1


@dataclass
class Row:
    path: Path
    status: str
    predictions: list[Prediction] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    error: Failure | None = None
    hedged: Hedged | None = None
    # Why a photo that was not tagged was skipped, where it is not plain (already tagged).
    note: str = ""


def tag(photos: list[Path], options: Options, backend: Backend, found: dict[Path, Found] | None = None) -> Iterator[Row]:
    """One row per photo: first those decided without reading them (skipped, or gone),
    then the others as they are classified. A photo the walk ``found`` is read, and its
    sidecar written, only while its file and its folder are still those it found."""
    found = found or {}
    shared = _sidecars_shared(photos, options)
    stamps: dict[Path, xmp.Stamp] = {}
    statuses: dict[Path, os.stat_result] = {}
    for photo in photos:
        if photo in shared:
            yield Row(photo, SKIPPED, note=shared[photo])
            continue
        try:
            # The walk's: a new sidecar takes its owner and mode, and the photo is read
            # only while it is that file.
            statuses[photo] = found[photo].status if photo in found else photo.stat()
            stamp = xmp.Stamp.of(statuses[photo], backend.version, options.settings)
        except OSError as exc:
            yield Row(photo, FAILED, error=Failure(UNREADABLE_FILE, exc.strerror or str(exc)))
            continue
        if (options.xmp and not options.force
                and xmp.read_stamp(xmp.sidecar_path(photo, basename=options.basename)) == stamp):
            yield Row(photo, SKIPPED)
        else:
            stamps[photo] = stamp
    for photo, outcome in pipelined(list(stamps), lambda photo: backend.prepare(photo, found.get(photo)),
                                    backend.process, jobs=backend.jobs,
                                    batch_size=backend.batch_size, batches_at_once=backend.batches_at_once):
        if isinstance(outcome, Failure):
            yield Row(photo, FAILED, error=outcome)
        else:
            yield _tagged(photo, outcome, stamps[photo], options, backend.names, found.get(photo), statuses[photo])


def _sidecars_shared(photos: list[Path], options: Options) -> dict[Path, str]:
    """With Lightroom's sidecar names, IMG_1.CR2 and IMG_1.JPG both name IMG_1.xmp: each
    would replace the other's keywords on every run. The sidecar is the RAW file's, as in
    Lightroom (else the first photo's by name), whichever of them a run is given: the
    photos beside each one count too. The others map to why they are skipped."""
    if not (options.xmp and options.basename):
        return {}
    sidecars = {photo: xmp.sidecar_path(photo, basename=True) for photo in photos}
    claims: dict[Path, set[Path]] = {}
    folders: dict[Path, list[str]] = {}
    for photo, sidecar in sidecars.items():
        claims.setdefault(sidecar, set()).update([photo, *_photos_named_alike(photo, folders)])
    owners = {sidecar: min(claim, key=lambda photo: (not raw.is_raw(photo), str(photo)))
              for sidecar, claim in claims.items()}
    return {photo: f"its sidecar {sidecar.name} is {owners[sidecar].name}'s"
            for photo, sidecar in sidecars.items() if owners[sidecar] != photo}


def _photos_named_alike(photo: Path, folders: dict[Path, list[str]]) -> list[Path]:
    """The photos beside this one with its name and another suffix (IMG_1.CR2 for
    IMG_1.JPG); ``folders`` keeps each folder's listing, read once."""
    if photo.parent not in folders:
        try:
            folders[photo.parent] = os.listdir(photo.parent)
        except OSError:
            folders[photo.parent] = []
    alike = (photo.parent / name for name in folders[photo.parent]
             if not name.startswith(".") and name != photo.name and Path(name).stem == photo.stem)
    return [path for path in alike if path.suffix.lower() in PHOTO_SUFFIXES and path.is_file()]


def _tagged(photo: Path, answer: Answer, stamp: xmp.Stamp, options: Options, names: ClassNames,
            found: Found | None, status: os.stat_result) -> Row:
    kept = [p for p in answer.predictions[:options.top] if p.score >= options.min_score]
    hedged = answer.hedged
    if options.hedged and hedged and not hedged.is_class and not keywords.tells_nothing(hedged.wnid):
        # The model is not sure which class it is, but sure of what kind of thing:
        # "turtle" is a true keyword where "mud turtle, 69%" may be a wrong one. Sure of
        # no more than "object", it keeps its classes: "object" would find every photo.
        words = [keywords.node_label(hedged.wnid, language) for language in options.languages]
        paths = [keywords.node_hierarchical(hedged.wnid, under=answer.predictions[0].wnid)]
    else:
        words = [names.label(p, language) for language in options.languages for p in kept]
        paths = [names.hierarchical(p) for p in kept]
    # A name missing in one language falls back to English: said once, not twice.
    words = list(dict.fromkeys(words))
    if options.xmp and not options.dry_run:
        try:
            xmp.write(xmp.sidecar_path(photo, basename=options.basename), words, paths, stamp,
                      folder=found.folder if found else None, photo=status)
        except xmp.SidecarError as exc:
            return Row(photo, FAILED, kept, words, Failure(exc.code, str(exc)), hedged)
        except OSError as exc:
            return Row(photo, FAILED, kept, words, Failure(xmp.UNWRITABLE_SIDECAR, exc.strerror or str(exc)), hedged)
    return Row(photo, WOULD_TAG if options.dry_run else TAGGED, kept, words, hedged=hedged)


def engine_answers(classifier, top: int, *, hedged: bool = True) -> Callable[[list[np.ndarray]], list[Answer]]:
    """A batch of prepared photos -> their Answers, from the model here. The hedged
    answer is the API's: the same calibration and the service's default confidence;
    ``hedged=False`` leaves it out where nothing shows it (a tenth of a millisecond a photo)."""
    def process(batch: list[np.ndarray]) -> list[Answer]:
        if not batch:
            return []
        rows = classifier.probabilities(np.stack(batch))
        if not hedged or classifier.spec.is_custom:
            # A custom model has no tree to hedge in, whatever its name.
            return [Answer(classifier.top_k(row, top)) for row in rows]
        return [Answer(classifier.top_k(row, top), hedge(classifier.spec.name, row)) for row in rows]

    return process


def summary(counts: Counter, failures: Counter, dry_run: bool) -> str:
    text = (f"{counts[WOULD_TAG]} would be tagged" if dry_run else f"{counts[TAGGED]} tagged") + \
        f", {counts[SKIPPED]} skipped, {counts[FAILED]} failed"
    if failures:
        text += " (" + ", ".join(f"{code} {n}" for code, n in failures.most_common()) + ")"
    return text
