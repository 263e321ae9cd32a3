"""`pyvision loadtest` against a small HTTP server that answers as the REST API does
(POST /api/v1/recognitions with ?wait=N -> 201 done or 202 queued; GET one by id).

The real API is built on another branch; this checks the command's requests, polling,
counting and top-1 check against that contract."""

import json
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import SKIMAGE_DATA

# What the fake API "recognises": the class in the file's name, except for one file.
WRONG_FILE = "n07920052_espresso_b.JPEG"


class FakeApi(BaseHTTPRequestHandler):
    recognitions: dict = {}
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers.get("Authorization"), self.headers["Content-Type"]))
        name = body.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
        if name.startswith("broken"):
            return self.reply(503, {"error": {"code": "queue_full", "message": "busy"}})
        wnid = "n02123045" if name == WRONG_FILE else name.split("_")[0]
        recognition_id = str(uuid.uuid4())
        done = {"id": recognition_id, "status": "done", "predictions": [
            {"rank": 2, "wnid": "n01440764", "score": 0.1}, {"rank": 1, "wnid": wnid, "score": 0.8}]}
        if "wait=" in self.path:
            return self.reply(201, done)
        self.recognitions[recognition_id] = [{"id": recognition_id, "status": "queued"}, done]
        self.reply(202, {"id": recognition_id, "status": "queued"})

    def do_GET(self):
        states = self.recognitions[self.path.rsplit("/", 1)[1]]
        self.reply(200, states.pop(0) if len(states) > 1 else states[0])

    def reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    FakeApi.seen.clear()


@pytest.fixture
def images(tmp_path):
    jpeg = (SKIMAGE_DATA / "rocket.jpg").read_bytes()
    for name in ("n07920052_espresso_a.JPEG", WRONG_FILE, "n02123045_tabby.jpg", "holiday.jpeg"):
        (tmp_path / name).write_bytes(jpeg)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def loadtest(*arguments: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", *arguments, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_it_counts_requests_latency_and_top1_matches(api, images, mode):
    report = loadtest("--url", api, "--images", str(images), "--concurrency", "3", "--requests", "8",
                      "--mode", mode, "--token", "secret")
    assert (report["requests"], report["errors"], report["mode"], report["concurrency"]) == (8, 0, mode, 3)
    # 8 requests over 4 JPEGs in name order: each twice; holiday.jpeg has no wnid to check.
    assert (report["checked"], report["top1_matches"]) == (6, 4)
    assert 0 < report["p50_ms"] <= report["p95_ms"] and report["requests_per_second"] > 0
    paths = {path.split("?")[0] for path, _, _ in FakeApi.seen}
    assert paths == {"/api/v1/recognitions"}
    assert all(auth == "Token secret" and content.startswith("multipart/form-data") for _, auth, content in FakeApi.seen)
    assert all(("wait=" in path) == (mode == "sync") for path, _, _ in FakeApi.seen)


def test_refused_uploads_are_counted_as_errors_with_the_reason(api, images):
    (images / "broken.jpg").write_bytes(b"\xff\xd8")
    report = loadtest("--url", api, "--images", str(images), "--requests", "5")
    assert report["errors"] == 1
    assert report["error_examples"] and report["error_examples"][0].startswith("HTTP 503")


def test_a_folder_without_jpegs_is_refused_clearly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", "--url", "http://127.0.0.1:9",
                           "--images", str(tmp_path), "--requests", "1"], capture_output=True, text=True)
    assert done.returncode != 0 and "no JPEG in" in done.stderr


def test_through_the_site_form_on_a_real_embedded_service(tmp_path):
    from tests.live_service import LiveService

    images = tmp_path / "images"
    images.mkdir()
    rocket = (SKIMAGE_DATA / "rocket.jpg").read_bytes()
    (images / "n03773504_missile.jpg").write_bytes(rocket)  # Lite0's top-1 for it
    (images / "n04008634_projectile.jpg").write_bytes(rocket)  # its second guess: counted as a miss
    service = LiveService(tmp_path / "data")
    try:
        report = loadtest("--url", service.url, "--images", str(images), "--via", "site", "--mode", "async",
                          "--concurrency", "2", "--requests", "6")
    finally:
        assert service.stop() == 0
    assert (report["requests"], report["errors"], report["checked"], report["top1_matches"]) == (6, 0, 6, 3)
