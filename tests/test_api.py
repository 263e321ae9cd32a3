"""The REST API in-process: recognitions from files and base64, tokens, ownership,
filters, rate limits, size limits and the error format."""

import base64
import hashlib
import io
import re

import pytest
from django.contrib.auth.models import User
from PIL import Image
from rest_framework.test import APIClient

from pyvision.api import errors
from pyvision.api.models import ApiToken
from pyvision.engine.registry import MODELS_DIR
from pyvision.recognition import worker
from pyvision.recognition.models import Image as StoredImage
from pyvision.recognition.models import Recognition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

RECOGNITIONS = "/api/v1/recognitions"
CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}  # tabby, tiger cat, Egyptian cat


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="a long passphrase 1")


def small_png(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, data: bytes, name="photo.png", query="", **fields):
    return client.post(RECOGNITIONS + query, {"image": io.BytesIO(data) if name is None else named(data, name), **fields},
                       format="multipart")


def named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def token_client(user) -> tuple[APIClient, str]:
    _token, key = ApiToken.create(user, "script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def assert_error(response, status: int, code: str):
    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == code and code in errors.CODES
    assert len(error["message"]) > 10
    return error


def test_an_uploaded_photo_is_queued_then_read_back_done_with_names_and_hierarchy(client, photo):
    response = upload(client, photo("chelsea.png"), name="chelsea.png")
    assert response.status_code == 202
    queued = response.json()
    assert (queued["status"], queued["model"], queued["predictions"], queued["error"]) == ("queued", "lite0", [], None)
    assert response["Location"] == f"{RECOGNITIONS}/{queued['id']}"

    worker.run(queued["id"])
    done = client.get(response["Location"] + "?lang=zh-hans").json()
    assert done["status"] == "done" and done["finished_at"] and done["error"] is None
    assert all(done["timings"][k] > 0 for k in ("decode_ms", "inference_ms", "total_ms"))
    assert [p["rank"] for p in done["predictions"]] == [1, 2, 3, 4, 5]
    top = done["predictions"][0]
    assert top["wnid"] in CAT_CLASSES
    assert top["label"] == re.split("[,，]", top["names"]["zh-hans"])[0]  # the label is in the asked language
    assert {"en", "zh-hans"} <= set(top["names"])
    assert [h["name"] for h in top["hierarchy"]][:1] == ["entity"] and top["hierarchy"][-1]["wnid"] == top["wnid"]
    assert any(h["name"] == "cat" for h in top["hierarchy"])
    assert 0 < top["score"] <= 1 and top["score"] >= done["predictions"][1]["score"]


def test_base64_json_with_model_and_top_k(client, photo):
    encoded = "data:image/png;base64," + base64.b64encode(photo("coffee.png")).decode()
    response = client.post(RECOGNITIONS, {"image_base64": encoded, "model": "lite2", "top_k": 3}, format="json")
    assert response.status_code == 202
    worker.run(response.json()["id"])
    done = client.get(response["Location"]).json()
    assert done["model"] == "lite2"
    assert [p["rank"] for p in done["predictions"]] == [1, 2, 3]
    assert done["predictions"][0]["label"] == "espresso"


def test_a_broken_image_ends_as_a_failed_recognition_with_a_code(client):
    response = upload(client, b"this is not a photo\n" * 10, name="notes.txt")
    worker.run(response.json()["id"])
    failed = client.get(response["Location"]).json()
    assert failed["status"] == "failed" and failed["predictions"] == []
    assert failed["error"]["code"] == "not_an_image" and "JPEG" in failed["error"]["message"]


@pytest.mark.parametrize("body, field", [
    ({"top_k": 11}, "top_k"),
    ({"top_k": 0}, "top_k"),
    ({"model": "resnet"}, "model"),
    ({"lang": "xx"}, "lang"),
])
def test_wrong_parameters_are_refused_naming_the_field(client, body, field):
    response = client.post(RECOGNITIONS, {"image_base64": base64.b64encode(small_png()).decode(), **body}, format="json")
    error = assert_error(response, 400, errors.INVALID_REQUEST)
    assert list(error["fields"]) == [field]


def test_a_refused_value_is_not_echoed_whole(client):
    response = client.post(RECOGNITIONS, {"image_base64": base64.b64encode(small_png()).decode(), "lang": "x" * 10**6},
                           format="json")
    error = assert_error(response, 400, errors.INVALID_REQUEST)
    assert len(response.content) < 2000 and error["fields"]["lang"][0].startswith('"xxx')


@pytest.mark.parametrize("body, field", [
    ({"image_base64": 1234}, "image_base64"),
    ({"url": ["https://example.org/a.jpg"]}, "url"),
    ({"url": "https://example.org/a.jpg", "top_k": "3"}, "top_k"),
    ({"url": "https://example.org/a.jpg", "top_k": True}, "top_k"),
])
def test_json_values_must_have_their_documented_types(client, body, field):
    error = assert_error(client.post(RECOGNITIONS, body, format="json"), 400, errors.INVALID_REQUEST)
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize("query", ["?status=", "?label=", "?lang=", "?page=0", "?page_size=0", "?page_size=101", "?label=a%00b"])
def test_parameter_values_the_schema_excludes_are_refused_not_ignored(client, query):
    assert_error(client.get(RECOGNITIONS + query), 400, errors.INVALID_REQUEST)


def test_wait_out_of_range_is_refused(client):
    response = client.post(RECOGNITIONS + "?wait=31", {"image_base64": base64.b64encode(small_png()).decode()}, format="json")
    assert "wait" in assert_error(response, 400, errors.INVALID_REQUEST)["fields"]


def test_request_without_an_image_or_with_two_is_refused(client):
    assert_error(client.post(RECOGNITIONS, {"top_k": 3}, format="json"), 400, errors.NO_IMAGE)
    both = {"image_base64": base64.b64encode(small_png()).decode(), "url": "https://example.org/a.jpg"}
    assert_error(client.post(RECOGNITIONS, both, format="json"), 400, errors.SEVERAL_IMAGES)
    two_files = client.post(RECOGNITIONS, {"image": [named(small_png(), "a.png"), named(small_png(), "b.png")]}, format="multipart")
    assert_error(two_files, 400, errors.SEVERAL_IMAGES)
    assert Recognition.objects.count() == 0


def test_bad_base64_and_bad_json_and_other_bodies_are_refused(client):
    assert_error(client.post(RECOGNITIONS, {"image_base64": "not*base64!"}, format="json"), 400, errors.INVALID_BASE64)
    assert_error(client.post(RECOGNITIONS, '{"url": ', content_type="application/json"), 400, errors.PARSE_ERROR)
    assert_error(client.post(RECOGNITIONS, "image=x", content_type="text/plain"), 415, errors.UNSUPPORTED_MEDIA_TYPE)
    assert_error(client.put(RECOGNITIONS, {}, format="json"), 405, errors.METHOD_NOT_ALLOWED)


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(client, settings, media):
    settings.MAX_UPLOAD_BYTES = 100_000
    big = Image.effect_noise((400, 400), 64).convert("RGB")
    buffer = io.BytesIO()
    big.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 100_000
    error = assert_error(upload(client, buffer.getvalue()), 413, errors.FILE_TOO_LARGE)
    assert "0.0953674 MB upload limit" in error["message"]
    encoded = base64.b64encode(buffer.getvalue()).decode()
    assert_error(client.post(RECOGNITIONS, {"image_base64": encoded}, format="json"), 413, errors.FILE_TOO_LARGE)
    assert StoredImage.objects.count() == 0
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_a_body_declared_too_large_is_refused_without_reading_it(client, settings):
    settings.MAX_UPLOAD_BYTES = 100_000
    response = client.generic("POST", RECOGNITIONS, b"{}", content_type="application/json", CONTENT_LENGTH="10000000")
    assert_error(response, 413, errors.FILE_TOO_LARGE)


def test_a_cookie_less_client_starts_no_session_and_reads_or_deletes_its_recognition_by_its_url(settings):
    from django.contrib.sessions.models import Session

    settings.ADDRESS_STORAGE_QUOTA_BYTES = len(small_png()) * 3 // 2
    program = APIClient(REMOTE_ADDR="203.0.113.7")
    created = upload(program, small_png())
    assert created.status_code == 202 and "sessionid" not in created.cookies
    assert not Session.objects.exists()
    # The URL it was given works from its address, without a cookie; nobody else's list shows it.
    assert APIClient(REMOTE_ADDR="203.0.113.7").get(created["Location"]).json()["id"] == created.json()["id"]
    assert APIClient(REMOTE_ADDR="198.51.100.9").get(created["Location"]).status_code == 404
    assert APIClient(REMOTE_ADDR="203.0.113.7").get(RECOGNITIONS).json()["count"] == 0
    # Its calls are one owner, within the address's storage quota, not a new owner each time.
    assert_error(upload(APIClient(REMOTE_ADDR="203.0.113.7"), small_png((0, 90, 0))), 413, "storage_quota_exceeded")
    assert upload(APIClient(REMOTE_ADDR="198.51.100.9"), small_png((0, 90, 0))).status_code == 202
    assert APIClient(REMOTE_ADDR="198.51.100.9").delete(created["Location"]).status_code == 404
    assert APIClient(REMOTE_ADDR="203.0.113.7").delete(created["Location"]).status_code == 204
    assert not Session.objects.exists()


def test_anonymous_use_is_refused_when_switched_off(client, settings):
    settings.ALLOW_ANONYMOUS = False
    response = upload(client, small_png())
    assert_error(response, 401, errors.NOT_AUTHENTICATED)
    assert response["WWW-Authenticate"] == "Token"
    assert_error(client.get(RECOGNITIONS), 401, errors.NOT_AUTHENTICATED)


def test_a_token_acts_as_its_user_until_revoked(alice, settings):
    settings.ALLOW_ANONYMOUS = False
    client, key = token_client(alice)
    response = upload(client, small_png())
    assert response.status_code == 202
    assert Recognition.objects.get(pk=response.json()["id"]).image.owner == alice
    assert client.get(response["Location"]).status_code == 200
    assert ApiToken.objects.get(user=alice).last_used_at is not None
    ApiToken.objects.filter(user=alice).delete()
    assert_error(client.get(response["Location"]), 401, errors.AUTHENTICATION_FAILED)
    client.credentials(HTTP_AUTHORIZATION="Token " + key[::-1])
    assert_error(client.get(RECOGNITIONS), 401, errors.AUTHENTICATION_FAILED)


def test_only_the_digest_of_a_key_is_stored(alice):
    token, key = ApiToken.create(alice, "script")
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())


