"""`pyvision status`: what an operator sees of the queue and the workers from a shell."""

import json

import pytest
from django.core.files.base import ContentFile

from pyvision import cli
from pyvision.ops import heartbeat
from pyvision.recognition import pipeline, recovery, worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}}


def submit(data: bytes):
    return pipeline.submit(ContentFile(data, name="photo.png"), session_key="s" * 32)


def status(capsys, *arguments) -> tuple[int, str]:
    code = cli.main(["status", *arguments])
    return code, capsys.readouterr().out


def test_it_shows_the_queue_the_workers_and_the_failures_by_code(capsys, photo):
    worker.run(submit(b"not an image at all").pk)
    worker.run(submit(b"").pk)
    submit(photo("coffee.png"))
    heartbeat.write(model_check={})
    code, out = status(capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["problems"] == []
    assert (report["queue"]["depth"], report["queue"]["running"]) == (1, 0)
    assert [w["name"] for w in report["workers"]] == [recovery.worker_name()]
    assert report["failures_last_hour"] == {"empty_file": 1, "not_an_image": 1}
    code, text = status(capsys)
    assert "1 of 1000 queued" in text and "1 live" in text and "2 failed" in text and "not_an_image   1" in text


def test_it_exits_1_and_says_why_when_no_worker_is_alive(capsys):
    code, text = status(capsys)
    assert code == 1
    assert "PROBLEM       No recognition worker is alive" in text
