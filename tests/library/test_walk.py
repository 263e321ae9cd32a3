"""Which files `pyvision tag` and `pyvision classify` take from the folders they are given,
and what they say of those they cannot read."""

import os
import subprocess
import sys

from pathlib import Path

import pytest

from pyvision.library.photos import photos


def test_photos_are_found_recursively_once_each_without_hidden_folders_or_sidecars(tmp_path):
    for name in ["a.jpg", "b.JPEG", "sub/c.png", "sub/deeper/d.CR2", "sub/e.dng", "f.heic",
                 "a.jpg.xmp", "notes.txt", ".hidden.jpg", ".thumbnails/x.jpg", "sub/.git/y.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # a link back up the tree
    (tmp_path / "elsewhere").symlink_to(tmp_path / "sub" / "deeper")  # the same folder twice
    found = [p.resolve().relative_to(tmp_path).as_posix() for p in photos([tmp_path, tmp_path / "sub"], [])]
    assert sorted(found) == ["a.jpg", "b.JPEG", "f.heic", "sub/c.png", "sub/deeper/d.CR2", "sub/e.dng"]


def test_a_file_named_on_the_command_line_is_taken_whatever_its_name(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    assert list(photos([notes], [])) == [notes]


def test_sidecars_named_on_the_command_line_are_not_taken_for_photos(tmp_path):
    # `pyvision tag --xmp DIR/*` after a first run names them.
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "a.jpg.xmp").write_bytes(b"")
    assert list(photos(sorted(tmp_path.iterdir()), [])) == [tmp_path / "a.jpg"]


def test_an_unreadable_or_missing_folder_is_passed_over(tmp_path):
    assert list(photos([tmp_path / "gone" / "folder"], [])) == [tmp_path / "gone" / "folder"]
    assert list(photos([Path(tmp_path)], [])) == []


def test_links_to_nothing_link_loops_and_special_files_named_as_photos_are_said(tmp_path):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").symlink_to(tmp_path / "nowhere.txt")  # not a photo: nothing to say
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    unreadable = []
    assert list(photos([tmp_path], unreadable)) == []
    assert {(u.path.name, u.message) for u in unreadable} == {
        ("gone.jpg", "a symbolic link to nothing"), ("a.jpg", "Too many levels of symbolic links"),
        ("b.jpg", "Too many levels of symbolic links"), ("pipe.jpg", "not a regular file"),
        ("zero.jpg", "not a regular file")}


def test_a_file_named_that_is_not_a_regular_file_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # reading it would wait forever for a writer
    unreadable = []
    assert list(photos([tmp_path / "pipe.jpg", Path("/dev/zero")], unreadable)) == []
    assert [(u.path, u.message) for u in unreadable] == [
        (tmp_path / "pipe.jpg", "not a regular file"), (Path("/dev/zero"), "not a regular file")]


def test_a_folder_that_cannot_be_read_is_said_and_the_rest_walked(tmp_path):
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "a.jpg").write_bytes(b"")
    (tmp_path / "b.jpg").write_bytes(b"")
    (tmp_path / "closed").chmod(0)
    walk = ("import pathlib, sys; from pyvision.library.photos import photos; unreadable = []; "
            "print([p.name for p in photos([pathlib.Path(sys.argv[1])], unreadable)], "
            "[(u.path.name, u.code) for u in unreadable])")
    command = [sys.executable, "-c", walk, str(tmp_path)]
    if os.geteuid() == 0:  # root reads any folder: the walk runs without the capabilities that let it
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    finally:
        (tmp_path / "closed").chmod(0o755)
    assert out.strip() == "['b.jpg'] [('closed', 'unreadable_folder')]"


def test_a_folder_nested_deeper_than_pythons_recursion_limit_is_walked(tmp_path):
    # Anyone who may write in a library can nest folders a thousand deep: the photos
    # beside and below them are still found.
    levels = [tmp_path / "deep"]
    for _ in range(sys.getrecursionlimit() + 100):
        levels.append(levels[-1] / "a")
    for level in levels:
        level.mkdir()
    try:
        (levels[-1] / "bottom.jpg").write_bytes(b"x")
        (tmp_path / "top.jpg").write_bytes(b"x")
        unreadable = []
        assert [p.name for p in photos([tmp_path], unreadable)] == ["bottom.jpg", "top.jpg"] and not unreadable
    finally:
        # Removed here, level by level: shutil.rmtree, which pytest cleans up with, recurses.
        (levels[-1] / "bottom.jpg").unlink(missing_ok=True)
        for level in reversed(levels):
            level.rmdir()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a link to another user")
def test_only_the_runners_and_roots_links_are_followed(tmp_path):
    # In a folder others may write in, their link to / would have the whole disk walked,
    # and one to the runner's private photo (pointed there once the walk has looked) its
    # keywords written beside it.
    private = tmp_path / "private"
    private.mkdir()
    (private / "mine.jpg").write_bytes(b"x")
    shared = tmp_path / "shared"
    shared.mkdir()
    for name, target in [("everything", private), ("theirs.jpg", private / "mine.jpg"), ("own.jpg", private / "mine.jpg")]:
        (shared / name).symlink_to(target)
        if name != "own.jpg":
            os.lchown(shared / name, 65534, 65534)
    unreadable = []
    assert [p.name for p in photos([shared], unreadable)] == ["own.jpg"]
    assert sorted((u.path.name, u.code) for u in unreadable) == [("everything", "link_not_followed"),
                                                                 ("theirs.jpg", "link_not_followed")]
