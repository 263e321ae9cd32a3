"""Health, readiness and metrics for load balancers and Prometheus; 503 when the database is down."""

import logging
import sys

from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pyvision.api import errors, uploads
from pyvision.celery import app
from pyvision.recognition import idempotency, pipeline

from . import heartbeat
from .metrics import DatabaseCollector

log = logging.getLogger(__name__)



@require_GET
def healthz(request):
    """The process is alive and answering; says nothing of the services behind it."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
def readyz(request):
    """Ready to take uploads: the database, the broker and the storage all answer."""
    checks = {"database": check_database, "broker": check_broker, "storage": check_storage}
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # any failure of a dependency means not ready
            # The reason can name internal hosts and users: it goes to the log only.
            log.warning("readiness: %s unreachable", name, exc_info=True)
            results[name] = "unreachable"
    down = [name for name, result in results.items() if result != "ok"]
    body = {"ready": not down, "checks": results}
    if down:
        body["message"] = f"Not ready: {', '.join(down)} unreachable."
    else:
        # Still ready: answers keep coming, but a monitor should know they may be wrong.
        body["models"] = heartbeat.model_verdicts()
        wrong = [model for model, verdict in body["models"].items() if verdict != "agrees"]
        if wrong:
            body["warnings"] = [f"On a worker's CPU, {', '.join(wrong)} gives other answers than its float "
                                "reference: run `pyvision doctor` there."]
    return JsonResponse(body, status=503 if down else 200)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker():
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def check_storage():
    try:
        default_storage.listdir("")
    except FileNotFoundError:
        pass  # the embedded media folder is made by the first upload


@require_GET
def metrics(request):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def server_error(request):
    """Django's 500 page, except when the database or the S3 store is down: then a 503 that says so."""
    # Imported here: only the S3 storage loads botocore, and only errors come this way.
    from botocore.exceptions import BotoCoreError, ClientError

    error = sys.exc_info()[1]
    # The database went away as the upload committed: it may be saved, and a 503 that
    # said "nothing was saved" would make a client send it again.
    if isinstance(error, idempotency.OutcomeUnknown):
        log.warning("database unreachable while committing an upload: %s", error.__cause__)
        return unavailable(request, errors.MAYBE_SAVED)
    # OperationalError/InterfaceError: the server is down or the connection broke, not a bug.
    if isinstance(error, (OperationalError, InterfaceError)):
        log.warning("database unreachable: %s", error)
        return unavailable(request, errors.DATABASE_UNAVAILABLE)
    if isinstance(error, (BotoCoreError, ClientError)):
        log.warning("image store unreachable: %s", error)
        return unavailable(request, errors.STORAGE_UNAVAILABLE)
    return defaults.server_error(request)


def unavailable(request, code: str, retry_after: int = pipeline.RETRY_AFTER_SECONDS):
    """503 with Retry-After: JSON for the API, a short page for people.

    The page is plain HTML, not a template: templates read the session and the user,
    which live in the database. The rest of an upload's body is read first: a server
    that answers with a body unread resets the connection, and the client sees no
    answer at all.
    """
    uploads.discard_unread_body(request)
    if errors.is_api(request):
        response = errors.error_response(code)
    else:
        message = errors.CODES[code][1]
        response = HttpResponse(f'<!doctype html><title>pyvision</title><p class="error" role="alert">{message}</p>',
                                status=503)
    response["Retry-After"] = str(retry_after)
    return response
