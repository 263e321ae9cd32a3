"""`pyvision tag --model NAME` with a custom model added by `pyvision models add`: its
labels' names as keywords, under the model's name in the keyword tree (it has no
WordNet tree), and a replaced model tags the library again."""

import csv
import json

import onnx
import pytest

from pyvision import cli
from tests.colour_model import colour_model, photo, write_model
from tests.library.conftest import as_list, exiftool

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

# "blue" has no Chinese name: its keyword stays English, once.
LABELS = "id,en,zh-hans\nred,red,红色\ngreen,green,绿色\nblue,blue,\n"


def add_colours(folder, model: bytes | None = None) -> None:
    onnx_file, labels = write_model(folder)
    labels.write_text(LABELS, encoding="utf-8")
    if model is not None:
        onnx_file.write_bytes(model)
    assert cli.main(["models", "add", "colours", "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32"]) == 0


def colour_library(folder):
    folder.mkdir()
    for colour in ("red", "green", "blue"):
        (folder / f"{colour}.jpg").write_bytes(photo(colour))
    return folder


def read_keywords(folder) -> dict[str, tuple[list, list]]:
    return {name: (as_list(tags.get("XMP-dc:Subject")), as_list(tags.get("XMP-lr:HierarchicalSubject")))
            for name, tags in exiftool(*sorted(folder.glob("*.xmp"))).items()}


def test_each_photo_gets_its_colour_in_each_language_under_the_models_name(tmp_path, capsys):
    add_colours(tmp_path)
    library = colour_library(tmp_path / "photos")
    assert cli.main(["tag", "--xmp", "--model", "colours", "--lang", "en,zh-hans", "--top", "1", str(library)]) == 0
    assert capsys.readouterr().err.strip().endswith("3 tagged, 0 skipped, 0 failed")
    assert read_keywords(library) == {
        "red.jpg.xmp": (["red", "红色"], ["pyvision|colours|red"]),
        "green.jpg.xmp": (["green", "绿色"], ["pyvision|colours|green"]),
        "blue.jpg.xmp": (["blue"], ["pyvision|colours|blue"]),
    }


def test_a_custom_model_has_no_hedged_answer_and_keeps_its_top_labels(tmp_path, capsys):
    add_colours(tmp_path)
    library = colour_library(tmp_path / "photos")
    table = tmp_path / "tags.csv"
    capsys.readouterr()
    assert cli.main(["tag", "--hedged", "--json", "--csv", str(table), "--model", "colours", "--top", "1",
                     str(library)]) == 0
    rows = {row["path"].rsplit("/", 1)[-1]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {name: (row["keywords"], row["hedged"]) for name, row in rows.items()} == {
        "red.jpg": (["red"], None), "green.jpg": (["green"], None), "blue.jpg": (["blue"], None)}
    assert rows["red.jpg"]["predictions"][0]["wnid"] == "red"  # the label's id
    with table.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert (row["model"], row["hedged_wnid"], row["hedged"], row["hedged_score"]) == ("colours", "", "", "")


def test_a_model_replaced_under_the_same_name_tags_the_library_again(tmp_path, capsys):
    add_colours(tmp_path)
    library = colour_library(tmp_path / "photos")
    arguments = ["tag", "--xmp", "--model", "colours", str(library)]
    assert cli.main(arguments) == 0
    assert cli.main(arguments) == 0
    assert capsys.readouterr().err.strip().endswith("0 tagged, 3 skipped, 0 failed")

    assert cli.main(["models", "remove", "colours"]) == 0
    retrained = onnx.load_from_string(colour_model())
    retrained.doc_string = "retrained"  # other bytes, another sha256
    add_colours(tmp_path, retrained.SerializeToString())
    assert cli.main(arguments) == 0
    assert capsys.readouterr().err.strip().endswith("3 tagged, 0 skipped, 0 failed")
    assert cli.main(arguments) == 0
    assert capsys.readouterr().err.strip().endswith("0 tagged, 3 skipped, 0 failed")
