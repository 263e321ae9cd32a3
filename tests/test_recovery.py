"""What a worker cannot finish comes back within a heartbeat or three: its own attempts
stranded by a database outage, and the work of a worker that stopped beating. A slow
worker that still beats keeps its work."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from pyvision.ops import heartbeat
from pyvision.ops.models import WorkerHeartbeat
from pyvision.recognition import recovery, worker
from pyvision.recognition.models import Recognition
from tests.live_service import free_port
from tests.test_pipeline import submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def running_on(recognition, name: str, started: timedelta = timedelta(minutes=5)) -> None:
    Recognition.objects.filter(pk=recognition.pk).update(
        status="running", attempts=1, worker=name, started_at=timezone.now() - started)


def status(recognition) -> str:
    return Recognition.objects.get(pk=recognition.pk).status


@pytest.fixture
def beating_for_a_while():
    """This worker's beats have gone through for longer than LIVE_WITHIN."""
    heartbeat._beating["since"] = timezone.now() - heartbeat.LIVE_WITHIN - timedelta(seconds=1)
    yield
    heartbeat._beating["since"] = None


def test_a_claim_is_signed_with_the_worker_that_runs_it(photo):
    recognition = submit(photo("coffee.png"))
    worker.run(recognition.pk)
    assert Recognition.objects.get(pk=recognition.pk).worker == recovery.worker_name()


@pytest.mark.usefixtures("beating_for_a_while")
def test_the_next_beat_sends_again_what_this_workers_interrupted_attempts_left_running(
        photo, django_capture_on_commit_callbacks):
    stranded, in_hand = submit(photo("coffee.png")), submit(photo("chelsea.png"))
    running_on(stranded, recovery.worker_name())
    running_on(in_hand, recovery.worker_name())
    with recovery.running(in_hand.pk), django_capture_on_commit_callbacks() as sent:
        heartbeat.beat()
    assert (status(stranded), status(in_hand)) == ("queued", "running")
    assert len(sent) == 1
    worker.run(stranded.pk)
    assert (status(stranded), Recognition.objects.get(pk=stranded.pk).attempts) == ("done", 2)


@pytest.mark.usefixtures("beating_for_a_while")
def test_the_work_of_a_worker_gone_silent_is_sent_again_and_a_slow_live_workers_is_not(
        photo, django_capture_on_commit_callbacks):
    now = timezone.now()
    WorkerHeartbeat.objects.create(name="gone:1", last_seen=now - heartbeat.LIVE_WITHIN - timedelta(seconds=5))
    WorkerHeartbeat.objects.create(name="slow:2", last_seen=now)
    lost, slow = submit(photo("coffee.png")), submit(photo("chelsea.png"))
    running_on(lost, "gone:1")
    running_on(slow, "slow:2", started=timedelta(hours=1))
    # Queued: the silent worker may have taken it from the broker before it died.
    maybe_held = submit(photo("coffee.png"))
    Recognition.objects.filter(pk=maybe_held.pk).update(created_at=now - timedelta(minutes=1))
    with django_capture_on_commit_callbacks() as sent:
        heartbeat.beat()
    assert (status(lost), status(slow), status(maybe_held)) == ("queued", "running", "queued")
    assert len(sent) == 2
    assert set(WorkerHeartbeat.objects.values_list("name", flat=True)) == {"slow:2", recovery.worker_name()}
    # Taken over once: the next beat sends nothing more.
    with django_capture_on_commit_callbacks() as sent_again:
        heartbeat.beat()
    assert sent_again == []


def test_after_a_database_outage_no_worker_is_taken_for_gone_until_all_had_time_to_beat(
        photo, django_capture_on_commit_callbacks):
    heartbeat._beating["since"] = None  # the last beat failed
    WorkerHeartbeat.objects.create(name="late:1", last_seen=timezone.now() - heartbeat.LIVE_WITHIN - timedelta(seconds=5))
    its_work = submit(photo("coffee.png"))
    running_on(its_work, "late:1")
    with django_capture_on_commit_callbacks() as sent:
        heartbeat.beat()
    assert status(its_work) == "running" and sent == []
    heartbeat._beating["since"] = None


def test_a_worker_that_celery_stops_on_an_error_exits_with_its_status(tmp_path):
    # A supervisor that restarts only failures takes an exit 0 for a clean stop. Here
    # Celery gives up on a broker it may not retry: it says "Shutting down" with status 1.
    stops_on_error = ("import sys; from pyvision import service; service.setup_django(); "
                      "from pyvision.celery import app; app.conf.broker_connection_retry_on_startup = False; "
                      "sys.exit(service.run_worker(1))")
    stopped = subprocess.run([sys.executable, "-c", stops_on_error], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYVISION_DATA_DIR": str(tmp_path),
                                  "PYVISION_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert "Shutting down" in stopped.stdout + stopped.stderr
    assert stopped.returncode == 1


def test_a_ctrl_c_while_the_worker_starts_stops_it_as_an_interruption(tmp_path):
    # A real SIGINT, sent as Celery begins to start the worker: before its own handler.
    interrupted_at_start = (
        "import os, signal, sys; from celery.signals import celeryd_init; "
        "celeryd_init.connect(lambda **kwargs: os.kill(os.getpid(), signal.SIGINT), weak=False); "
        "from pyvision import cli; sys.exit(cli.main(['worker']))")
    stopped = subprocess.run([sys.executable, "-c", interrupted_at_start], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "PYVISION_DATA_DIR": str(tmp_path)})
    assert "pyvision worker: interrupted" in stopped.stderr and "Traceback" not in stopped.stderr
    assert stopped.returncode == 130
