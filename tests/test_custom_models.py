"""A custom ONNX classifier added with `pyvision models add`, then used like a built-in
model: recognitions and classify through the API, the model list, the site; refused
with a reason when it could not serve; its labels kept when it is removed."""

import hashlib
import io
import json
import re

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from pyvision import cli
from pyvision.custom_models import catalog
from pyvision.custom_models.models import CustomModel, Label
from pyvision.recognition import worker
from pyvision.recognition.models import Recognition

from .colour_model import colour_model, photo, write_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "static_from_apps")]


def add(tmp_path, *extra, **model_options) -> int:
    onnx_file, labels = write_model(tmp_path, **model_options)
    return cli.main(["models", "add", "colours", "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32",
                     "--description", "Dominant colour", *extra])


def refusal(capsys, tmp_path, *extra, **model_options) -> str:
    with pytest.raises(SystemExit) as exited:
        add(tmp_path, *extra, **model_options)
    return str(exited.value.code)


def recognise(client, colour: str, **fields) -> dict:
    response = client.post("/api/v1/recognitions", {"image": named(photo(colour)), **fields}, format="multipart")
    assert response.status_code == 202, response.content[:300]
    worker.run(response.json()["id"])
    return client.get(response["Location"] + "?lang=zh-hans").json()


def named(data: bytes):
    f = io.BytesIO(data)
    f.name = "photo.jpg"
    return f


def test_a_model_added_through_the_cli_recognises_through_the_api_with_its_labels(tmp_path, media):
    assert add(tmp_path) == 0
    model = CustomModel.objects.get(name="colours")
    assert (media / model.file.name).read_bytes() == colour_model()  # in the storage backend, by its sha256

    client = APIClient()
    for colour in ("red", "green", "blue"):
        done = recognise(client, colour, model="colours", top_k=3)
        assert (done["status"], done["model"]) == ("done", "colours")
        top = done["predictions"][0]
        assert (top["label_id"], top["wnid"], top["hierarchy"]) == (colour, None, [])
        assert top["names"]["en"] == colour and top["label"] == top["names"]["zh-hans"]
        assert [p["rank"] for p in done["predictions"]] == [1, 2, 3]

    listed = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert listed["colours"] == {"name": "colours", "description": "Dominant colour", "input_size": 32,
                                 "default": False, "custom": True, "labels": 3, "languages": ["en", "zh-hans"],
                                 "sha256": hashlib.sha256(colour_model()).hexdigest()}
    assert listed["lite0"]["labels"] == 1000 and not listed["lite0"]["custom"]


def test_the_schema_lists_the_custom_model_among_the_accepted_names(tmp_path):
    client = APIClient()
    before = client.get("/api/schema/?format=json").json()["components"]["schemas"]["ModelEnum"]["enum"]
    add(tmp_path)
    after = client.get("/api/schema/?format=json").json()["components"]["schemas"]["ModelEnum"]["enum"]
    assert (before, after) == (["lite0", "lite2"], ["lite0", "lite2", "colours"])


def test_classify_in_the_web_process_uses_the_custom_model(tmp_path):
    add(tmp_path)
    response = APIClient().post("/api/v1/classify", {"image": [named(photo("blue")), named(photo("green"))],
                                                     "model": "colours"}, format="multipart")
    assert response.status_code == 200, response.content[:300]
    assert [r["predictions"][0]["label_id"] for r in response.json()["results"]] == ["blue", "green"]


