"""The photos under some files and folders, and what the model or a server needs of each."""

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pyvision.engine.classifier import Classifier
from pyvision.engine.decode import DEFAULT_MAX_PIXELS
from pyvision.engine import errors
from pyvision.engine.errors import ImageError
from pyvision.engine.evaluate import IMAGE_SUFFIXES
from pyvision.engine.memory import MemoryBudget
from pyvision.engine.pipeline import UNREADABLE_FILE, Failure, attempt

from . import raw
from .folders import UNSAFE_FOLDER, changeable_by_others, user_name
from .raw import RAW_SUFFIXES
from .reading import identity, read_at_most

PHOTO_SUFFIXES = IMAGE_SUFFIXES | RAW_SUFFIXES


@dataclass(frozen=True)
class Unreadable:
    """A folder, or a file named on the command line or linked in a folder, that cannot be
    read: said as a failure, so that no photo goes missing from a run without a word."""

    path: Path
    code: str
    message: str


@dataclass(frozen=True)
class Found:
    """What the walk found a photo to be: its status, and the folder it is in as (device,
    inode). Read and tagged only while its file and folder are still those: in a folder
    others may write in, either could be swapped for a link to the runner's private
    photos once the walk has looked."""

    status: os.stat_result
    folder: tuple[int, int]

    @property
    def file(self) -> tuple[int, int]:
        return identity(self.status)


UNREADABLE_FOLDER = "unreadable_folder"
LINK_NOT_FOLLOWED = "link_not_followed"
FILE_TOO_LARGE = "file_too_large"
# Over the engine's pixel limit at any depth: a 50 MP picture of 16-bit RGBA, uncompressed,
# is 400 MB. A larger file is not read whole into memory.
MAX_PHOTO_BYTES = 512 * 2**20
# The photos that the --jobs threads hold at once, read and not yet decoded, take this
# much at most: each thread may read a photo of MAX_PHOTO_BYTES, and four of them took 1 GB.
reading = MemoryBudget(MAX_PHOTO_BYTES)
SIDECAR_SUFFIX = ".xmp"


def photos(paths: Iterable[Path], unreadable: list[Unreadable], *, root_only: bool = False,
           found: dict[Path, Found] | None = None) -> Iterator[Path]:
    """Each photo once, folders walked recursively in name order; what cannot be read on
    the way is added to ``unreadable``, as are, with ``root_only``, the folders that
    someone other than root may change (and the photos named in them). ``found`` gets
    what each photo was found to be.

    Hidden files and folders (``.thumbnails``, ``.git``...) and everything that is not a
    photo (sidecars included) are left out; a file named on the command line is taken
    whatever its name, if it is a regular file (a FIFO would block a read forever, and
    /dev/zero never end it) and not a sidecar (``tag DIR/*`` names them too). Symbolic
    links to folders are followed, each folder once, so a link back up the tree ends the
    walk there instead of looping.
    """
    walk = _Walk(unreadable, root_only, {} if found is None else found)
    for path in paths:
        try:
            info = path.stat()
        except FileNotFoundError:
            yield path  # said missing when it is read, as a file that vanishes mid-run is
            continue
        except OSError as exc:
            unreadable.append(Unreadable(path, UNREADABLE_FILE, exc.strerror or str(exc)))
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from walk.photos_under(path)
        elif path.suffix.lower() == SIDECAR_SUFFIX:
            continue
        elif stat.S_ISREG(info.st_mode):
            if walk.may_tag(path):
                try:
                    walk.found[path] = Found(info, identity(path.parent.stat()))
                except OSError:
                    pass  # gone meanwhile: said when it is read
                yield path
        else:
            unreadable.append(Unreadable(path, UNREADABLE_FILE, "not a regular file"))


