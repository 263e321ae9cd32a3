"""The hedged answer of a recognition and of a classify result, through the API and on
the site: the class itself for a clear photo, an ancestor such as dog for an unsure breed."""

import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from pyvision.meaning.models import HedgedAnswer
from pyvision.recognition import worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "static_from_apps")]

ESPRESSO = "n07920052"
DOG = "n02084071"


def named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def recognised(client, data: bytes, name: str, lang: str = "en") -> dict:
    created = client.post("/api/v1/recognitions", {"image": named(data, name)}, format="multipart").json()
    worker.run(created["id"])
    return client.get(f"/api/v1/recognitions/{created['id']}?lang={lang}").json()


def test_a_clear_photo_is_hedged_to_its_own_class(photo):
    client = APIClient()
    queued = client.post("/api/v1/recognitions", {"image": named(photo("coffee.png"), "coffee.png")}, format="multipart")
    assert queued.json()["hedged"] is None  # not done yet
    done = recognised(client, photo("coffee.png"), "coffee.png", lang="zh-hans")
    hedged = done["hedged"]
    assert hedged["wnid"] == done["predictions"][0]["wnid"] == ESPRESSO
    assert hedged["label"] == "意大利浓咖啡" and hedged["names"]["en"].startswith("espresso")
    assert hedged["score"] >= 0.95


@pytest.mark.parametrize("breed", ["n02087046_toy_terrier.JPEG", "n02090721_Irish_wolfhound.JPEG"])
def test_an_unsure_dog_breed_is_hedged_to_an_ancestor_such_as_dog(breed, imagenet_dev):
    client = APIClient()
    done = recognised(client, (imagenet_dev / breed).read_bytes(), breed, lang="zh-hans")
    hedged = done["hedged"]
    assert done["predictions"][0]["score"] < 0.9  # the model is not sure of the breed...
    top_path = [step["wnid"] for step in done["predictions"][0]["hierarchy"]]
    assert DOG in top_path[:top_path.index(hedged["wnid"]) + 1]  # ...but sure it is a dog, or a kind of dog
    assert hedged["wnid"] != done["predictions"][0]["wnid"] and hedged["score"] >= 0.9
    assert hedged["names"]["zh-hans"] == hedged["label"] and hedged["names"]["zh-hant"] and hedged["names"]["en"]


def test_a_recognition_by_a_model_without_a_hierarchy_has_a_null_hedged_answer(photo, monkeypatch):
    from pyvision.engine import hedging

    monkeypatch.delitem(hedging.TEMPERATURES, "lite0")
    done = recognised(APIClient(), photo("coffee.png"), "coffee.png")
    assert done["status"] == "done" and done["predictions"] and done["hedged"] is None
    assert not HedgedAnswer.objects.exists()


def test_classify_results_have_the_hedged_answer(photo):
    response = APIClient().post("/api/v1/classify", {"image": [named(photo("coffee.png"), "c.png"),
                                                               named(b"not an image", "n.txt")]}, format="multipart")
    good, bad = response.json()["results"]
    assert good["hedged"]["wnid"] == ESPRESSO and good["hedged"]["label"] == "espresso"
    assert bad["hedged"] is None and bad["error"]["code"] == "not_an_image"


def test_the_result_page_says_the_hedged_answer_above_the_top5_in_the_pages_language(photo, imagenet_dev):
    client = Client()
    breed = "n02087046_toy_terrier.JPEG"
    response = client.post("/upload", {"image": named((imagenet_dev / breed).read_bytes(), breed), "model": "lite0"})
    assert response.status_code in (200, 201, 202, 302), response.status_code
    from pyvision.recognition.models import Recognition

    recognition = Recognition.objects.get()
    worker.run(str(recognition.pk))
    english = client.get(f"/r/{recognition.pk}/card").content.decode()
    assert "% sure: dog</p>" in english
    assert english.index('class="hedged"') < english.index('class="predictions"')
    chinese = client.get(f"/r/{recognition.pk}/card", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "的把握：狗</p>" in chinese