def test_the_site_offers_the_model_and_shows_its_labels_in_the_page_language(tmp_path):
    add(tmp_path)
    client = Client(headers={"accept-language": "zh-hans"})
    assert 'value="colours"' in client.get("/").content.decode()
    response = client.post("/upload", {"image": named(photo("green")), "model": "colours"}, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content[:300]
    recognition = Recognition.objects.get()
    worker.run(str(recognition.pk))
    page = client.get(f"/r/{recognition.pk}/").content.decode()
    assert "绿色" in page

    # Run again with a built-in model, and back: the site's "run again" offers both.
    image_page = client.get(f"/images/{recognition.image_id}/").content.decode()
    assert 'value="lite0"' in image_page
    assert client.post(f"/images/{recognition.image_id}/rerun", {"model": "colours"}).status_code == 302


def test_a_removed_model_leaves_its_past_recognitions_readable_and_is_refused_after(tmp_path, media):
    add(tmp_path)
    client = APIClient()
    done = recognise(client, "red", model="colours")
    stored = CustomModel.objects.get().file.name

    assert cli.main(["models", "remove", "colours"]) == 0
    assert not (media / stored).exists() and not CustomModel.objects.exists()
    again = client.get(f"/api/v1/recognitions/{done['id']}?lang=zh-hans").json()
    assert again["predictions"][0]["label_id"] == "red" and again["predictions"][0]["label"] == "红色"
    assert Label.objects.filter(model_name="colours").count() == 3

    response = client.post("/api/v1/recognitions", {"image": named(photo("red")), "model": "colours"}, format="multipart")
    assert response.status_code == 400 and "model" in response.json()["error"]["fields"]


def test_a_disabled_model_is_not_offered_until_enabled(tmp_path):
    add(tmp_path)
    client = APIClient()
    assert cli.main(["models", "disable", "colours"]) == 0
    assert "colours" not in [m["name"] for m in client.get("/api/v1/models").json()]
    response = client.post("/api/v1/recognitions", {"image": named(photo("red")), "model": "colours"}, format="multipart")
    assert response.status_code == 400
    assert cli.main(["models", "enable", "colours"]) == 0
    assert recognise(client, "red", model="colours")["predictions"][0]["label_id"] == "red"


def test_the_cli_classifies_with_a_custom_model(tmp_path, capsys):
    add(tmp_path)
    (tmp_path / "red.jpg").write_bytes(photo("red"))
    capsys.readouterr()
    assert cli.main(["classify", "--model", "colours", "--json", str(tmp_path / "red.jpg")]) == 0
    assert '"label": "red"' in capsys.readouterr().out


def test_eval_and_bench_take_a_custom_model(tmp_path, capsys):
    add(tmp_path)
    folder = tmp_path / "labelled"
    folder.mkdir()
    for colour in ("red", "green", "blue"):
        (folder / f"{colour}_1.jpg").write_bytes(photo(colour))
    capsys.readouterr()
    assert cli.main(["eval", "--model", "colours", "--json", str(folder)]) == 0
    # A model without a hierarchy has no hedged answers to count.
    assert json.loads(capsys.readouterr().out) == {"model": "colours", "n": 3, "top1": 1.0, "top5": 1.0,
                                                   "hedged": None, "hedged_depth": None}
    assert cli.main(["bench", "--model", "colours", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "colours"


def test_a_file_that_is_not_onnx_is_refused_and_nothing_is_stored(tmp_path, capsys, media):
    (tmp_path / "notes.onnx").write_bytes(b"these are my notes, not a model\n")
    write_model(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli.main(["models", "add", "notes", "--onnx", str(tmp_path / "notes.onnx"), "--labels", str(tmp_path / "colours.csv")])
    assert "not an ONNX model" in str(exited.value.code) and "Nothing was stored" in str(exited.value.code)
    assert_nothing_stored(media)


def test_a_model_with_two_inputs_is_refused(tmp_path, capsys, media):
    message = refusal(capsys, tmp_path, inputs=2)
    assert "The model has 2 inputs (image, image1); it must have one, the image." in message
    assert_nothing_stored(media)


def test_labels_of_the_wrong_count_are_refused(tmp_path, capsys, media):
    message = refusal(capsys, tmp_path, classes=4)
    assert "The model's output has 4 classes and the labels file 3" in message
    assert_nothing_stored(media)


def test_an_input_of_another_size_is_refused(tmp_path, capsys, media):
    message = refusal(capsys, tmp_path, size=64)
    assert "expected (batch, 3, 32, 32) for --size 32" in message
    assert_nothing_stored(media)


def test_a_file_over_the_limit_is_refused(tmp_path, capsys, media, settings):
    settings.CUSTOM_MODEL_MAX_BYTES = 100
    message = refusal(capsys, tmp_path)
    assert f"The model file is {len(colour_model()):,} bytes; the limit is 100" in message
    assert_nothing_stored(media)


def assert_nothing_stored(media):
    assert not CustomModel.objects.exists() and not Label.objects.exists()
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def add_named(tmp_path, name: str, *extra, **model_options) -> int:
    folder = tmp_path / name
    folder.mkdir()
    onnx_file, labels = write_model(folder, **model_options)
    return cli.main(["models", "add", name, "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32", *extra])


def test_a_model_ending_in_a_softmax_scores_as_the_same_model_without_it(tmp_path, capsys):
    assert add_named(tmp_path, "colours", softmax=False) == 0
    assert add_named(tmp_path, "colours-soft", softmax=True) == 0
    assert "colours-soft: added, 3 labels, outputs probabilities (found out from sample images)" in capsys.readouterr().out
    assert dict(CustomModel.objects.values_list("name", "output")) == {"colours": "logits", "colours-soft": "probabilities"}

    client = APIClient()
    for colour in ("red", "green", "blue"):
        logits, softmaxed = (recognise(client, colour, model=name, top_k=3) for name in ("colours", "colours-soft"))
        assert softmaxed["predictions"][0]["label_id"] == colour
        # Softmaxed twice, the top score would be flattened to about 0.58.
        assert softmaxed["predictions"][0]["score"] > 0.99
        assert [p["label_id"] for p in softmaxed["predictions"]] == [p["label_id"] for p in logits["predictions"]]
        for ours, theirs in zip(softmaxed["predictions"], logits["predictions"]):
            assert ours["score"] == pytest.approx(theirs["score"], abs=1e-5)

    # And the engine's whole rows, as classify, eval and bench see them.
    for colour in ("red", "green", "blue"):
        rows = [catalog.classifier(name).recognize(photo(colour), k=3).probabilities for name in ("colours", "colours-soft")]
        np.testing.assert_allclose(rows[1], rows[0], atol=1e-5)


def test_output_overrides_what_the_sample_images_show(tmp_path, capsys, media):
    assert add_named(tmp_path, "colours-soft", "--output", "logits", softmax=True) == 0
    assert "outputs logits (as --output said)" in capsys.readouterr().out
    assert CustomModel.objects.get().output == "logits"

    # Scores below 0 are no probabilities: said, and nothing of it stored.
    with pytest.raises(SystemExit) as exited:
        add_named(tmp_path, "colours", "--output", "probabilities")
    assert "said to be probabilities, but on a sample image (a plain grey image) it answered -" in str(exited.value.code)
    assert "Nothing was stored" in str(exited.value.code)
    assert list(CustomModel.objects.values_list("name", flat=True)) == ["colours-soft"]
    assert [p.name for p in media.rglob("*.onnx")] == [CustomModel.objects.get().file.name.split("/")[-1]]


LABELS_WITH_IDS = "id,en,zh-hans\nc-red,red,红色\nc-green,green,绿色\nc-blue,blue,蓝色\n"


@pytest.mark.parametrize("query", ["c-green", "green", "GREEN", "绿色"])
def test_a_custom_label_finds_ones_own_recognitions_and_images_by_id_or_name(tmp_path, query):
    onnx_file, labels = write_model(tmp_path)
    labels.write_text(LABELS_WITH_IDS, encoding="utf-8")
    assert cli.main(["models", "add", "colours", "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32"]) == 0
    alice, bob = (User.objects.create_user(name) for name in ("alice", "bob"))
    as_alice, as_bob = APIClient(), APIClient()
    as_alice.force_authenticate(alice)
    as_bob.force_authenticate(bob)
    green = recognise(as_alice, "green", model="colours")
    recognise(as_alice, "red", model="colours")
    recognise(as_alice, "green")  # lite0: ImageNet classes only, none of them the custom label
    recognise(as_bob, "green", model="colours")

    found = as_alice.get("/api/v1/recognitions", {"label": query}).json()
    assert [r["id"] for r in found["results"]] == [green["id"]]

    site = Client()
    site.force_login(alice)
    page = site.get("/images/", {"q": query}).content.decode()
    assert re.findall(r'href="/images/([0-9a-f-]{36})/"', page) == [str(Recognition.objects.get(pk=green["id"]).image_id)]


def test_doctor_checks_each_enabled_custom_model_and_names_a_broken_one(tmp_path, media, capsys):
    add(tmp_path)
    assert add_named(tmp_path, "spare") == 0
    assert cli.main(["models", "disable", "spare"]) == 0
    capsys.readouterr()
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok            custom model colours: read from storage, sha256 verified, answers as it should" in out
    assert "spare" not in out  # disabled: not served, not checked

    # Bytes changed in storage, as a bad disk or a bad copy to the bucket would.
    stored = media / CustomModel.objects.get(name="colours").file.name
    corrupted = bytearray(stored.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    stored.write_bytes(bytes(corrupted))
    assert cli.main(["doctor"]) == 1
    assert "FAIL          custom model colours: Model 'colours' has sha256 " in capsys.readouterr().out
    assert cli.main(["doctor", "--json"]) == 1
    (check,) = json.loads(capsys.readouterr().out)["custom_models"]
    assert (check["model"], check["ok"]) == ("colours", False) and "expected " + CustomModel.objects.get(
        name="colours").sha256 in check["reason"]

    stored.unlink()
    assert cli.main(["doctor"]) == 1
    assert f"FAIL          custom model colours: its file {stored.relative_to(media)} could not be read from storage" \
        in capsys.readouterr().out


def test_the_admin_shows_what_each_model_outputs(tmp_path):
    assert add_named(tmp_path, "colours") == 0
    assert add_named(tmp_path, "colours-soft", softmax=True) == 0
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.org", "a long passphrase 9"))
    listing = admin.get("/admin/custom_models/custommodel/").content.decode()
    assert re.findall(r'<td class="field-output">([^<]+)</td>', listing) == [
        "logits (the service applies a softmax)", "probabilities (used as they are)"]
    soft = CustomModel.objects.get(name="colours-soft")
    page = admin.get(f"/admin/custom_models/custommodel/{soft.pk}/change/").content.decode()
    assert "probabilities (used as they are)" in page
    # Read-only: what the file outputs does not change by saying so.
    saved = admin.post(f"/admin/custom_models/custommodel/{soft.pk}/change/",
               {"description": "", "enabled": "on", "output": "logits", "labels-TOTAL_FORMS": "0",
                "labels-INITIAL_FORMS": "0"})
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    soft.refresh_from_db()
    assert soft.output == "probabilities"
