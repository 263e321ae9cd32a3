"""In-process: backpressure, the last attempt, health, readiness and metrics."""

import re
import subprocess
from datetime import timedelta

import pytest
from celery.signals import worker_ready
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from pyvision.ops import heartbeat
from pyvision.ops.models import MetricsCheckpoint
from pyvision.recognition import pipeline, startup, worker
from pyvision.recognition.models import Recognition

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "a long random monitoring token"


@pytest.fixture
def monitor(client, settings):
    """Prometheus, or an operator: the client sends the monitoring token."""
    settings.METRICS_TOKEN = METRICS_TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {METRICS_TOKEN}"
    return client


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},  # no collectstatic here
    }


def submit(data: bytes, **options) -> Recognition:
    return pipeline.submit(ContentFile(data, name="photo.png"), session_key="s" * 32, **options)


def test_uploads_over_the_queue_limit_get_503_with_retry_after(client, settings, photo):
    settings.INLINE_MAX_PIXELS = 0  # to the workers' queue, not recognised by the web process at once
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


def test_healthz_and_readyz_in_the_embedded_mode(monitor):
    assert Client().get("/healthz").content == b"ok\n"  # anybody's
    heartbeat.write(model_check={})  # a live worker
    ready = monitor.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True, "state": "ready", "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
        "queue": {"depth": 0, "limit": 1000, "oldest_seconds": None, "running": 0, "failed_last_hour": 0},
        "workers": {"live": 1}, "models": {},
    }


def test_readyz_is_degraded_without_a_live_worker_and_with_a_slow_queue(monitor, settings, photo):
    settings.QUEUE_DELAY_WARNING_SECONDS = 60
    waiting = submit(photo("coffee.png"))
    Recognition.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(seconds=90))
    submit(photo("coffee.png"))
    ready = monitor.get("/readyz")
    assert ready.status_code == 200  # uploads are still taken: a load balancer keeps this host
    body = ready.json()
    assert (body["state"], body["workers"], body["queue"]["depth"]) == ("degraded", {"live": 0}, 2)
    assert 90 <= body["queue"]["oldest_seconds"] < 120
    assert body["warnings"] == [
        "No recognition worker is alive: uploads are queued, and nothing recognises them.",
        "The oldest queued recognition has waited 90 s (more than 60 s): the workers do not keep up.",
    ]
    heartbeat.write(model_check={})
    worker.run(waiting.pk)
    assert monitor.get("/readyz").json()["state"] == "ready"


def test_readyz_is_degraded_while_the_queue_is_full(monitor, settings, photo):
    heartbeat.write(model_check={})
    settings.QUEUE_LIMIT = 1
    submit(photo("coffee.png"))
    body = monitor.get("/readyz").json()
    assert body["state"] == "degraded"
    assert body["warnings"] == ["The queue is full (1 of 1): uploads are refused with 503."]


@pytest.fixture
def fresh_worker(monkeypatch):
    """A worker process that has loaded no model yet."""
    monkeypatch.setattr(worker, "_models", {})
    monkeypatch.setattr(worker, "_model_checks", {})


def test_a_worker_checks_each_model_on_its_cpu_as_it_loads_it_and_readyz_says_so(monitor, fresh_worker):
    worker_ready.send(sender=WorkerTimer())  # as Celery does
    assert monitor.get("/readyz").json()["models"] == {"lite0": "agrees"}
    # Embedded: the web process recognises the clients that wait, so the worker checks
    # the default model in a child process and loads it only for its first recognition.
    assert worker._models == {}
    worker.model("lite2")  # as the first recognition with lite2 does
    heartbeat.beat()
    ready = monitor.get("/readyz").json()
    assert ready["models"] == {"lite0": "agrees", "lite2": "agrees"}
    assert "warnings" not in ready


