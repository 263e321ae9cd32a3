"""`pyvision loadtest` on this machine against the embedded mode (`pyvision run`) and the
distributed mode (`pyvision web` + one worker on PostgreSQL, Redis and SeaweedFS, all
started here), at concurrency 1 and 8, with the RSS of each process after the run.

    .venv/bin/python tools/loadtest_modes.py --images ../shared/data/imagenet-dev [--via site] [--requests 200]

Uses the test suite's service harness (tests/services.py), so run it from the checkout.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.distributed_service import DistributedService  # noqa: E402
from tests.live_service import LiveService  # noqa: E402
from tests.services import Postgres, Redis, SeaweedS3  # noqa: E402


# A load test sends hundreds of photos a minute from one address: past the rate limit.
UNLIMITED = {"PYVISION_RATE_ANON": "1000000/min"}


def rss_mb(pids: dict[str, int]) -> dict[str, float]:
    """RSS of each process, its children counted with it."""
    sizes = {}
    for name, pid in pids.items():
        process = psutil.Process(pid)
        sizes[name] = round(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20, 1)
    return sizes


def loadtest(url: str, args, mode: str, concurrency: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", "--url", url, "--images", str(args.images),
                           "--concurrency", str(concurrency), "--requests", str(args.requests), "--mode", mode,
                           "--via", args.via, "--json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def measure(name: str, service, pids, args) -> list[dict]:
    """``pids()``: the processes now, looked up after each run (a worker may have been restarted)."""
    rows = []
    for mode in args.modes:
        for concurrency in (1, 8):
            report = loadtest(service.url, args, mode, concurrency)
            rows.append({"stack": name, **report, "rss_mb": rss_mb(pids())})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--via", choices=("api", "site"), default="api")
    parser.add_argument("--modes", nargs="+", default=["sync", "async"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        root.chmod(0o755)
        embedded = LiveService(root / "embedded", **UNLIMITED)
        try:
            web = next(p for p in psutil.Process(embedded.process.pid).children() if "pyvision.webserver" in p.cmdline())
            measure("embedded", embedded, lambda: {"web": web.pid, "worker": embedded.worker().pid}, args)
        finally:
            embedded.stop()
        servers = []
        try:
            for cls, sub in ((Postgres, "pg"), (Redis, "redis"), (SeaweedS3, "s3")):
                (root / sub).mkdir()
                (root / sub).chmod(0o755)
                servers.append(cls(root / sub))
            postgres, redis, s3 = servers
            (root / "distributed").mkdir()
            distributed = DistributedService(root / "distributed", {
                "DATABASE_URL": postgres.new_database(), "PYVISION_BROKER_URL": redis.url,
                **s3.environment(s3.new_bucket()), **UNLIMITED}, workers=1)
            try:
                measure("distributed", distributed, lambda: {
                    "web": distributed.process.pid, "worker": distributed.workers["worker-0"].pid,
                    "postgres": postgres.process.pid, "redis": redis.process.pid, "seaweedfs": s3.process.pid}, args)
            finally:
                distributed.stop()
        finally:
            for server in servers:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
