"""?wait is woken by the worker's announcement of the result, not by asking the database
again and again."""

import threading
import time

import pytest
from django.core.files.base import ContentFile

from pyvision.recognition import finished, pipeline, worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]


@pytest.fixture
def announcements_only(monkeypatch, settings, tmp_path):
    """The embedded mode's sockets, with the safety look at the database pushed past the
    test's patience: only an announcement can end the wait in time."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(finished, "_listener_instance", None)
    monkeypatch.setattr(finished, "LOOK_AGAIN_SECONDS", 60)


def test_a_waiting_request_wakes_when_the_worker_announces_the_result(announcements_only, photo):
    recognition = pipeline.submit(ContentFile(photo("coffee.png"), name="coffee.png"), session_key="s" * 32)
    returned = threading.Event()

    def wait():
        finished.wait_for(recognition.pk, 30)
        returned.set()

    threading.Thread(target=wait, daemon=True).start()
    while not list((finished._socket_dir()).glob("finished-*.sock")):
        time.sleep(0.01)  # the web process's listener is up
    assert not returned.wait(0.3)  # queued: the request waits
    worker.run(str(recognition.pk))  # done, and announced
    assert returned.wait(10)
    recognition.refresh_from_db()
    assert recognition.status == "done"


def test_an_announcement_to_a_process_that_is_gone_is_dropped(announcements_only):
    folder = finished._socket_dir()
    folder.mkdir(parents=True)
    gone = folder / "finished-1-deadbeef.sock"
    gone.touch()  # left behind by a killed web process
    finished.announce("5b0c3f2e-8a7d-4c59-9f43-0d7b1c9e2a11")
    assert not gone.exists()
