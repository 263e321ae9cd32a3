"""`pyvision loadtest` against a real embedded service (`pyvision run`): through the REST
API in both modes with a user's token, and through the site's upload form."""

import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import SKIMAGE_DATA
from tests.live_service import LiveService

@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = LiveService(tmp_path_factory.mktemp("loadtest") / "data", PYVISION_QUEUE_LIMIT="1000")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def token(service):
    return service.create_token("loadtester")


@pytest.fixture
def images(tmp_path):
    coffee = io.BytesIO()
    Image.open(SKIMAGE_DATA / "coffee.png").convert("RGB").save(coffee, "JPEG", quality=90)
    (tmp_path / "n07920052_espresso.jpg").write_bytes(coffee.getvalue())  # espresso by far, on every CPU
    (tmp_path / "n07930864_cup.jpg").write_bytes(coffee.getvalue())  # not what the model says: a miss
    (tmp_path / "holiday.jpeg").write_bytes(coffee.getvalue())  # no wnid in the name: not checked
    (tmp_path / "notes.txt").write_text("not an image, not sent")
    return tmp_path


def loadtest(*arguments: str, exit_status: int = 0) -> dict:
    done = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", *arguments, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == exit_status, done.stderr
    return json.loads(done.stdout)


OWNED_BY_LOADTESTER = ("SELECT COUNT(*) FROM recognition_recognition r JOIN recognition_image i ON r.image_id = i.id "
                      "JOIN auth_user u ON i.owner_id = u.id WHERE u.username = 'loadtester'")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_it_counts_requests_latency_and_top1_matches_through_the_api(service, token, images, mode):
    owned_before = service.query(OWNED_BY_LOADTESTER)[0][0]
    report = loadtest("--url", service.url, "--images", str(images), "--concurrency", "3", "--requests", "9",
                      "--mode", mode, "--token", token)
    assert (report["requests"], report["errors"], report["mode"], report["concurrency"]) == (9, 0, mode, 3)
    # 9 requests over 3 JPEGs: each three times; holiday.jpeg has no wnid to check.
    assert (report["checked"], report["top1_matches"]) == (6, 3)
    assert 0 < report["p50_ms"] <= report["p95_ms"] and report["requests_per_second"] > 0
    # Sent with the user's token, they are the user's.
    assert service.query(OWNED_BY_LOADTESTER)[0][0] == owned_before + 9


def test_classify_mode_measures_the_stateless_endpoint_and_stores_nothing(service, token, images):
    owned_before = service.query(OWNED_BY_LOADTESTER)[0][0]
    report = loadtest("--url", service.url, "--images", str(images), "--concurrency", "2", "--requests", "6",
                      "--mode", "classify", "--token", token)
    assert (report["requests"], report["errors"], report["mode"]) == (6, 0, "classify")
    assert (report["checked"], report["top1_matches"]) == (4, 2)
    assert service.query(OWNED_BY_LOADTESTER)[0][0] == owned_before


def test_a_wrong_token_is_counted_as_errors_with_the_reason(service, images):
    report = loadtest("--url", service.url, "--images", str(images), "--requests", "2", "--token", "not-a-token",
                      exit_status=1)  # every request failed
    assert report["errors"] == 2 and report["statuses"] == {"401": 2}
    assert report["error_examples"][0].startswith("HTTP 401")


def test_rate_limited_answers_are_counted_apart_and_explained(tmp_path_factory, images):
    # Per day: django-ratelimit's windows are fixed to the clock, and both runs must fall in one.
    limited = LiveService(tmp_path_factory.mktemp("limited") / "data", PYVISION_RATE_USER="3/d")
    try:
        token = limited.create_token("hasty")
        arguments = ("--url", limited.url, "--images", str(images), "--requests", "5", "--mode", "classify",
                     "--token", token)
        report = loadtest(*arguments)
        summary = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", *arguments],
                                 capture_output=True, text=True, timeout=120).stdout
    finally:
        assert limited.stop() == 0
    assert report["statuses"] == {"200": 3, "429": 2} and report["rate_limited"] == 2
    # The second run finds the limit spent: all five refused.
    assert "HTTP statuses: 429 x5" in summary and "5 answers were 429: the service's rate limit" in summary


def test_a_folder_without_jpegs_is_refused_clearly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pyvision", "loadtest", "--url", "http://127.0.0.1:9",
                           "--images", str(tmp_path), "--requests", "1"], capture_output=True, text=True)
    assert done.returncode != 0 and "no JPEG in" in done.stderr


def test_through_the_site_form(service, images):
    report = loadtest("--url", service.url, "--images", str(images), "--via", "site", "--mode", "async",
                      "--concurrency", "2", "--requests", "6")
    assert (report["requests"], report["errors"], report["checked"], report["top1_matches"]) == (6, 0, 4, 2)