class _Walk:
    """Folders walked depth first, each folder's entries in name order, each folder once.
    Not by recursion: a folder nested a thousand deep would end the run with a
    RecursionError."""

    def __init__(self, problems: list[Unreadable], root_only: bool, found: dict[Path, Found]):
        self.problems, self.root_only, self.found = problems, root_only, found
        self.seen: set[tuple[int, int]] = set()

    def photos_under(self, top: Path) -> Iterator[Path]:
        listings = [self._listing(top)]
        while listings:
            folder, entries = listings[-1]
            entry = next(entries, None)
            if entry is None:
                listings.pop()
                continue
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            is_photo = path.suffix.lower() in PHOTO_SUFFIXES
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
                if (is_dir or is_file and is_photo) and entry.is_symlink() and not self._followed(entry, path):
                    continue
            except OSError as exc:
                if is_photo:
                    self.problems.append(Unreadable(path, UNREADABLE_FILE, exc.strerror or str(exc)))
                continue
            if is_dir:
                listings.append(self._listing(path))
            elif is_file and is_photo:
                # In a folder root may tag, only a link leads anywhere that was not checked.
                if not entry.is_symlink() or self.may_tag(path):
                    self.found[path] = Found(entry.stat(), folder)
                    yield path
            elif is_photo:
                gone = entry.is_symlink() and not path.exists()
                self.problems.append(Unreadable(path, UNREADABLE_FILE,
                                                "a symbolic link to nothing" if gone else "not a regular file"))

    def may_tag(self, path: Path) -> bool:
        """With ``root_only``, whether no one else may change the path to this folder or
        photo; if someone may, it is said."""
        why = changeable_by_others(path) if self.root_only else None
        if why:
            self.problems.append(Unreadable(path, UNSAFE_FOLDER, why))
        return not why

    def _followed(self, link: os.DirEntry, path: Path) -> bool:
        """A link is followed only if the runner or root made it: in a folder others may
        write in, their link to / would have the whole disk walked, and one to the
        runner's private photo (pointed there once the walk has looked) its keywords
        written beside the link, for them to read."""
        owner = link.stat(follow_symlinks=False).st_uid
        followed = owner in (os.geteuid(), 0)
        if not followed:
            self.problems.append(Unreadable(path, LINK_NOT_FOLLOWED, f"a link of {user_name(owner)}'s: only your "
                                            "own links and root's are followed"))
        return followed

    def _listing(self, folder: Path) -> tuple[tuple[int, int], Iterator[os.DirEntry]]:
        """A folder's identity and entries in name order; no entries for a folder seen
        before (a link back up the tree), one that cannot be read, or one root may not
        tag (both said)."""
        try:
            info = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            # The rest of the library is walked; this folder is said, not passed over in silence.
            self.problems.append(Unreadable(folder, UNREADABLE_FOLDER, exc.strerror or str(exc)))
            return (0, 0), iter(())
        if identity(info) in self.seen or not self.may_tag(folder):
            return identity(info), iter(())
        self.seen.add(identity(info))
        return identity(info), iter(entries)


def pixels_for(classifier: Classifier) -> Callable[..., np.ndarray]:
    """path (and what the walk found it to be) -> the model's input; raises ImageError or OSError."""
    def prepare(path: Path, found: Found | None = None) -> np.ndarray:
        with contents(path, found) as data:
            if raw.is_raw(path):
                return classifier.preprocess(raw.preview(data, max_pixels=classifier.max_pixels,
                                                         draft_size=classifier.decode_size_hint()))
            return classifier.prepare(data)

    return prepare


@dataclass(frozen=True)
class Upload:
    """A photo for a server, read only as its request is sent (``send``): the pipeline
    holds dozens of photos ahead of the server, and their bytes would add up. A server
    reads no RAW file: its ``preview`` goes instead, made ahead (it takes a core) and
    held, a few MB."""

    name: str
    path: Path
    found: Found | None
    size: int
    preview: bytes | None = None


