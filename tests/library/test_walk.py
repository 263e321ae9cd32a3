"""Which files `pyvision tag` and `pyvision classify` take from the folders they are given."""

from pathlib import Path

from pyvision.library.photos import photos


def test_photos_are_found_recursively_once_each_without_hidden_folders_or_sidecars(tmp_path):
    for name in ["a.jpg", "b.JPEG", "sub/c.png", "sub/deeper/d.CR2", "sub/e.dng", "f.heic",
                 "a.jpg.xmp", "notes.txt", ".hidden.jpg", ".thumbnails/x.jpg", "sub/.git/y.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # a link back up the tree
    (tmp_path / "elsewhere").symlink_to(tmp_path / "sub" / "deeper")  # the same folder twice
    found = [p.resolve().relative_to(tmp_path).as_posix() for p in photos([tmp_path, tmp_path / "sub"])]
    assert sorted(found) == ["a.jpg", "b.JPEG", "f.heic", "sub/c.png", "sub/deeper/d.CR2", "sub/e.dng"]


def test_a_file_named_on_the_command_line_is_taken_whatever_its_name(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    assert list(photos([notes])) == [notes]


def test_an_unreadable_or_missing_folder_is_passed_over(tmp_path):
    assert list(photos([tmp_path / "gone" / "folder"])) == [tmp_path / "gone" / "folder"]
    assert list(photos([Path(tmp_path)])) == []
