"""Prometheus metrics, read from the database at each scrape.

The database is the one place every web process and every worker, on any host, writes
to; reading the numbers from it makes them the same whichever web process answers the
scrape, with no per-process state to merge.
"""

from django.db.models import Count, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from pyvision.recognition import pipeline
from pyvision.recognition.models import Recognition

from . import heartbeat

LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DatabaseCollector:
    def collect(self):
        by_status = GaugeMetricFamily("pyvision_recognitions", "Recognitions by status and model",
                                      labels=["status", "model"])
        for row in Recognition.objects.values("status", "model").annotate(n=Count("pk")).order_by():
            by_status.add_metric([row["status"], row["model"]], row["n"])
        yield by_status
        yield latency_histogram("pyvision_recognition_seconds",
                                "Time from upload to result of the recognitions done", "total_ms")
        yield latency_histogram("pyvision_recognition_inference_seconds",
                                "Time the model took, per recognition done", "inference_ms")
        yield GaugeMetricFamily("pyvision_queue_depth", "Recognitions waiting for a worker",
                                value=pipeline.queue_depth())
        yield GaugeMetricFamily("pyvision_workers_live", "Recognition workers heard from recently",
                                value=heartbeat.live_workers())


def latency_histogram(name: str, documentation: str, field: str) -> HistogramMetricFamily:
    histogram = HistogramMetricFamily(name, documentation, labels=["model"])
    buckets = {f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": bound * 1000}))
               for i, bound in enumerate(LATENCY_BUCKETS_SECONDS)}
    rows = (Recognition.objects.filter(status=Recognition.Status.DONE, **{f"{field}__isnull": False})
            .values("model").annotate(n=Count("pk"), total=Sum(field), **buckets).order_by())
    for row in rows:
        histogram.add_metric(
            [row["model"]],
            [(str(bound), row[f"le_{i}"]) for i, bound in enumerate(LATENCY_BUCKETS_SECONDS)] + [("+Inf", row["n"])],
            sum_value=(row["total"] or 0) / 1000,
        )
    return histogram
