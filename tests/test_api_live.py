"""The API on the real embedded service: ?wait returns the finished result, and the
whole hostile corpus leaves the web server and the worker serving."""

import re

import pytest

from tests import bad_images
from tests.live_service import LiveService

CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = LiveService(tmp_path_factory.mktemp("api") / "data", PYVISION_RATE_ANON="40/min")
    yield running
    assert running.stop() == 0


def recognise(service, name: str, data: bytes, wait: int = 30):
    return service.http.post(f"{service.url}/api/v1/recognitions?wait={wait}", files={"image": (name, data)}, timeout=60)


def test_wait_returns_the_finished_recognition(service, photo):
    response = recognise(service, "chelsea.png", photo("chelsea.png"))
    assert response.status_code == 201, response.text[:300]
    result = response.json()
    assert result["status"] == "done" and result["predictions"][0]["wnid"] in CAT_CLASSES
    assert result["timings"]["total_ms"] > 0


def test_the_hostile_corpus_leaves_web_and_worker_serving(service, photo):
    worker = service.worker().pid
    for name, (data, expected) in bad_images.corpus().items():
        response = recognise(service, name, data)
        assert response.status_code == 201, (name, response.status_code, response.text[:300])
        result = response.json()
        assert result["status"] == ("done" if expected == "done" else "failed"), name
        if expected != "done":
            assert result["error"]["code"] == expected, name
    oversized = service.http.post(f"{service.url}/api/v1/recognitions", files={"image": ("big.png", b"\0" * (21 * 1024 * 1024))})
    assert (oversized.status_code, oversized.json()["error"]["code"]) == (413, "file_too_large")
    assert service.worker().pid == worker
    again = recognise(service, "chelsea.png", photo("chelsea.png"))
    assert again.status_code == 201 and again.json()["status"] == "done"


def test_the_docs_and_their_assets_are_served_locally(service):
    page = service.http.get(f"{service.url}/api/docs/", timeout=10)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert len(assets) >= 2
    for asset in assets:
        assert service.http.get(service.url + asset, timeout=10).status_code == 200, asset
    schema = service.http.get(f"{service.url}/api/schema/?format=json", timeout=10).json()
    assert "/api/v1/recognitions" in schema["paths"]


def test_over_the_rate_a_client_gets_429s_not_broken_connections(service, photo):
    # The refusal comes before the upload is read: the rest of the body must still be
    # taken off the connection, or the client sees a reset instead of the answer.
    data = photo("chelsea.png")
    statuses = []
    while statuses.count(429) < 20:
        response = service.http.post(f"{service.url}/api/v1/recognitions", files={"image": ("c.png", data)}, timeout=30)
        statuses.append(response.status_code)
        assert len(statuses) < 100
    assert set(statuses) <= {202, 429}
    assert 0 < int(response.headers["Retry-After"]) <= 60