def upload(path: Path, found: Found | None = None) -> Upload:
    """path -> what is sent for it to a server; raises ImageError or OSError."""
    if raw.is_raw(path):
        with contents(path, found) as data:
            preview = raw.preview_file(data, max_pixels=DEFAULT_MAX_PIXELS)
        return Upload(path.name + ".preview", path, found, len(preview), preview)
    return Upload(path.name, path, found, (found.status if found else path.stat()).st_size)


def send(uploads: list[Upload], classify: Callable[[list[tuple[str, bytes]]], list]) -> list:
    """Each upload's outcome from ``classify`` (a list of (name, bytes) -> one outcome
    each), in order. They go in parts, each read just before it is sent; a photo that
    cannot be read fails alone. A part's photos are held twice while it is sent (their
    bytes, and the request's body made of them): a part is half the reading budget at
    most (a larger photo goes alone), and reserves twice its size."""
    outcomes = []
    for part in _parts(uploads, reading.limit // 2):
        # At once for the whole part: reserving photo by photo, this thread would hold
        # some of the budget while it waits for more.
        with reading.reserve(2 * sum(item.size for item in part)):
            outcomes.extend(_send_part(part, classify))
    return outcomes


def _send_part(part: list[Upload], classify: Callable[[list[tuple[str, bytes]]], list]) -> list:
    """The part's outcomes; its bytes are let go on return, within its reservation."""
    files, failed = [], {}
    for index, item in enumerate(part):
        data = item.preview if item.preview is not None else attempt(_read, item)
        if isinstance(data, Failure):
            failed[index] = data
        else:
            files.append((item.name, data))
    answers = iter(classify(files) if files else [])
    return [failed[index] if index in failed else next(answers) for index in range(len(part))]


def _read(item: Upload) -> bytes:
    with _opened(item.path, item.found) as (f, _):
        return _whole(f, item.size)


def _parts(uploads: list[Upload], most_bytes: int) -> Iterator[list[Upload]]:
    part, size = [], 0
    for item in uploads:
        if part and size + item.size > most_bytes:
            yield part
            part, size = [], 0
        part.append(item)
        size += item.size
    if part:
        yield part


@contextmanager
def contents(path: Path, found: Found | None = None) -> Iterator[bytes]:
    """A photo's bytes, if it is still the file the walk ``found``, counted in the
    ``reading`` budget while the block uses them; raises ImageError for a file that cannot
    be one, or OSError."""
    with _opened(path, found) as (f, size):
        with reading.reserve(size):
            yield _whole(f, size)


@contextmanager
def _opened(path: Path, found: Found | None) -> Iterator[tuple[BinaryIO, int]]:
    """The photo's open file and the size it says it has, if it is still the file the
    walk ``found`` and may be a photo; raises ImageError or OSError."""
    # Not blocking: a FIFO put in the photo's place since the walk would wait for a writer.
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
        info = os.fstat(f.fileno())
        if found is not None and identity(info) != found.file:
            raise ImageError(UNREADABLE_FILE, "The file was replaced since its folder was walked.")
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(UNREADABLE_FILE, "The file is not a regular file.")
        # Nothing is read of what says it is empty: files of /proc say so, and reading
        # /proc/kmsg waits for the kernel's next message.
        if info.st_size == 0:
            raise ImageError(errors.EMPTY_FILE, errors.CODES[errors.EMPTY_FILE])
        # An 8 GB file is refused without reading any of it.
        if info.st_size > MAX_PHOTO_BYTES:
            raise ImageError(FILE_TOO_LARGE, f"The file is over {MAX_PHOTO_BYTES // 2**20} MB, larger than any "
                                             "photo the engine reads.")
        yield f, info.st_size


def _whole(file: BinaryIO, reserved: int) -> bytes:
    """The open photo, if it holds no more than was ``reserved`` for it: one that grows
    meanwhile would pass the budget."""
    data = read_at_most(file, reserved, reserved)
    if data is None:
        raise ImageError(UNREADABLE_FILE, "The file grew while it was read: it is still being written.")
    return data
