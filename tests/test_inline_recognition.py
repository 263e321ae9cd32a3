"""A client that waits (?wait) is answered by the web process itself, as durably as by a
worker: the recognition is stored first, claimed under the web process's name, and
given back to the workers if that process stops beating or its model's queue is full."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.models.query import QuerySet
from django.utils import timezone
from rest_framework.test import APIClient

from pyvision.engine.batcher import QueueFull
from pyvision.recognition import files, finished, inline, pipeline, recovery, worker
from pyvision.recognition.models import Recognition
from tests.test_api import RECOGNITIONS, small_png, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_a_waiting_client_gets_its_result_with_no_worker_and_no_message(photo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = upload(APIClient(), photo("coffee.png"), query="?wait=10")
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["status"] == "done"
    assert body["predictions"][0]["wnid"] == "n07920052"  # espresso
    assert body["timings"]["queue_ms"] >= 0
    recognition = Recognition.objects.get(pk=body["id"])
    assert recognition.worker == recovery.worker_name() and recognition.attempts == 1
    assert recognition.image.thumbnail, "the thumbnail is made from the same decode"
    assert sent == [], "nothing was sent to the workers"


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_answer_of_a_waiting_upload_is_what_reading_it_back_gives(photo, lang):
    # The answer is made from what this request wrote, not read back from the database.
    client = APIClient()
    answered = upload(client, photo("coffee.png"), query="?wait=10", lang=lang)
    assert answered.status_code == 201
    read = client.get(f"{RECOGNITIONS}/{answered.json()['id']}?lang={lang}")
    assert answered.json() == read.json()
    assert answered.json()["hedged"] is not None and len(answered.json()["predictions"]) == 5


@pytest.mark.parametrize("error", [OSError("the storage is away"), OperationalError("the database is away"),
                                   RuntimeError("a bug")])
def test_a_result_whose_writing_failed_is_not_answered_as_done(photo, media, monkeypatch, error):
    # The thumbnail is recorded last, in the result's transaction: it is rolled back, and
    # its file, which no row names, is removed.
    def attach_fails(*args):
        raise error

    monkeypatch.setattr(files, "attach_thumbnail", attach_fails)
    client = APIClient()
    answered = upload(client, photo("coffee.png"), query="?wait=1")
    read = client.get(f"{RECOGNITIONS}/{answered.json()['id']}")
    assert answered.json()["status"] != "done"
    assert answered.json() == read.json()
    assert not list(media.glob("thumbnails/**/*.jpg"))


def test_an_upload_saved_before_the_database_went_away_is_answered_as_saved(photo, monkeypatch):
    # The database goes away as the result is written: the upload is stored (a 503 would
    # have the client send it again), its result not.
    down = []
    fetch, update = QuerySet._fetch_all, QuerySet.update

    def unless_down(real):
        def query(*args, **kwargs):
            if down:
                raise OperationalError("server closed the connection unexpectedly")
            return real(*args, **kwargs)
        return query

    def database_goes_away(*args):
        down.append(True)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(QuerySet, "_fetch_all", unless_down(fetch))
    monkeypatch.setattr(QuerySet, "update", unless_down(update))
    monkeypatch.setattr(files, "attach_thumbnail", database_goes_away)
    monkeypatch.setattr(pipeline, "enqueue", lambda pk: None)
    monkeypatch.setattr(finished, "wait_for", lambda pk, wait: None)
    answered = upload(APIClient(), photo("coffee.png"), query="?wait=1")
    assert answered.status_code == 202
    assert answered.json()["status"] == "running" and answered.json()["hedged"] is None


def test_without_wait_or_above_the_size_the_workers_recognise(settings, django_capture_on_commit_callbacks):
    client = APIClient()
    with django_capture_on_commit_callbacks() as sent:
        no_wait = upload(client, small_png())
    settings.INLINE_MAX_PIXELS = 64 * 48 - 1
    with django_capture_on_commit_callbacks() as sent_too:
        too_large = upload(client, small_png(), query="?wait=1")
    for response, messages in ((no_wait, sent), (too_large, sent_too)):
        assert response.status_code == 202 and response.json()["status"] == "queued"
        assert len(messages) == 1 and Recognition.objects.get(pk=response.json()["id"]).worker == ""


def test_a_truncated_image_fails_with_its_code_at_once():
    # Its header (and so its size) is whole: it is recognised here, and fails here.
    response = upload(APIClient(), small_png()[:60], query="?wait=10")
    assert response.status_code == 201 and response.json()["status"] == "failed"
    assert response.json()["error"]["code"]


def test_a_full_model_queue_hands_the_recognition_to_the_workers(monkeypatch, django_capture_on_commit_callbacks):
    # The queue is full only under a flood; its refusal is what matters here.
    def full(*args, **kwargs):
        raise QueueFull()

    monkeypatch.setattr(inline.batcher("lite0"), "recognize", full)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = upload(APIClient(), small_png(), query="?wait=1")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert len(sent) == 1, "the workers were sent it"
    recognition = Recognition.objects.get(pk=response.json()["id"])
    worker.run(recognition.pk)
    recognition.refresh_from_db()
    assert recognition.status == "done" and recognition.attempts == 2


def test_a_queue_found_full_after_decoding_leaves_no_thumbnail_behind(media, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    # The thumbnail is made from the picture while the model would run: refused by the
    # model's queue, the recognition goes to the workers, and that thumbnail goes too.
    def full(pixels):
        raise QueueFull()

    monkeypatch.setattr(inline.batcher("lite0"), "submit", full)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(APIClient(), small_png(), query="?wait=1")
    assert response.status_code == 202
    assert not list(media.glob("thumbnails/**/*.jpg"))
    monkeypatch.undo()
    worker.run(response.json()["id"])
    recognition = Recognition.objects.select_related("image").get(pk=response.json()["id"])
    assert recognition.status == "done"
    assert [path.relative_to(media).as_posix() for path in media.glob("thumbnails/**/*.jpg")] == [
        recognition.image.thumbnail.name]


@pytest.mark.usefixtures("static_from_apps")
def test_a_page_upload_refused_by_a_full_queue_leaves_no_thumbnail_behind(photo, media, settings, monkeypatch):
    # Without a client waiting, the thumbnail is made before the model's queue is asked.
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    client = Client()
    client.get("/")
    settings.INLINE_MAX_PIXELS = 451 * 300

    def full(pixels):
        raise QueueFull()

    monkeypatch.setattr(inline.batcher("lite0"), "submit", full)
    response = client.post("/upload", {"image": [SimpleUploadedFile("chelsea.png", photo("chelsea.png"))]},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert Recognition.objects.get().status == "queued"
    assert not list(media.glob("thumbnails/**/*.jpg"))


def test_a_web_process_that_died_mid_recognition_loses_nothing(photo):
    from django.core.files.base import ContentFile

    stranded = pipeline.submit(ContentFile(photo("coffee.png"), name="coffee.png"), session_key="s" * 32,
                               claimed_by="gone-host:4242")
    Recognition.objects.filter(pk=stranded.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    resent = recovery.take_over(live=[recovery.worker_name()], silent_since=timezone.now() - timedelta(seconds=30),
                                one_just_gone=False)
    assert resent == 1
    worker.run(stranded.pk)
    stranded.refresh_from_db()
    assert stranded.status == "done" and stranded.attempts == 2


@pytest.mark.usefixtures("static_from_apps")
def test_the_page_gets_its_cards_back_finished_and_large_photos_queued(photo, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    client = Client()
    client.get("/")  # the page: its session exists before the first upload
    settings.INLINE_MAX_PIXELS = 451 * 300  # chelsea.png is 451x300; coffee.png is larger
    response = client.post("/upload", {"image": [SimpleUploadedFile("chelsea.png", photo("chelsea.png")),
                                                 SimpleUploadedFile("coffee.png", photo("coffee.png"))]},
                           headers={"HX-Request": "true"})
    cards = response.content.decode()
    assert response.status_code == 200
    assert cards.count('class="card status-done"') == 1 and cards.count('class="card status-queued"') == 1
    assert [r.status for r in Recognition.objects.order_by("created_at")] == ["done", "queued"]
