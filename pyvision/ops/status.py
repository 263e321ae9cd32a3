"""The state of the recognition queue and its workers, for `/readyz` and `pyvision status`.

Every number comes from an indexed query on the queued, running or recent rows, so it
stays cheap however many recognitions the table holds.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from pyvision.recognition import pipeline
from pyvision.recognition.models import Recognition

from . import heartbeat

RECENT = timedelta(hours=1)


def queue() -> dict:
    now = timezone.now()
    queued = Recognition.objects.filter(status=Recognition.Status.QUEUED)
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "depth": pipeline.queue_depth(),
        "limit": settings.QUEUE_LIMIT,
        "oldest_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "running": Recognition.objects.filter(status=Recognition.Status.RUNNING).count(),
        "failed_last_hour": Recognition.objects.filter(status=Recognition.Status.FAILED,
                                                       created_at__gte=now - RECENT).count(),
    }


def recent_failures() -> dict[str, int]:
    """Failures of the last hour by error code, the most frequent first."""
    rows = (Recognition.objects.filter(status=Recognition.Status.FAILED, created_at__gte=timezone.now() - RECENT)
            .values("error_code").annotate(n=Count("pk")).order_by("-n", "error_code"))
    return {row["error_code"]: row["n"] for row in rows}


def workers() -> list[dict]:
    now = timezone.now()
    return [{"name": name, "last_beat_seconds": round((now - last_seen).total_seconds(), 1)}
            for name, last_seen in heartbeat.live().order_by("name").values_list("name", "last_seen")]


def problems(queue: dict, workers: list[dict]) -> list[str]:
    """What a monitor should alert on while the service still takes uploads."""
    found = []
    if not workers:
        found.append("No recognition worker is alive: uploads are queued, and nothing recognises them.")
    if queue["depth"] >= queue["limit"]:
        found.append(f"The queue is full ({queue['depth']} of {queue['limit']}): uploads are refused with 503.")
    if queue["oldest_seconds"] is not None and queue["oldest_seconds"] > settings.QUEUE_DELAY_WARNING_SECONDS:
        found.append(f"The oldest queued recognition has waited {queue['oldest_seconds']:.0f} s"
                     f" (more than {settings.QUEUE_DELAY_WARNING_SECONDS} s): the workers do not keep up.")
    return found
