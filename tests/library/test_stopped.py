"""`pyvision tag` stopped from outside: SIGTERM (`kill`, `timeout`, a shutdown) as Ctrl-C,
and either at once while a server is slow to answer. A real process, sent real signals."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import SKIMAGE_DATA
from tests.library.test_server_failures import MODELS

ROOT = Path(__file__).resolve().parents[2]


def pyvision(*arguments: str) -> subprocess.Popen:
    # Unbuffered: each photo's line is read as it is written, to stop the run at that photo.
    return subprocess.Popen([sys.executable, "-m", "pyvision", *arguments], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(run: subprocess.Popen, signals: tuple[int, ...]) -> None:
    # `kill` twice, or systemd and a person at once: the second lands in the first's cleanup.
    for signum in signals:
        run.send_signal(signum)
        time.sleep(0.002)


def catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & 1 << (signal.SIGTERM - 1))


SIGNALS = {
    "sigterm-thrice": (signal.SIGTERM,) * 3,
    "sigterm-then-ctrl-c": (signal.SIGTERM, signal.SIGINT, signal.SIGTERM),
    "ctrl-c-twice": (signal.SIGINT, signal.SIGINT),
    "sighup-twice": (signal.SIGHUP, signal.SIGHUP),
}


@pytest.mark.parametrize("signals", SIGNALS.values(), ids=SIGNALS.keys())
@pytest.mark.parametrize("after_photos", [None, 7, 33])
def test_a_signal_stops_tag_as_ctrl_c_does_leaving_every_sidecar_whole(tmp_path, after_photos, signals):
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(48):
        shutil.copy(SKIMAGE_DATA / "coffee.png", folder / f"IMG_{n:02}.png")
    # The sidecars of half the photos are there already: theirs are replaced, the others made.
    assert subprocess.run([sys.executable, "-m", "pyvision", "tag", "--xmp", *map(str, sorted(folder.iterdir())[::2])],
                          cwd=ROOT, capture_output=True).returncode == 0
    run = pyvision("tag", "--xmp", "--force", str(folder))
    if after_photos is None:
        while not catches_sigterm(run.pid):  # before that, Python is starting: SIGTERM ends it as any program
            time.sleep(0.005)
        time.sleep(0.05)  # the model is loading
    else:
        for _ in range(after_photos):
            assert run.stdout.readline().strip()
    stop(run, signals)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 128 + signals[0]
    assert "pyvision tag: interrupted" in err and "Traceback" not in err
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []  # no temporary sidecar
    sidecars = list(folder.glob("*.xmp"))
    assert len(sidecars) >= 24
    for sidecar in sidecars:
        assert etree.parse(str(sidecar)).find(".//{urn:pyvision:xmp:1.0/}Model").text == "lite0"


@pytest.fixture
def silent_server():
    """A server that lists its models, then takes each classify request and never answers
    it; requests holds the number of those it got."""
    got = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(MODELS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            got.set()
            time.sleep(120)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_run_ends_at_once_while_the_server_is_silent(silent_server, library, signum):
    url, got = silent_server
    run = pyvision("tag", "--xmp", "--server", url, str(library))
    assert got.wait(30)
    began = time.monotonic()
    run.send_signal(signum)
    try:
        _, err = run.communicate(timeout=5)  # not the minute a request may wait for its answer
    except subprocess.TimeoutExpired:
        run.kill()
        pytest.fail("still running 5 s after the signal")
    assert run.returncode == 128 + signum and time.monotonic() - began < 3
    assert err.strip().endswith("pyvision tag: interrupted: 0 tagged, 0 skipped, 0 failed")
