"""``pyvision backup`` / ``pyvision restore`` for the embedded mode: the SQLite database
and the uploaded files, together, in one tar archive.

The database is copied with SQLite's online backup, a consistent snapshot taken while
the service runs; files are added after it, so every row in the copy has its file (a
file whose row came later is only an orphan). The distributed mode has its own tools:
pg_dump or mysqldump, and the bucket's sync (README, Production).
"""

import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections

DATABASE = "pyvision.sqlite3"
MEDIA = "media"
SECRET_KEY = "secret_key"


class BackupError(Exception):
    pass


def embedded_paths() -> tuple[Path, Path]:
    """The SQLite file and the media folder, or why this is not the embedded mode."""
    database = settings.DATABASES["default"]
    if connections["default"].vendor != "sqlite":
        raise BackupError("the database is not the embedded SQLite: back it up with its own tools"
                          " (pg_dump, mysqldump; README, Production)")
    if settings.S3_BUCKET:
        raise BackupError("images are in an S3 bucket: copy it with the bucket's own tools (README, Production)")
    return Path(database["NAME"]), settings.DATA_DIR / MEDIA


def backup(archive: Path) -> int:
    """Write the archive; returns how many uploaded files it holds."""
    database, media = embedded_paths()
    if not database.exists():
        raise BackupError(f"no database at {database}: nothing to back up")
    files = 0
    with tempfile.TemporaryDirectory() as scratch:
        snapshot = Path(scratch) / DATABASE
        with sqlite3.connect(database) as source, sqlite3.connect(snapshot) as copy:
            source.backup(copy)
        with tarfile.open(archive, "w") as tar:
            tar.add(snapshot, DATABASE)
            secret_key = settings.DATA_DIR / SECRET_KEY
            if secret_key.exists():  # sessions and password-reset links stay valid
                tar.add(secret_key, SECRET_KEY)
            for path in sorted(media.rglob("*")) if media.exists() else []:
                if path.is_file():
                    tar.add(path, f"{MEDIA}/{path.relative_to(media)}")
                    files += 1
    return files


def restore(archive: Path) -> int:
    """Unpack into an empty data folder; returns how many uploaded files it restored."""
    database, _media = embedded_paths()
    if database.exists():
        raise BackupError(f"{database} exists: restore into an empty PYVISION_DATA_DIR, with the service stopped")
    try:
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            if DATABASE not in names:
                raise BackupError(f"{archive} is not a pyvision backup: it has no {DATABASE}")
            # The "data" filter refuses absolute paths, links out of the folder and devices.
            tar.extractall(settings.DATA_DIR, filter="data")
    except tarfile.TarError as exc:
        raise BackupError(f"{archive} cannot be read: {exc}") from exc
    unpacked = settings.DATA_DIR / DATABASE
    if unpacked.resolve() != database.resolve():  # DATABASE_URL names another SQLite file
        shutil.move(unpacked, database)
    return sum(name.startswith(f"{MEDIA}/") for name in names)
