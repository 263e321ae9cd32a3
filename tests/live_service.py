"""`pyvision run` started for real, in a folder of its own, driven over HTTP."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

CREATE_TOKEN = """
from django.contrib.auth import get_user_model
from pyvision.api.models import ApiToken
user = get_user_model().objects.create_user({username!r}, password="a long and unusual passphrase 42")
print(ApiToken.create(user, "tests")[1])
"""
CARD_STATUS = re.compile(r'class="card status-(\w+)"')
ERROR_CODE = re.compile(r'class="error" role="alert"><code>(\w+)</code>')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveService:
    def __init__(self, data_dir: Path, **environment: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir.parent / f"{data_dir.name}.log", "wb")
        env = {**os.environ, "PYVISION_DATA_DIR": str(data_dir), "PORT": str(self.port), **environment}
        self.environment = env
        self.process = subprocess.Popen([sys.executable, "-m", "pyvision", "run"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.http = requests.Session()
        try:
            self._wait_until_serving()
        except BaseException:
            # The test never gets the service to stop: stop it here, not leave it running.
            self.stop()
            raise

    def _wait_until_serving(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pyvision run exited with {self.process.returncode}; see {self.log.name}")
            try:
                if self.http.get(self.url + "/", timeout=2).status_code == 200:
                    # Like the site's own script: the API wants the CSRF token from a
                    # client that carries the session cookie the page gave it.
                    self.http.headers["X-CSRFToken"] = self.http.cookies.get("csrftoken", "")
                    return
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or still loading the site on a busy machine.
                pass
            time.sleep(0.2)
        raise TimeoutError(f"pyvision run did not serve within {timeout} s; see {self.log.name}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.log.close()

    def create_token(self, username: str) -> str:
        """A new user's API key, made as an admin's shell would."""
        code = CREATE_TOKEN.format(username=username)
        done = subprocess.run([sys.executable, "-m", "pyvision", "manage", "shell", "--no-imports", "-c", code],
                              env=self.environment, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def upload(self, name: str, data: bytes, model: str = "lite0") -> str:
        """Upload through the page's form, as a browser without JavaScript would; returns the recognition id."""
        token = self.http.cookies.get("csrftoken")
        response = self.http.post(self.url + "/upload", files={"image": (name, data)}, data={"model": model},
                                  headers={"X-CSRFToken": token, "Referer": self.url + "/"}, allow_redirects=False)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]

    def card(self, recognition_id: str) -> str:
        response = self.http.get(f"{self.url}/r/{recognition_id}/card", timeout=10)
        response.raise_for_status()
        return response.text

    def original(self, recognition_id: str) -> requests.Response:
        """The uploaded file, as the image page links to it."""
        card = self.card(recognition_id)
        image_page = self.http.get(self.url + re.search(r'<a href="(/images/[^"]+/)"', card).group(1)).text
        return self.http.get(self.url + re.search(r'<img class="full" src="([^"]+)"', image_page).group(1))

    def status(self, recognition_id: str) -> str:
        return CARD_STATUS.search(self.card(recognition_id)).group(1)

    def wait_finished(self, ids: list[str], timeout: float = 120) -> dict[str, str]:
        """Poll each result card, as the page does, until every one is done or failed."""
        deadline = time.monotonic() + timeout
        statuses = {}
        while time.monotonic() < deadline:
            statuses = {i: self.status(i) for i in ids}
            if all(s in ("done", "failed") for s in statuses.values()):
                return statuses
            time.sleep(0.2)
        unfinished = {i: s for i, s in statuses.items() if s not in ("done", "failed")}
        raise TimeoutError(f"{len(unfinished)} of {len(ids)} not finished after {timeout} s: {unfinished}\n"
                           f"{self.logs_tail()}")

    def logs_tail(self, lines: int = 60) -> str:
        """The end of what the service logged: what a failed test's report needs."""
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return f"--- the end of {self.log.name}:\n" + "\n".join(text.splitlines()[-lines:])

    def worker(self) -> psutil.Process:
        for child in psutil.Process(self.process.pid).children():
            if "worker" in child.cmdline():
                return child
        raise LookupError("no worker process")

    def query(self, sql: str, *params):
        """Read the service's database directly, for what the pages do not show."""
        with sqlite3.connect(f"file:{self.data_dir / 'pyvision.sqlite3'}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()
