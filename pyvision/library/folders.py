"""Which photos root tags: those whose path no one else may change.

Whoever may write in a folder on a photo's path, or own a link on it, can swap the
photo, its sidecar or a folder for a link while a run reads and writes there, and so
have root read their neighbours' private photos or write where they may not. A library
is tagged by its owner (``sudo -u alice pyvision tag --xmp /home/alice/Pictures``),
whose rights the kernel enforces.
"""

import errno
import grp
import os
import pwd
import stat
from pathlib import Path

UNSAFE_FOLDER = "unsafe_folder"
# As the kernel: a path that goes through more links than this is a loop.
MOST_LINKS = 40


def changeable_by_others(path: Path) -> str | None:
    """Why root may not tag the folder or photo at ``path``, or None if no one else may
    change its path."""
    try:
        entries, end = resolution(path)
        # The folder the photos are in, as the path ends (after a "..", not the entry met last).
        holder = end if end.is_dir() else end.parent
        entries_and_holder = [*entries, (holder, os.lstat(holder))]
    except OSError as exc:
        return f"{path} cannot be followed ({exc.strerror})"
    for i, (entry, info) in enumerate(entries_and_holder):
        below = entries[i + 1][1] if i + 1 < len(entries) else None
        who = _others(info, below)
        if who:
            return (f"{entry} may be changed by {who}: as root, pyvision tags only photos whose path no one "
                    "else may change; run it as the library's owner (sudo -u OWNER pyvision tag ...)")
    return None


def resolution(path: Path) -> tuple[list[tuple[Path, os.stat_result]], Path]:
    """Every entry the kernel goes through to reach ``path``, in order, links and the
    entries their targets go through included, each with its lstat; and where it ends."""
    pending = list(Path(os.getcwd(), path).parts[1:])
    current, met, links = Path("/"), [], 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = current.parent
            continue
        entry = current / name
        info = os.lstat(entry)
        met.append((entry, info))
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > MOST_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            target = Path(os.readlink(entry))
            if target.is_absolute():
                current = Path("/")
            pending[:0] = target.parts[1:] if target.is_absolute() else target.parts
        else:
            current = entry
    return met, current


def _others(info: os.stat_result, below: os.stat_result | None) -> str | None:
    """Who other than root may change this entry, or what its folder holds on the path
    (``below``). A sticky folder open to all (/tmp) lets no one else rename or remove
    root's entries: it may hold one of root's folders on the way, not the photos. A photo
    file's owner may change what it holds, not where it leads: its folder decides."""
    if stat.S_ISREG(info.st_mode):
        return None
    if info.st_uid != 0:
        return user_name(info.st_uid)
    if not stat.S_ISDIR(info.st_mode) or not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if info.st_mode & stat.S_ISVTX and below is not None and stat.S_ISDIR(below.st_mode) and below.st_uid == 0:
        return None
    return "anyone" if info.st_mode & stat.S_IWOTH else f"the members of group {_group(info.st_gid)}"


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"user {uid}"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
