"""As root, `tag --xmp` writes only in folders that no one else may change: anyone who may
write in one could swap a photo, a sidecar or the folder for a link as root works there."""

import os
import shutil
import stat

import pytest

from pyvision import cli
from tests.conftest import SKIMAGE_DATA

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root's runs are limited so")
NOBODY = 65534


def sidecars(folder):
    return sorted(p.name for p in folder.rglob("*.xmp"))


def test_a_folder_someone_else_owns_is_left_untouched(library, capsys):
    os.chown(library / "2024", NOBODY, NOBODY)
    assert cli.main(["tag", "--xmp", str(library)]) == 1
    err = capsys.readouterr().err
    assert "2024: error unsafe_folder:" in err and "may be changed by" in err and "sudo -u" in err
    assert sidecars(library) == ["coffee.png.xmp"]
    assert err.strip().endswith("1 tagged, 0 skipped, 1 failed (unsafe_folder 1)")


def test_a_photo_someone_else_owns_in_roots_folder_is_tagged(library, capsys):
    # They may change what it shows, not swap it for a link: root's folder is closed to them.
    # Its sidecar is theirs, and as private as the photo: root's, readable by all, would
    # tell everyone what their private photo shows.
    photo = library / "2024" / "chelsea.png"
    os.chown(photo, NOBODY, NOBODY)
    photo.chmod(0o600)
    assert cli.main(["tag", "--xmp", str(library), str(photo)]) == 0
    assert sidecars(library) == ["chelsea.png.xmp", "coffee.png.xmp"]
    info = (library / "2024" / "chelsea.png.xmp").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o600)


def test_a_folder_its_group_may_write_in_is_left_untouched(library, capsys):
    (library / "2024").chmod(0o775)
    assert cli.main(["tag", "--xmp", str(library / "2024" / "chelsea.png")]) == 1
    assert "may be changed by the members of group" in capsys.readouterr().err
    assert sidecars(library) == []


def test_a_library_below_a_folder_someone_else_may_write_in_is_left_untouched(tmp_path, library, capsys):
    # They could rename the library away and put a link to anywhere in its place.
    os.chown(tmp_path, NOBODY, NOBODY)
    try:
        assert cli.main(["tag", "--xmp", str(library)]) == 1
    finally:
        os.chown(tmp_path, 0, 0)
    assert "unsafe_folder" in capsys.readouterr().err and sidecars(library) == []


def test_a_link_to_someone_elses_folder_is_not_followed_into_it(tmp_path, library, capsys):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    shutil.copy(SKIMAGE_DATA / "coffee.png", theirs / "private.png")
    os.chown(theirs, NOBODY, NOBODY)
    (library / "linked").symlink_to(theirs)
    assert cli.main(["tag", "--xmp", str(library)]) == 1
    assert "linked: error unsafe_folder" in capsys.readouterr().err
    assert sidecars(theirs) == [] and sidecars(library) == ["chelsea.png.xmp", "coffee.png.xmp"]


def test_a_library_below_a_sticky_folder_open_to_all_is_tagged(tmp_path, library):
    # As below /tmp: no one else may rename or remove root's entries of a sticky folder.
    sticky = tmp_path / "shared"
    sticky.mkdir()
    sticky.chmod(0o1777)
    moved = shutil.move(library, sticky / "photos")
    assert cli.main(["tag", "--xmp", str(moved)]) == 0
    assert sidecars(sticky) == ["chelsea.png.xmp", "coffee.png.xmp"]


def test_without_writing_anything_a_folder_someone_else_owns_is_classified(library, capsys):
    os.chown(library, NOBODY, NOBODY)
    assert cli.main(["tag", str(library)]) == 0
    assert "2 tagged" in capsys.readouterr().err and sidecars(library) == []


def test_a_link_of_roots_that_goes_through_someone_elses_link_is_not_followed(tmp_path, library, capsys):
    # Their link is theirs to point elsewhere (/etc) between the walk and the writing.
    safe = tmp_path / "safe"
    safe.mkdir()
    shutil.copy(SKIMAGE_DATA / "coffee.png", safe / "X.png")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "pub").symlink_to(safe)
    os.lchown(theirs / "pub", NOBODY, NOBODY)
    os.chown(theirs, NOBODY, NOBODY)
    (library / "pub").symlink_to(theirs / "pub")
    assert cli.main(["tag", "--xmp", str(library)]) == 1
    assert "pub: error unsafe_folder" in capsys.readouterr().err
    assert sidecars(safe) == []


def test_a_photo_linked_into_someone_elses_folder_is_not_tagged(tmp_path, library, capsys):
    # They may point it at a private photo of anyone's: its keywords would land here.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    shutil.copy(SKIMAGE_DATA / "coffee.png", theirs / "b.png")
    os.chown(theirs, NOBODY, NOBODY)
    (library / "b.png").symlink_to(theirs / "b.png")
    assert cli.main(["tag", "--xmp", str(library), str(library / "b.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("b.png: error unsafe_folder") == 2
    assert "b.png.xmp" not in sidecars(library)


def test_a_path_that_ends_in_a_sticky_folder_after_going_back_up_is_refused(tmp_path, capsys):
    # /tmp/mine/.. is /tmp itself, where anyone may plant the sidecar beforehand.
    sticky = tmp_path / "shared"
    (sticky / "mine").mkdir(parents=True)
    sticky.chmod(0o1777)
    shutil.copy(SKIMAGE_DATA / "coffee.png", sticky / "coffee.png")
    assert cli.main(["tag", "--xmp", str(sticky / "mine" / "..")]) == 1
    assert "unsafe_folder" in capsys.readouterr().err and sidecars(sticky) == []
