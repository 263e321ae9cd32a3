"""POST /api/v1/classify in-process: several images per request, one result each, in
order; a bad image fails alone; nothing is stored; the limits of the API apply."""

import base64
import io

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from pyvision.recognition.models import Image as StoredImage
from pyvision.recognition.models import Recognition
from tests.bad_images import bad_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

CLASSIFY = "/api/v1/classify"
ESPRESSO = "n07920052"
CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}  # tabby, tiger cat, Egyptian cat


def named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def classify_files(client, *files: tuple[str, bytes], **fields):
    return client.post(CLASSIFY, {"image": [named(data, name) for name, data in files], **fields}, format="multipart")


def top1(result) -> str:
    return result["predictions"][0]["wnid"]


def test_several_images_get_one_result_each_in_order(photo, media):
    client = APIClient()
    response = classify_files(client, ("coffee.png", photo("coffee.png")), ("cat.png", photo("chelsea.png")),
                              ("again.png", photo("coffee.png")), top_k=3, lang="zh-hans")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [top1(r) for r in results][0::2] == [ESPRESSO, ESPRESSO] and top1(results[1]) in CAT_CLASSES
    espresso = results[0]["predictions"][0]
    assert espresso["label"] == "意大利浓咖啡" and espresso["names"]["en"] == "espresso" and espresso["score"] > 0.7
    assert espresso["hierarchy"][0]["name"] == "entity" and espresso["hierarchy"][-1]["wnid"] == ESPRESSO
    for result in results:
        assert len(result["predictions"]) == 3 and result["error"] is None
        assert result["timings"]["decode_ms"] > 0 and result["timings"]["inference_ms"] > 0
        assert result["timings"]["total_ms"] >= result["timings"]["decode_ms"]
    # Stateless: nothing was kept.
    assert StoredImage.objects.count() == Recognition.objects.count() == 0
    assert not media.exists() or not any(media.rglob("*"))


def test_a_bad_image_fails_alone_with_its_code(photo):
    bad = bad_files(photo("rocket.jpg"))
    files = [("coffee.png", photo("coffee.png"))] + [(name, data) for name, (data, _code) in bad.items()]
    response = classify_files(APIClient(), *files)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert top1(results[0]) == ESPRESSO
    assert [r["error"]["code"] for r in results[1:]] == [code for _data, code in bad.values()]
    for result in results[1:]:
        assert result["predictions"] == [] and result["error"]["message"]


def test_json_images_by_base64_and_a_refused_url(photo):
    coffee = base64.b64encode(photo("coffee.png")).decode()
    response = APIClient().post(CLASSIFY, {"images": [
        {"image_base64": coffee},
        {"url": "http://127.0.0.1/private.jpg"},  # an internal address: refused, alone
        {"image_base64": "not base64 !"},
    ], "model": "lite2"}, format="json")
    assert response.status_code == 200, response.content
    first, internal, garbled = response.json()["results"]
    assert top1(first) == ESPRESSO
    assert internal["error"]["code"] == "url_address_not_allowed"
    assert garbled["error"]["code"] == "invalid_base64"


@pytest.mark.parametrize("body, code", [
    ({}, "no_image"),
    ({"images": []}, "no_image"),
    ({"images": [{"url": "http://example.org/a.jpg", "image_base64": "AAAA"}]}, "invalid_request"),
    ({"images": [{"image_base64": "AAAA"}] * 17}, "invalid_request"),
    ({"images": [{"image_base64": "AAAA"}], "top_k": 11}, "invalid_request"),
    ({"images": [{"image_base64": "AAAA"}], "model": "resnet"}, "invalid_request"),
    # As the schema says: an empty value is not left out, a JSON string is not a number.
    ({"images": [{"image_base64": "AAAA"}], "model": ""}, "invalid_request"),
    ({"images": [{"image_base64": 1234}]}, "invalid_request"),
    ({"images": [{"image_base64": "AAAA"}], "top_k": "3"}, "invalid_request"),
])
def test_requests_that_cannot_be_answered_are_refused_whole(body, code):
    response = APIClient().post(CLASSIFY, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_each_image_counts_against_the_rate_limit(settings, photo):
    settings.RATE_ANON = "3/h"
    client = APIClient()
    png = ("coffee.png", photo("coffee.png"))
    assert classify_files(client, png, png).status_code == 200
    refused = classify_files(client, png, png)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1


def test_anonymous_clients_need_the_anonymous_setting(settings, photo):
    settings.ALLOW_ANONYMOUS = False
    assert classify_files(APIClient(), ("c.png", photo("coffee.png"))).status_code == 401
    user = User.objects.create_user("dora", password="a long passphrase 9")
    client = APIClient()
    client.force_authenticate(user)
    assert classify_files(client, ("c.png", photo("coffee.png"))).status_code == 200


def test_a_file_over_the_upload_limit_is_refused(settings, photo):
    settings.MAX_UPLOAD_BYTES = 100_000
    response = classify_files(APIClient(), ("coffee.png", photo("coffee.png")))
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"


def test_the_schema_documents_classify(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/classify"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"200", "400", "413", "429", "503"} <= set(operation["responses"])
