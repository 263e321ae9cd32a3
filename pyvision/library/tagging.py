"""``pyvision tag``: keywords for every photo of a library, in XMP sidecars.

Photos whose sidecar already holds this model's keywords for the file as it is now are
skipped without being read; the others go through the pipeline (the engine here, or a
server) and their sidecars are written one by one, so an interrupted run loses nothing
done and the next one carries on where it stopped.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyvision.engine.classifier import Prediction
from pyvision.engine.pipeline import UNREADABLE_FILE, Failure, pipelined

from . import keywords, xmp

TAGGED, SKIPPED, FAILED = "tagged", "skipped", "failed"
UNWRITABLE_SIDECAR = "unwritable_sidecar"


class BackendRefused(Exception):
    """The backend refuses every photo of this run (a server that rejects the token or
    the model): going on would fail each the same way."""


@dataclass(frozen=True)
class Options:
    model: str
    languages: tuple[str, ...] = ("en",)
    top: int = 3
    min_score: float = 0.2
    xmp: bool = False
    basename: bool = False
    force: bool = False
    dry_run: bool = False

    @property
    def settings(self) -> str:
        """What, besides the model, decides the keywords: a change re-tags."""
        return f"lang={','.join(self.languages)} top={self.top} min-score={self.min_score:g}"


@dataclass(frozen=True)
class Backend:
    """Where photos are classified: ``prepare`` runs on a pool of threads, ``process``
    gets batches of what it made and returns predictions (or a Failure) for each."""

    prepare: Callable[[Path], object]
    process: Callable[[list], list[list[Prediction] | Failure]]
    jobs: int


@dataclass
class Row:
    path: Path
    status: str
    predictions: list[Prediction] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    error: Failure | None = None


def tag(photos: Iterable[Path], options: Options, backend: Backend) -> Iterator[Row]:
    """One row per photo: first those decided without reading them (skipped, or gone),
    then the others as they are classified."""
    stamps: dict[Path, xmp.Stamp] = {}
    for photo in photos:
        try:
            stamp = xmp.Stamp.of(photo, options.model, options.settings)
        except OSError as exc:
            yield Row(photo, FAILED, error=Failure(UNREADABLE_FILE, exc.strerror or str(exc)))
            continue
        if (options.xmp and not options.force
                and xmp.read_stamp(xmp.sidecar_path(photo, basename=options.basename)) == stamp):
            yield Row(photo, SKIPPED)
        else:
            stamps[photo] = stamp
    for photo, outcome in pipelined(list(stamps), backend.prepare, backend.process, jobs=backend.jobs):
        if isinstance(outcome, Failure):
            yield Row(photo, FAILED, error=outcome)
        else:
            yield _tagged(photo, outcome, stamps[photo], options)


def _tagged(photo: Path, predictions: list[Prediction], stamp: xmp.Stamp, options: Options) -> Row:
    kept = [p for p in predictions[:options.top] if p.score >= options.min_score]
    words = [keywords.label(p.wnid, language) for language in options.languages for p in kept]
    if options.xmp and not options.dry_run:
        try:
            xmp.write(xmp.sidecar_path(photo, basename=options.basename), words,
                      [keywords.hierarchical(p.wnid) for p in kept], stamp)
        except xmp.SidecarError as exc:
            return Row(photo, FAILED, kept, words, Failure(exc.code, str(exc)))
        except OSError as exc:
            return Row(photo, FAILED, kept, words, Failure(UNWRITABLE_SIDECAR, exc.strerror or str(exc)))
    return Row(photo, TAGGED, kept, words)


def summary(counts: Counter, failures: Counter, dry_run: bool) -> str:
    text = f"{counts[TAGGED]} {'would be tagged' if dry_run else 'tagged'}, {counts[SKIPPED]} skipped, {counts[FAILED]} failed"
    if failures:
        text += " (" + ", ".join(f"{code} {n}" for code, n in failures.most_common()) + ")"
    return text
