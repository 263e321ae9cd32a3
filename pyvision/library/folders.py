"""Which folders root tags: those that no one else may change.

Whoever may write in a folder, or in one above it, can swap a photo, a sidecar or the
folder itself for a link while a run reads and writes there, and so have root read
their neighbours' private photos or write where they may not. A library is tagged by
its owner (``sudo -u alice pyvision tag --xmp /home/alice/Pictures``), whose rights the
kernel enforces.
"""

import grp
import os
import pwd
import stat
from pathlib import Path

UNSAFE_FOLDER = "unsafe_folder"


class RootOnly:
    """The folders of one run, each looked at once."""

    def __init__(self):
        self._others: dict[tuple[Path, bool], str | None] = {}

    def changeable_by_others(self, folder: Path) -> str | None:
        """Why root may not tag the folder, or None if no one else may change it."""
        named = Path(os.path.abspath(folder))
        real = Path(os.path.realpath(folder))
        # As named (a link on the way is an entry of the folder above it) and as resolved.
        for path in dict.fromkeys([named, *named.parents, real, *real.parents]):
            key = (path, path in (named, real))
            if key not in self._others:
                self._others[key] = _others(*key)
            if self._others[key]:
                return (f"{path} may be changed by {self._others[key]}: as root, pyvision tags only folders "
                        "no one else may change; run it as the library's owner (sudo -u OWNER pyvision tag ...)")
        return None


def _others(path: Path, holds_photos: bool) -> str | None:
    """Who other than root may change this entry of its folder, or what is in it. A sticky
    folder (/tmp) lets no one else rename or remove root's entries: it may be above a
    library, not hold one."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"whoever made it vanish ({exc.strerror})"
    if info.st_uid != 0:
        return _user(info.st_uid)
    if stat.S_ISLNK(info.st_mode) or (info.st_mode & stat.S_ISVTX and not holds_photos):
        return None
    if info.st_mode & stat.S_IWOTH:
        return "anyone"
    if info.st_mode & stat.S_IWGRP:
        return f"the members of group {_group(info.st_gid)}"
    return None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"user {uid}"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