def test_readyz_warns_when_a_workers_cpu_gives_other_answers(monitor, caplog, fresh_worker, monkeypatch, settings):
    from pyvision.engine import selfcheck
    from pyvision.engine.classifier import Classifier
    settings.INLINE_MAX_PIXELS = 0  # the workers recognise everything: the default model is loaded at start
    # This worker's lite0 answers like another model: as far from its reference as a
    # saturating CPU, and further.
    real = selfcheck.check
    monkeypatch.setattr(selfcheck, "check", lambda classifier: real(Classifier("lite2"), classifier.spec.name))
    worker_ready.send(sender=WorkerTimer())
    assert "self-check: lite0 DISAGREES with its float reference" in caplog.text
    ready = monitor.get("/readyz")
    assert ready.status_code == 200  # answers still come; a monitor is told to doubt them
    assert ready.json()["models"] == {"lite0": "disagrees"}
    assert ready.json()["warnings"] == ["On a worker's CPU, lite0 gives other answers than its float reference: "
                                        "run `pyvision doctor` there."]


def test_a_worker_that_leaves_its_model_unloaded_reports_the_check_setup_made(monitor, caplog, fresh_worker, monkeypatch):
    from pyvision.engine import selfcheck
    from pyvision.engine.classifier import Classifier
    # `pyvision setup` checks lite0 on a CPU where it answers like another model.
    checks = []
    monkeypatch.setattr(selfcheck, "check_apart", lambda model: checks.append(model) or selfcheck.check(
        Classifier("lite2"), model))
    worker.check_ahead()
    worker_ready.send(sender=WorkerTimer())
    assert checks == ["lite0"], "the worker took setup's check"
    assert "self-check: lite0 DISAGREES with its float reference" in caplog.text
    assert monitor.get("/readyz").json()["models"] == {"lite0": "disagrees"}
    assert worker._models == {}


def test_a_worker_whose_check_fails_at_start_still_sweeps(monkeypatch, settings, fresh_worker, photo):
    from pyvision.engine import selfcheck

    settings.EMBEDDED_BROKER = True

    def killed(model):
        raise subprocess.CalledProcessError(-9, ["python", "-m", "pyvision.engine.selfcheck", model])

    monkeypatch.setattr(selfcheck, "check_apart", killed)
    crashed = submit(photo("coffee.png"))
    Recognition.objects.filter(pk=crashed.pk).update(status="running", attempts=1, worker="elsewhere:1",
                                                    started_at=startup.STARTED - timedelta(seconds=1))
    sender = WorkerTimer()
    worker_ready.send(sender=sender)
    assert Recognition.objects.get(pk=crashed.pk).status == "queued"
    assert (30, "requeue_unfinished") in sender.repeated


def unreachable_s3() -> dict:
    from tests.live_service import free_port

    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "b", "endpoint_url": f"http://127.0.0.1:{free_port()}", "access_key": "k", "secret_key": "s",
        "region_name": "us-east-1"}}


def test_readyz_names_the_storage_it_cannot_reach(monitor, settings, caplog):
    settings.STORAGES = {**settings.STORAGES, "default": unreachable_s3()}
    ready = monitor.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    # Which one, but not why: the reason names internal hosts, and goes to the log only.
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "unreachable"}
    assert body["message"] == "Not ready: storage unreachable."
    # ...in one line per probe: a load balancer asks every few seconds through an outage.
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("readiness:")]
    assert line.startswith("readiness: storage unreachable: ") and "Traceback" not in caplog.text


def test_metrics_count_recognitions_by_status_and_model_with_latencies(monitor, photo):
    done = submit(photo("coffee.png"))
    worker.run(done.pk)
    submit(photo("coffee.png"))
    text = monitor.get("/metrics").content.decode()
    assert 'pyvision_recognitions_finished_total{model="lite0",status="done"} 1.0' in text
    assert 'pyvision_recognitions{model="lite0",status="queued"} 1.0' in text
    assert "pyvision_queue_depth 1.0" in text
    assert 'pyvision_recognition_seconds_count{model="lite0"} 1.0' in text
    assert 'pyvision_recognition_seconds_bucket{le="+Inf",model="lite0"} 1.0' in text
    assert 'pyvision_recognition_inference_seconds_bucket{le="60.0",model="lite0"} 1.0' in text
    assert "pyvision_workers_live 0.0" in text
    assert "pyvision_database_up 1.0" in text


