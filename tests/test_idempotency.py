"""Idempotency-Key: an upload sent again with the same key gets the first recognition,
never a second one; another owner's identical key is another upload; the same key
with another body is refused (422)."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from pyvision.api.models import ApiToken
from pyvision.recognition import idempotency, worker
from pyvision.recognition.models import IdempotencyKey, Recognition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

RECOGNITIONS = "/api/v1/recognitions"


def api_client(username: str) -> APIClient:
    user = User.objects.create_user(username, password="a long passphrase 1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.create(user, 'script')[1]}")
    return client


def send(client, data: bytes, key: str | None, query: str = "", **fields):
    image = io.BytesIO(data)
    image.name = "photo.png"
    headers = {idempotency.HEADER: key} if key is not None else {}
    return client.post(RECOGNITIONS + query, {"image": image, **fields}, format="multipart", headers=headers)


def test_the_same_key_gets_the_first_recognition_and_no_second_row(photo):
    client = api_client("alice")
    first = send(client, photo("chelsea.png"), "upload-1")
    again = send(client, photo("chelsea.png"), "upload-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"] and again["Location"] == first["Location"]
    assert Recognition.objects.count() == 1
    # Once it is finished, a retry says so as the first answer would now: 201, done.
    worker.run(first.json()["id"])
    late = send(client, photo("chelsea.png"), "upload-1", query="?wait=1")
    assert late.status_code == 201 and late.json()["id"] == first.json()["id"] and late.json()["status"] == "done"
    assert Recognition.objects.count() == 1


def test_without_a_key_or_with_another_key_each_upload_is_new(photo):
    client = api_client("alice")
    send(client, photo("chelsea.png"), None)
    send(client, photo("chelsea.png"), None)
    send(client, photo("chelsea.png"), "a")
    send(client, photo("chelsea.png"), "b")
    assert Recognition.objects.count() == 4


def test_another_owners_identical_key_is_another_upload(photo):
    alice, bob = api_client("alice"), api_client("bob")
    mine = send(alice, photo("chelsea.png"), "same-key").json()["id"]
    theirs = send(bob, photo("chelsea.png"), "same-key").json()["id"]
    assert mine != theirs and Recognition.objects.count() == 2
    assert bob.get(f"{RECOGNITIONS}/{mine}").status_code == 404


def test_the_same_key_with_another_body_is_refused_with_422(photo):
    client = api_client("alice")
    send(client, photo("chelsea.png"), "k")
    other_image = send(client, photo("coffee.png"), "k")
    other_fields = send(client, photo("chelsea.png"), "k", top_k="3")
    for refused in (other_image, other_fields):
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert Recognition.objects.count() == 1


@pytest.mark.parametrize("same_body", [True, False])
def test_a_key_sent_twice_at_the_same_moment_answers_as_a_retry_and_leaves_no_file(photo, media, monkeypatch, same_body):
    """The second request looked for the key before the first one committed: it finds
    it only on saving, against the key's unique index."""
    client = api_client("alice")
    first = send(client, photo("chelsea.png"), "k")
    monkeypatch.setattr("pyvision.api.views.earlier_recognition", lambda request, key, print_: None)
    second = send(client, photo("chelsea.png" if same_body else "coffee.png"), "k")
    if same_body:
        assert second.status_code == 202 and second.json()["id"] == first.json()["id"]
    else:
        assert second.status_code == 422 and second.json()["error"]["code"] == "idempotency_key_reused"
    assert Recognition.objects.count() == 1
    # The second upload's file, stored before the key was found, is gone with its rows.
    assert [path.name for path in media.rglob("*") if path.is_file()] == [Recognition.objects.get().image.file.name.rsplit("/", 1)[-1]]


def test_a_waiting_request_that_finds_the_key_on_saving_leaves_the_recognition_to_the_first(photo, media, monkeypatch):
    """The first, sent without ?wait, queued it for the workers: the second, which would have
    recognised its own upload while its client waits, has no claim on the first's."""
    client = api_client("alice")
    first = send(client, photo("chelsea.png"), "k")
    monkeypatch.setattr("pyvision.api.views.earlier_recognition", lambda request, key, print_: None)
    second = send(client, photo("chelsea.png"), "k", query="?wait=1")
    assert second.status_code == 202 and second.json()["id"] == first.json()["id"]
    assert Recognition.objects.get().status == Recognition.Status.QUEUED
    assert [path for path in media.rglob("*") if path.is_file() and "thumbnail" in path.name] == []


def test_a_key_from_an_anonymous_session_is_the_sessions(photo):
    browser = APIClient()
    browser.session.save()  # the session the site's first page gives
    first = send(browser, photo("chelsea.png"), "k").json()["id"]
    assert send(browser, photo("chelsea.png"), "k").json()["id"] == first
    assert send(APIClient(), photo("chelsea.png"), "k").json()["id"] != first


def test_a_key_from_a_cookie_less_client_is_its_addresses(photo):
    first = send(APIClient(REMOTE_ADDR="203.0.113.7"), photo("chelsea.png"), "k").json()["id"]
    assert send(APIClient(REMOTE_ADDR="203.0.113.7"), photo("chelsea.png"), "k").json()["id"] == first
    assert send(APIClient(REMOTE_ADDR="198.51.100.9"), photo("chelsea.png"), "k").json()["id"] != first


def test_a_key_older_than_a_day_is_forgotten(photo):
    client = api_client("alice")
    first = send(client, photo("chelsea.png"), "k").json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - idempotency.KEPT_FOR - timedelta(minutes=1))
    assert send(client, photo("coffee.png"), "k").json()["id"] != first
    assert Recognition.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - idempotency.KEPT_FOR - timedelta(minutes=1))
    assert idempotency.purge() == 1 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 256])
def test_an_empty_or_overlong_key_is_a_bad_request(photo, key):
    answer = send(api_client("alice"), photo("chelsea.png"), key)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_request"
    assert "Idempotency-Key" in answer.json()["error"]["message"]
    assert not Recognition.objects.exists()


@pytest.mark.usefixtures("static_from_apps")
def test_the_site_upload_takes_the_key_too(photo):
    client = Client()
    client.get("/")

    def post(data: bytes, key: str):
        image = io.BytesIO(data)
        image.name = "photo.png"
        return client.post("/upload", {"image": image, "model": "lite0"},
                           headers={"HX-Request": "true", idempotency.HEADER: key})

    first = post(photo("chelsea.png"), "form-1")
    again = post(photo("chelsea.png"), "form-1")
    assert first.status_code == again.status_code == 200
    assert Recognition.objects.count() == 1
    assert str(Recognition.objects.get().pk) in again.content.decode()
    assert post(photo("coffee.png"), "form-1").status_code == 422
    assert Recognition.objects.count() == 1
