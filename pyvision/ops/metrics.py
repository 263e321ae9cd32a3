"""Prometheus metrics that cost the same with a thousand recognitions or a million.

Every web process and worker, on any host, writes to the database, so the numbers are
read from there and are the same whichever web process answers the scrape. Finished
recognitions are counted incrementally: a checkpoint row holds the totals up to a
moment, and each scrape adds only the rows finished since (an index on finished_at).
The checkpoint advances to SETTLED_AFTER before now, so that a result committed a moment
late, with an earlier finished_at than another's, is still counted once.

While the database is down, a scrape answers the last numbers this process read, with
pyvision_database_up 0.
"""

import copy
import logging
from datetime import timedelta

from django.db import InterfaceError, OperationalError
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from pyvision.recognition import pipeline
from pyvision.recognition.models import Recognition

from . import heartbeat
from .models import MetricsCheckpoint

log = logging.getLogger(__name__)

LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The histograms: metric name, help, the field they sum.
HISTOGRAMS = (
    ("pyvision_recognition_seconds", "Time from upload to result of the recognitions done", "total_ms"),
    ("pyvision_recognition_inference_seconds", "Time the model took, per recognition done", "inference_ms"),
)
SETTLED_AFTER = timedelta(seconds=5)
FINISHED = (Recognition.Status.DONE, Recognition.Status.FAILED)
# Named, not "not finished": an IN on the status index stays cheap; a NOT IN reads every row.
UNFINISHED = (Recognition.Status.QUEUED, Recognition.Status.RUNNING)

_last_known: list = []


class DatabaseCollector:
    def collect(self):
        global _last_known
        try:
            families = read()
        except (OperationalError, InterfaceError) as exc:
            log.warning("metrics: database unreachable, answering the last numbers read: %s", exc)
            yield from _last_known
            yield GaugeMetricFamily("pyvision_database_up", "Whether this scrape could read the database", value=0)
            return
        _last_known = families
        yield from families
        yield GaugeMetricFamily("pyvision_database_up", "Whether this scrape could read the database", value=1)


def read() -> list:
    settled_totals, counted_until = finished_totals()
    totals = add(settled_totals, finished_since(counted_until, until=timezone.now()))
    finished = CounterMetricFamily("pyvision_recognitions_finished", "Recognitions finished, by status and model",
                                   labels=["status", "model"])
    for (status, model), count in sorted(totals["finished"].items()):
        finished.add_metric([status, model], count)
    unfinished = GaugeMetricFamily("pyvision_recognitions", "Recognitions queued or running, by status and model",
                                   labels=["status", "model"])
    for row in (Recognition.objects.filter(status__in=UNFINISHED)
                .values("status", "model").annotate(n=Count("pk")).order_by("status", "model")):
        unfinished.add_metric([row["status"], row["model"]], row["n"])
    families = [unfinished, finished]
    for name, documentation, field in HISTOGRAMS:
        histogram = HistogramMetricFamily(name, documentation, labels=["model"])
        for model, (count, total, buckets) in sorted(totals[field].items()):
            histogram.add_metric([model], [(str(bound), n) for bound, n in zip(LATENCY_BUCKETS_SECONDS, buckets)]
                                 + [("+Inf", count)], sum_value=total / 1000)
        families.append(histogram)
    families.append(GaugeMetricFamily("pyvision_queue_depth", "Recognitions waiting for a worker",
                                      value=pipeline.queue_depth()))
    families.append(GaugeMetricFamily("pyvision_workers_live", "Recognition workers heard from recently",
                                      value=heartbeat.live_workers()))
    return families


def finished_totals() -> tuple[dict, object]:
    """The checkpoint's totals, first brought up to SETTLED_AFTER ago, and the moment they count up to."""
    checkpoint = MetricsCheckpoint.current()
    settled = timezone.now() - SETTLED_AFTER
    if checkpoint.counted_until >= settled:
        return from_json(checkpoint.totals), checkpoint.counted_until
    totals = add(from_json(checkpoint.totals), finished_since(checkpoint.counted_until, until=settled))
    # Two scrapes at once: only the first moves the checkpoint, and both answer the same totals.
    MetricsCheckpoint.objects.filter(pk=checkpoint.pk, counted_until=checkpoint.counted_until).update(
        counted_until=settled, totals=to_json(totals))
    return totals, settled


def finished_since(start, until) -> dict:
    """Counts and latency buckets of the recognitions finished in (start, until].

    One query on the finished_at index. Both bounds and no filter on the status: else
    SQLite's planner may read the status index instead, which holds nearly every row.
    """
    rows = Recognition.objects.filter(finished_at__gt=start, finished_at__lte=until)
    aggregates = {}
    for _name, _documentation, field in HISTOGRAMS:
        aggregates[f"{field}_n"] = Count(field)
        aggregates[f"{field}_sum"] = Sum(field)
        aggregates.update({f"{field}_le_{i}": Count("pk", filter=Q(**{f"{field}__lte": bound * 1000}))
                           for i, bound in enumerate(LATENCY_BUCKETS_SECONDS)})
    totals = empty()
    for row in rows.values("status", "model").annotate(n=Count("pk"), **aggregates).order_by():
        if row["status"] not in FINISHED:
            continue  # finished once, then sent to run again
        totals["finished"][(row["status"], row["model"])] = row["n"]
        if row["status"] != Recognition.Status.DONE:
            continue
        for _name, _documentation, field in HISTOGRAMS:
            if row[f"{field}_n"]:
                totals[field][row["model"]] = (row[f"{field}_n"], row[f"{field}_sum"] or 0.0,
                                               [row[f"{field}_le_{i}"] for i in range(len(LATENCY_BUCKETS_SECONDS))])
    return totals


def empty() -> dict:
    return {"finished": {}, **{field: {} for _name, _documentation, field in HISTOGRAMS}}


def add(a: dict, b: dict) -> dict:
    total = copy.deepcopy(a)
    for key, count in b["finished"].items():
        total["finished"][key] = total["finished"].get(key, 0) + count
    for _name, _documentation, field in HISTOGRAMS:
        for model, (count, seconds, buckets) in b[field].items():
            old_count, old_seconds, old_buckets = total[field].get(model, (0, 0.0, [0] * len(buckets)))
            total[field][model] = (old_count + count, old_seconds + seconds,
                                   [x + y for x, y in zip(old_buckets, buckets)])
    return total


def to_json(totals: dict) -> dict:
    return {"finished": [[status, model, n] for (status, model), n in totals["finished"].items()],
            **{field: totals[field] for _name, _documentation, field in HISTOGRAMS}}


def from_json(stored: dict) -> dict:
    totals = empty()
    totals["finished"] = {(status, model): n for status, model, n in stored.get("finished", [])}
    for _name, _documentation, field in HISTOGRAMS:
        totals[field] = {model: tuple(value) for model, value in stored.get(field, {}).items()}
    return totals
