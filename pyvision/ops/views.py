"""Health, readiness and metrics for load balancers and Prometheus; 503 when the database is down."""

import hmac
import ipaddress
import logging
import sys

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pyvision.api import errors, uploads
from pyvision.celery import app
from pyvision.recognition import idempotency, pipeline

from . import heartbeat, status
from .metrics import DatabaseCollector

log = logging.getLogger(__name__)


def monitoring(request) -> bool:
    """A monitor's request: it carries PYVISION_METRICS_TOKEN as a bearer token, or comes
    from PYVISION_METRICS_ALLOWED_NETWORKS. Behind a proxy the address is the one the
    proxy saw, so that a proxy inside the network does not let the whole internet in."""
    token = settings.METRICS_TOKEN
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode()):
        return True
    forwarded = request.headers.get("X-Forwarded-For", "") if settings.BEHIND_PROXY else ""
    try:
        address = ipaddress.ip_address(forwarded.rsplit(",", 1)[-1].strip() or request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def healthz(request):
    """The process is alive and answering; says nothing of the services behind it."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
def readyz(request):
    """Ready to take uploads: the database, the broker and the storage all answer (else 503).

    Everyone gets the status code and ``ready``, as a load balancer needs; only a monitor
    (see ``monitoring``) gets the rest: "state", "ready", "degraded" (uploads are taken,
    but a monitor should alert: no live worker, a full or slow queue, a model that gives
    other answers on a worker's CPU) or "unavailable", which dependency is down, the
    queue and the workers."""
    checks = {"database": check_database, "broker": check_broker, "storage": check_storage}
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure of a dependency means not ready
            # The reason can name internal hosts and users: it goes to the log only, one
            # line per probe (a load balancer asks every few seconds through an outage).
            first_line = next(iter(str(exc).splitlines()), "")
            log.warning("readiness: %s unreachable: %s %s", name, type(exc).__name__, first_line)
            results[name] = "unreachable"
    down = [name for name, result in results.items() if result != "ok"]
    if down:
        body = {"ready": False, "state": "unavailable", "checks": results,
                "message": f"Not ready: {', '.join(down)} unreachable."}
    else:
        queue, workers = status.queue(), status.workers()
        warnings = status.problems(queue, workers)
        models = heartbeat.model_verdicts()
        wrong = [model for model, verdict in models.items() if verdict != "agrees"]
        if wrong:
            warnings.append(f"On a worker's CPU, {', '.join(wrong)} gives other answers than its float reference: "
                            "run `pyvision doctor` there.")
        body = {"ready": True, "state": "degraded" if warnings else "ready", "checks": results,
                "queue": queue, "workers": {"live": len(workers)}, "models": models}
        if warnings:
            body["warnings"] = warnings
    if not monitoring(request):
        body = {"ready": body["ready"]}
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
    if not monitoring(request):
        return HttpResponseForbidden("Metrics are for monitors: see PYVISION_METRICS_TOKEN.\n", content_type="text/plain")
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
