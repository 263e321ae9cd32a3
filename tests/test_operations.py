"""In-process: backpressure, the last attempt, health, readiness and metrics."""

from datetime import timedelta

import pytest
from celery.signals import worker_ready
from django.core.files.base import ContentFile
from django.utils import timezone

from pyvision.ops import heartbeat
from pyvision.recognition import pipeline, worker
from pyvision.recognition.models import Recognition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},  # no collectstatic here
    }


def submit(data: bytes) -> Recognition:
    return pipeline.submit(ContentFile(data, name="photo.png"), session_key="s" * 32)


def test_uploads_over_the_queue_limit_get_503_with_retry_after(client, settings, photo):
    settings.QUEUE_LIMIT = 2
    submit(photo("coffee.png"))
    page = client.post("/upload", {"image": ContentFile(photo("coffee.png"), name="a.png")})
    assert page.status_code == 302  # one queued: under the limit
    refused = client.post("/upload", {"image": ContentFile(photo("coffee.png"), name="b.png")})
    assert refused.status_code == 503
    assert int(refused["Retry-After"]) > 0
    assert "too many photos are waiting" in refused.content.decode()
    assert Recognition.objects.count() == 2
    worker.run(Recognition.objects.first().pk)  # the queue moves on: uploads are taken again
    assert client.post("/upload", {"image": ContentFile(photo("coffee.png"), name="c.png")}).status_code == 302


def test_the_api_answers_503_with_retry_after_over_the_queue_limit(client, settings, photo):
    settings.QUEUE_LIMIT = 1
    submit(photo("coffee.png"))
    refused = client.post("/api/v1/recognitions", {"image": ContentFile(photo("chelsea.png"), name="a.png")})
    assert refused.status_code == 503
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "queue_full"
    assert Recognition.objects.count() == 1


def test_after_the_last_attempt_a_lost_recognition_fails_with_a_reason(settings, photo):
    settings.RECOGNITION_MAX_ATTEMPTS = 3
    long_ago = timezone.now() - timedelta(minutes=10)
    last = submit(photo("coffee.png"))
    retried = submit(photo("coffee.png"))
    Recognition.objects.filter(pk=last.pk).update(status="running", attempts=3, started_at=long_ago)
    Recognition.objects.filter(pk=retried.pk).update(status="running", attempts=2, started_at=long_ago)
    pipeline.requeue_unfinished(timedelta(minutes=1))
    last.refresh_from_db()
    retried.refresh_from_db()
    assert (last.status, last.error_code) == ("failed", "too_many_attempts")
    assert "interrupted 3 times" in last.error_message and last.finished_at
    assert retried.status == "queued"
    worker.run(retried.pk)
    retried.refresh_from_db()
    assert (retried.status, retried.attempts) == ("done", 3)


def test_healthz_and_readyz_in_the_embedded_mode(client):
    assert client.get("/healthz").content == b"ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "broker": "ok", "storage": "ok"}, "models": {}}


@pytest.fixture
def fresh_worker(monkeypatch):
    """A worker process that has loaded no model yet."""
    monkeypatch.setattr(worker, "_models", {})
    monkeypatch.setattr(worker, "_model_checks", {})


def test_a_worker_checks_each_model_on_its_cpu_as_it_loads_it_and_readyz_says_so(client, fresh_worker):
    worker_ready.send(sender=WorkerTimer())  # as Celery does: the default model is loaded
    assert client.get("/readyz").json()["models"] == {"lite0": "agrees"}
    worker.model("lite2")  # as the first recognition with lite2 does
    heartbeat.beat()
    ready = client.get("/readyz").json()
    assert ready["models"] == {"lite0": "agrees", "lite2": "agrees"}
    assert "warnings" not in ready


def test_readyz_warns_when_a_workers_cpu_gives_other_answers(client, caplog, fresh_worker, monkeypatch):
    from pyvision.engine import selfcheck
    from pyvision.engine.classifier import Classifier
    # This worker's lite0 answers like another model: as far from its reference as a
    # saturating CPU, and further.
    real = selfcheck.check
    monkeypatch.setattr(selfcheck, "check", lambda classifier: real(Classifier("lite2"), classifier.spec.name))
    worker_ready.send(sender=WorkerTimer())
    assert "self-check: lite0 DISAGREES with its float reference" in caplog.text
    ready = client.get("/readyz")
    assert ready.status_code == 200  # answers still come; a monitor is told to doubt them
    assert ready.json()["models"] == {"lite0": "disagrees"}
    assert ready.json()["warnings"] == ["On a worker's CPU, lite0 gives other answers than its float reference: "
                                        "run `pyvision doctor` there."]


def test_readyz_names_the_storage_it_cannot_reach(client, settings):
    from tests.live_service import free_port

    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "b", "endpoint_url": f"http://127.0.0.1:{free_port()}", "access_key": "k", "secret_key": "s",
        "region_name": "us-east-1"}}}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    # Which one, but not why: the reason names internal hosts, and goes to the log only.
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "unreachable"}
    assert body["message"] == "Not ready: storage unreachable."


def test_metrics_count_recognitions_by_status_and_model_with_latencies(client, photo):
    done = submit(photo("coffee.png"))
    worker.run(done.pk)
    submit(photo("coffee.png"))
    text = client.get("/metrics").content.decode()
    assert 'pyvision_recognitions{model="lite0",status="done"} 1.0' in text
    assert 'pyvision_recognitions{model="lite0",status="queued"} 1.0' in text
    assert "pyvision_queue_depth 1.0" in text
    assert 'pyvision_recognition_seconds_count{model="lite0"} 1.0' in text
    assert 'pyvision_recognition_seconds_bucket{le="+Inf",model="lite0"} 1.0' in text
    assert 'pyvision_recognition_inference_seconds_bucket{le="60.0",model="lite0"} 1.0' in text
    assert "pyvision_workers_live 0.0" in text


class WorkerTimer:
    """What Celery hands the worker_ready handler: only its timer is used."""

    def __init__(self):
        self.timer = self
        self.repeated = []

    def call_repeatedly(self, seconds, function, args=()):
        # Periodic jobs run through startup.try_later(description, job, ...): name the job.
        job = args[1] if function.__name__ == "try_later" else function
        self.repeated.append((seconds, job.__name__))


@pytest.mark.parametrize("embedded", [True, False])
def test_a_starting_worker_takes_over_only_what_no_live_worker_can_be_running(settings, photo, embedded):
    settings.EMBEDDED_BROKER = embedded
    settings.RECOGNITION_STALE_SECONDS = 60
    running_elsewhere = submit(photo("coffee.png"))
    Recognition.objects.filter(pk=running_elsewhere.pk).update(status="running", attempts=1, started_at=timezone.now())
    sender = WorkerTimer()
    worker_ready.send(sender=sender)
    # Embedded: the only worker is this one, so what is running was interrupted.
    assert Recognition.objects.get(pk=running_elsewhere.pk).status == ("queued" if embedded else "running")
    assert sorted(sender.repeated) == [(5, "beat"), (30, "requeue_unfinished"), (600, "purge"), (600, "purge_anonymous")]
