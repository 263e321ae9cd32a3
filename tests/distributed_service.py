"""The distributed service started for real: `pyvision web` and recognition
workers, each in a folder of its own, sharing only a database server, a broker and an
S3 bucket."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dj_database_url
import requests

from pyvision.recognition.watchdog import EXIT_STARVED
from tests.live_service import LiveService, free_port


class DistributedService(LiveService):
    def __init__(self, root: Path, environment: dict[str, str], workers: int = 2):
        self.root = root
        self.environment = {**os.environ, "DJANGO_SECRET_KEY": "distributed-test-secret", "PYVISION_LOG_LEVEL": "INFO",
                            # The tests read /metrics and /readyz's details as a monitor on this host.
                            "PYVISION_METRICS_ALLOWED_NETWORKS": "127.0.0.1/32", **environment}
        self.database_url = environment["DATABASE_URL"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = self.folder("web")
        self.log = open(root / "web.log", "wb")
        setup = subprocess.run([sys.executable, "-m", "pyvision", "setup"], env=self.process_env("web"),
                               cwd=self.data_dir, capture_output=True, text=True)
        assert setup.returncode == 0, setup.stderr[-3000:]
        self.process = subprocess.Popen([sys.executable, "-m", "pyvision", "web"], env=self.process_env("web"),
                                        cwd=self.data_dir, stdout=self.log, stderr=subprocess.STDOUT)
        self.workers = {}
        self.webs: list[subprocess.Popen] = []
        self.restarted: list[str] = []
        self.stopping = threading.Event()
        # Held to restart a worker, and to stop: no worker starts once the service stops.
        self.supervising = threading.Lock()
        threading.Thread(target=self._restart_exited_workers, daemon=True).start()
        try:
            for index in range(workers):
                self.start_worker(f"worker-{index}")
            self.http = requests.Session()
            self._wait_until_serving()
            self.wait_for_workers(workers)
        except BaseException:
            self.stop()
            raise
        self.http.get(self.url + "/")  # the CSRF cookie, as a browser gets it

    def start_web(self, name: str) -> str:
        """Another web host in a folder of its own, on the same servers; its URL."""
        port = free_port()
        env = {**self.process_env(name), "PORT": str(port)}
        subprocess.run([sys.executable, "-m", "pyvision", "setup"], env=env, cwd=self.folder(name), check=True,
                       capture_output=True)
        log = open(self.root / f"{name}.log", "ab")
        self.webs.append(subprocess.Popen([sys.executable, "-m", "pyvision", "web"], env=env, cwd=self.folder(name),
                                          stdout=log, stderr=subprocess.STDOUT))
        log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    return url
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading
                assert time.monotonic() < deadline, f"{name} did not serve; see {self.root / name}.log"
            time.sleep(0.2)

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def process_env(self, name: str) -> dict[str, str]:
        return {**self.environment, "PYVISION_DATA_DIR": str(self.folder(name) / "data"), "PORT": str(self.port)}

    def start_worker(self, name: str) -> subprocess.Popen:
        """A worker in its own folder: it can reach nothing of the web's on disk."""
        log = open(self.root / f"{name}.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", "pyvision", "worker", "--concurrency", "2"],
                                   env=self.process_env(name), cwd=self.folder(name),
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.workers[name] = process
        return process

    def _restart_exited_workers(self) -> None:
        """As the systemd unit (Restart=always) would: a worker that exits is started
        again, whatever its status. One that the broker stopped feeding exits with
        EXIT_STARVED (counted in ``restarted``); one whose consumer failed as the broker
        went away, with 1. One a test killed (SIGKILL) is the test's to start again."""
        while not self.stopping.wait(0.5):
            with self.supervising:
                for name, process in list(self.workers.items()):
                    exited = process.poll()
                    if exited is not None and exited >= 0 and not self.stopping.is_set():
                        if exited == EXIT_STARVED:
                            self.restarted.append(name)
                        self.start_worker(name)

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.query("SELECT COUNT(*) FROM ops_workerheartbeat")[0][0] < count:
            for name, process in self.workers.items():
                assert process.poll() is None, f"{name} exited; see {self.root / name}.log"
            assert time.monotonic() < deadline, f"fewer than {count} workers ready after {timeout} s"
            time.sleep(0.2)

    def worker_log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def logs_tail(self, lines: int = 40) -> str:
        tails = [super().logs_tail(lines)]
        for name in self.workers:
            exited = self.workers[name].poll()
            tail = "\n".join(self.worker_log(name).splitlines()[-lines:])
            tails.append(f"--- the end of {name}'s log ({'running' if exited is None else f'exited {exited}'}):\n{tail}")
        return "\n".join(tails)

    def stop(self) -> int:
        with self.supervising:
            self.stopping.set()
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        self.process.send_signal(signal.SIGTERM)
        for process in self.webs:
            process.send_signal(signal.SIGTERM)
        try:
            for process in [*self.workers.values(), *self.webs]:
                process.wait(30)
            return self.process.wait(30)
        finally:
            self.log.close()

    def query(self, sql: str, *params):
        """Read the shared database directly, for what the pages do not show."""
        config = dj_database_url.parse(self.database_url)
        if config["ENGINE"].endswith("postgresql"):
            import psycopg

            with psycopg.connect(host=config["HOST"], port=config["PORT"], user=config["USER"],
                                 dbname=config["NAME"], autocommit=True) as db:
                return db.execute(sql.replace("?", "%s"), params).fetchall()
        import MySQLdb

        db = MySQLdb.connect(host=config["HOST"], port=int(config["PORT"]), user=config["USER"], database=config["NAME"])
        try:
            cursor = db.cursor()
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()
        finally:
            db.close()