def test_metrics_count_each_finished_recognition_once_as_the_checkpoint_advances(monitor, photo):
    def finished(before: timedelta) -> None:
        recognition = submit(photo("coffee.png"))
        worker.run(recognition.pk)
        Recognition.objects.filter(pk=recognition.pk).update(finished_at=timezone.now() - before)

    def counted() -> tuple[str, str]:
        text = monitor.get("/metrics").content.decode()
        return (re.search(r'pyvision_recognitions_finished_total\{model="lite0",status="done"\} (\S+)', text).group(1),
                re.search(r'pyvision_recognition_seconds_count\{model="lite0"\} (\S+)', text).group(1))

    MetricsCheckpoint.objects.update(counted_until=timezone.now() - timedelta(hours=1))  # installed an hour ago
    finished(timedelta(minutes=1))  # settled: goes into the checkpoint
    finished(timedelta(seconds=0))  # too recent: counted live at each scrape, not yet in the checkpoint
    assert counted() == ("2.0", "2.0")
    assert counted() == ("2.0", "2.0")
    assert MetricsCheckpoint.current().totals["finished"] == [["done", "lite0", 1]]
    # A counter does not go down when a photo is deleted.
    Recognition.objects.filter(finished_at__lt=timezone.now() - timedelta(seconds=30)).delete()
    assert counted() == ("2.0", "2.0")
    finished(timedelta(seconds=0))
    assert counted() == ("3.0", "3.0")


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
    Recognition.objects.filter(pk=running_elsewhere.pk).update(
        status="running", attempts=1, worker="elsewhere:1", started_at=startup.STARTED - timedelta(seconds=1))
    claimed_by_the_web_process = submit(photo("coffee.png"), claimed_by="localhost:2")
    sender = WorkerTimer()
    worker_ready.send(sender=sender)
    # Embedded: the only worker is this one, so what was running before it started was interrupted.
    assert Recognition.objects.get(pk=running_elsewhere.pk).status == ("queued" if embedded else "running")
    assert Recognition.objects.get(pk=claimed_by_the_web_process.pk).status == "running"
    assert sorted(sender.repeated) == [(5, "beat"), (5, "check"), (30, "requeue_unfinished"), (600, "purge"),
                                       (600, "purge_anonymous")]


def test_probes_answer_by_ip_over_plain_http_where_pages_are_refused_or_redirected(monitor, client, settings):
    settings.SECURE_SSL_REDIRECT = True
    by_ip = {"HTTP_HOST": "10.0.0.11:8000"}
    heartbeat.write(model_check={})
    assert client.get("/healthz", **by_ip).status_code == 200
    assert monitor.get("/readyz", **by_ip).json()["state"] == "ready"
    assert "pyvision_workers_live 1.0" in monitor.get("/metrics", **by_ip).content.decode()
    assert client.get("/", **by_ip).status_code == 400  # not in ALLOWED_HOSTS
    assert client.get("/").status_code == 301  # to https


def test_metrics_are_refused_without_the_token_or_an_allowed_address(client, settings, photo):
    settings.METRICS_TOKEN = METRICS_TOKEN
    submit(photo("coffee.png"))
    for headers in ({}, {"Authorization": "Bearer a guess"}, {"Authorization": f"Token {METRICS_TOKEN}"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 403 and b"pyvision_" not in refused.content
    assert b"pyvision_queue_depth 1.0" in client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).content


def test_metrics_answer_the_allowed_networks_and_behind_a_proxy_its_client_address(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.1.7").status_code == 403
    # Through a proxy in the allowed network, the client's address is the one that counts.
    settings.BEHIND_PROXY = True
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 200


def test_readyz_tells_anybody_whether_ready_and_only_a_monitor_why(monitor, settings):
    settings.STORAGES = {**settings.STORAGES, "default": unreachable_s3()}
    anybody = Client().get("/readyz")
    assert (anybody.status_code, anybody.json()) == (503, {"ready": False})
    assert monitor.get("/readyz").json()["checks"]["storage"] == "unreachable"
