"""How long a /metrics scrape takes over many recognitions (default 1,000,000), on SQLite
in a temporary data folder or on the database PYVISION_DATABASE_URL names (an empty one).

    .venv/bin/python tools/bench_metrics.py [ROWS]

The rows finished over the last 30 days. The first scrape catches the checkpoint up from
before all of them, once; later scrapes count only what finished since the one before.
"""

import os
import random
import sys
import tempfile
import time
from datetime import timedelta


def main(rows: int) -> None:
    os.environ.setdefault("PYVISION_DATA_DIR", tempfile.mkdtemp(prefix="pyvision-bench-metrics-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "pyvision.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from pyvision.ops.models import MetricsCheckpoint
    from pyvision.recognition.models import Image, Recognition

    call_command("migrate", verbosity=0)
    now = timezone.now()
    image = Image.objects.create(file="images/bench", size=1)
    started = time.perf_counter()
    for first in range(0, rows, 10_000):
        batch = []
        for _ in range(min(10_000, rows - first)):
            finished = now - timedelta(seconds=random.uniform(10, 30 * 86400))
            total = random.uniform(10, 2000)
            batch.append(Recognition(image=image, model=random.choice(("lite0", "lite2")),
                                     status=random.choice(("done",) * 19 + ("failed",)), created_at=finished,
                                     finished_at=finished, total_ms=total, inference_ms=total / 3))
        Recognition.objects.bulk_create(batch)
    print(f"{rows} recognitions written in {time.perf_counter() - started:.0f} s")
    MetricsCheckpoint.objects.update(counted_until=now - timedelta(days=31), totals={})

    client = Client(SERVER_NAME="localhost")

    def scrape() -> float:
        started = time.perf_counter()
        response = client.get("/metrics")
        assert response.status_code == 200, response.status_code
        return (time.perf_counter() - started) * 1000

    print(f"first scrape, catching up on all of them once: {scrape():.0f} ms")
    times = []
    for _ in range(5):
        Recognition.objects.bulk_create([Recognition(image=image, model="lite0", status="done", finished_at=timezone.now(),
                                                     total_ms=50, inference_ms=10) for _ in range(100)])
        times.append(scrape())
    print("then, with 100 more finished before each: " + ", ".join(f"{t:.1f}" for t in times) + " ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