def test_a_session_user_uses_the_api_too(client, alice):
    client.force_login(alice)
    response = upload(client, small_png())
    assert response.status_code == 202
    assert Recognition.objects.get(pk=response.json()["id"]).image.owner == alice


def test_nobody_sees_or_deletes_another_ones_recognitions(alice, client):
    bob = User.objects.create_user("bob", password="another passphrase 2")
    alice_client, _ = token_client(alice)
    bob_client, _ = token_client(bob)
    mine = upload(alice_client, small_png())["Location"]
    for other in (bob_client, client):
        assert_error(other.get(mine), 404, errors.NOT_FOUND)
        assert_error(other.delete(mine), 404, errors.NOT_FOUND)
        assert other.get(RECOGNITIONS).json()["count"] == 0
    assert alice_client.get(RECOGNITIONS).json()["count"] == 1


def test_the_list_is_paginated_and_filtered_by_status_and_label(alice, photo):
    client, _ = token_client(alice)
    ids = [upload(client, photo(name)).json()["id"] for name in ("chelsea.png", "coffee.png", "chelsea.png")]
    for recognition_id in ids[:2]:
        worker.run(recognition_id)
    listing = client.get(RECOGNITIONS + "?page_size=2").json()
    assert listing["count"] == 3 and len(listing["results"]) == 2 and listing["next"]
    assert [r["id"] for r in client.get(RECOGNITIONS + "?status=queued").json()["results"]] == [ids[2]]
    assert [r["id"] for r in client.get(RECOGNITIONS + "?label=espresso").json()["results"]] == [ids[1]]
    assert [r["id"] for r in client.get(RECOGNITIONS + "?label=意大利浓咖啡").json()["results"]] == [ids[1]]
    assert [r["id"] for r in client.get(RECOGNITIONS + "?label=n07920052").json()["results"]] == [ids[1]]
    assert_error(client.get(RECOGNITIONS + "?status=lost"), 400, errors.INVALID_REQUEST)


