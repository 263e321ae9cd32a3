"""Camera RAW files, read through the preview the camera (or converter) embedded.

The preview is the picture the photographer saw on the camera, already developed,
and reading it costs milliseconds, where developing the raw sensor data would cost
seconds. rawpy (LibRaw) is an optional extra: ``pip install -e ".[raw]"`` in the checkout.
"""

import io
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pyvision.engine import errors
from pyvision.engine.decode import check_size, decode, to_rgb
from pyvision.engine.errors import ImageError

RAW_SUFFIXES = {".cr2", ".cr3", ".nef", ".arw", ".dng", ".raf", ".orf", ".rw2"}

RAW_SUPPORT_MISSING = "raw_support_missing"
NO_RAW_PREVIEW = "no_raw_preview"

# LibRaw's flip codes: how the camera was held.
_UPRIGHT = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def preview(data: bytes, *, max_pixels: int, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """The embedded preview of a RAW file's bytes, upright, in RGB; raises ImageError."""
    return _upright(*_extract(data), max_pixels=max_pixels, draft_size=draft_size)


def preview_file(data: bytes, *, max_pixels: int) -> bytes:
    """The preview as a file a server decodes: the camera's own JPEG when it needs no
    turning, else a lossless PNG of the upright picture."""
    jpeg, bitmap, flip = _extract(data)
    if jpeg is not None and flip not in _UPRIGHT:
        return jpeg
    out = io.BytesIO()
    _upright(jpeg, bitmap, flip, max_pixels=max_pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def _upright(jpeg: bytes | None, bitmap: np.ndarray | None, flip: int, *, max_pixels: int,
             draft_size: tuple[int, int] | None = None) -> Image.Image:
    """An extracted preview, the camera's JPEG or LibRaw's pixels, as an upright RGB picture."""
    image = decode(jpeg, max_pixels=max_pixels, draft_size=draft_size) if jpeg is not None \
        else _picture(bitmap, max_pixels=max_pixels)
    return image.transpose(_UPRIGHT[flip]) if flip in _UPRIGHT else image


def _picture(bitmap: np.ndarray, *, max_pixels: int) -> Image.Image:
    """An uncompressed preview (LibRaw's rows x columns x channels array) in RGB, held to
    the limits a JPEG preview is; raises ImageError."""
    height, width = bitmap.shape[:2]
    check_size((width, height), max_pixels)
    if bitmap.ndim == 3 and bitmap.shape[2] == 1:
        bitmap = bitmap[:, :, 0]  # greyscale: Pillow takes it only without the channel axis
    try:
        return to_rgb(Image.fromarray(bitmap))
    except (TypeError, ValueError):  # channels or sample types Pillow has no mode for
        raise ImageError(NO_RAW_PREVIEW, f"The RAW file's embedded preview is of a kind that cannot be read "
                                         f"({bitmap.shape[-1] if bitmap.ndim == 3 else 1} channels of "
                                         f"{bitmap.dtype}).") from None


# LibRaw trusts the sizes a file declares: a crafted DNG of 500 kB has it read past its
# data and crash the process (a segmentation fault, the whole run lost). It runs in
# processes of its own, whose crash fails that file alone.
_libraw: ProcessPoolExecutor | None = None
_libraw_lock = threading.Lock()


def _extract(data: bytes) -> tuple[bytes | None, np.ndarray | None, int]:
    pool = _libraw_processes()
    try:
        outcome = pool.submit(_extract_here, data).result()
    except BrokenProcessPool:
        _replace_libraw_processes(pool)
        # Again, alone: the crash may have been that of another file read at the same moment.
        with _new_libraw_processes(1) as alone:
            try:
                outcome = alone.submit(_extract_here, data).result()
            except BrokenProcessPool:
                raise ImageError(errors.CORRUPT_IMAGE, "The RAW file cannot be read (LibRaw crashed on it).") from None
    if isinstance(outcome, _Refused):
        raise ImageError(outcome.code, outcome.message)
    return outcome


def _libraw_processes() -> ProcessPoolExecutor:
    global _libraw
    with _libraw_lock:
        if _libraw is None:
            _libraw = _new_libraw_processes(os.cpu_count() or 1)
        return _libraw


def _new_libraw_processes(count: int) -> ProcessPoolExecutor:
    # Started afresh, not forked: this process runs threads (decoding, onnxruntime).
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_ignore_stop_signals)


def _replace_libraw_processes(broken: ProcessPoolExecutor) -> None:
    global _libraw
    with _libraw_lock:
        if _libraw is broken:
            _libraw = None
    broken.shutdown(wait=False)


def _ignore_stop_signals() -> None:
    """Ctrl-C reaches the whole process group: the run that started these processes
    stops them, and says so; they say nothing."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


@dataclass(frozen=True)
class _Refused:
    """An ImageError as it crosses from LibRaw's process: one is made again from its
    message alone, and ImageError also needs its code."""

    code: str
    message: str


def _extract_here(data: bytes) -> tuple[bytes | None, np.ndarray | None, int] | _Refused:
    try:
        return _read_preview(data)
    except ImageError as exc:
        return _Refused(exc.code, exc.message)


def _read_preview(data: bytes) -> tuple[bytes | None, np.ndarray | None, int]:
    try:
        import rawpy
    except ImportError:
        raise ImageError(RAW_SUPPORT_MISSING, "Reading camera RAW files needs rawpy: .venv/bin/pip install -e \".[raw]\" in pyvision's checkout.") from None
    try:
        # The bytes, not the path: LibRaw would open whatever is at the path by then.
        with rawpy.imread(io.BytesIO(data)) as raw:
            thumb = raw.extract_thumb()
            flip = raw.sizes.flip
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        raise ImageError(NO_RAW_PREVIEW, "The RAW file has no embedded preview that can be read.") from None
    except rawpy.LibRawError as exc:
        raise ImageError(errors.CORRUPT_IMAGE, f"The RAW file cannot be read ({exc}).") from None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return bytes(thumb.data), None, flip
    return None, thumb.data, flip