def test_delete_removes_the_recognition_and_the_stored_file(client, media, django_capture_on_commit_callbacks):
    location = upload(client, small_png())["Location"]
    assert [p for p in media.rglob("*") if p.is_file()]
    with django_capture_on_commit_callbacks(execute=True):  # files go once the delete commits
        assert client.delete(location).status_code == 204
    assert_error(client.get(location), 404, errors.NOT_FOUND)
    assert not [p for p in media.rglob("*") if p.is_file()]
    assert StoredImage.objects.count() == 0


def test_synsets_are_searched_in_any_language(client):
    by_chinese = client.get("/api/v1/synsets?q=虎斑").json()
    assert "n02123045" in [s["wnid"] for s in by_chinese["results"]]
    tabby = client.get("/api/v1/synsets?q=tabby&lang=zh-hans").json()["results"][0]
    assert (tabby["wnid"], tabby["label"]) == ("n02123045", "虎斑猫")
    assert tabby["hierarchy"][0]["name"] == "entity"
    everything = client.get("/api/v1/synsets?page_size=100").json()
    assert everything["count"] == 1000 and len(everything["results"]) == 100
    assert client.get("/api/v1/synsets?q=zzzzzz").json()["count"] == 0


def test_models_are_listed_with_the_default(client):
    models = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert set(models) == {"lite0", "lite2"}
    assert models["lite0"]["default"] and not models["lite2"]["default"]
    assert (models["lite0"]["input_size"], models["lite2"]["input_size"]) == (224, 260)
    # What a client keys its cached answers on: the file the server runs.
    assert models["lite0"]["sha256"] == hashlib.sha256((MODELS_DIR / "efficientnet-lite0-int8.onnx").read_bytes()).hexdigest()


def test_the_default_rates_let_a_person_send_50_photos_in_a_minute(client, alice):
    user_client, _ = token_client(alice)
    for sender in (client, user_client):
        statuses = {upload(sender, small_png()).status_code for _ in range(50)}
        assert statuses == {202}


def test_over_the_rate_the_answer_is_429_with_retry_after(client, alice, settings):
    settings.RATE_ANON = "2/h"
    settings.RATE_USER = "3/h"
    assert [upload(client, small_png()).status_code for _ in range(2)] == [202, 202]
    refused = upload(client, small_png())
    assert_error(refused, 429, errors.RATE_LIMITED)
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert client.get(RECOGNITIONS).status_code == 200  # reading results is not limited
    # Users are counted apart from the anonymous address they share.
    user_client, _ = token_client(alice)
    assert [upload(user_client, small_png()).status_code for _ in range(4)] == [202, 202, 202, 429]
    # Another address has its own count.
    other = APIClient(REMOTE_ADDR="10.1.2.3")
    assert upload(other, small_png()).status_code == 202
    # Without a proxy configured, X-Forwarded-For cannot buy a fresh count.
    assert upload(client, small_png(), HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
