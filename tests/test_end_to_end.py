"""The whole embedded service: `pyvision run`, the web page, a real worker on the filesystem broker."""

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

from tests import bad_images
from tests.live_service import ERROR_CODE, LiveService


@pytest.fixture
def service(tmp_path):
    running = LiveService(tmp_path / "data")
    running.http.get(running.url + "/")  # a first visit sets the CSRF cookie, as in a browser
    yield running
    assert running.stop() == 0


def slow_png(seed: int) -> bytes:
    """An 18 MP PNG of about 1.5 MB that takes a noticeable while (~0.3 s) to decode, to
    catch a worker mid-recognition: above the 16 MP the web process recognises itself."""
    y, x = np.mgrid[0:4500, 0:4000]
    pixels = np.stack([(x + seed) % 256, y % 256, (x * y) % 256], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_an_uploaded_photo_gets_its_top5_on_the_page(service, photo):
    recognition_id = service.upload("chelsea.png", photo("chelsea.png"))
    assert service.wait_finished([recognition_id])[recognition_id] == "done"
    card = service.card(recognition_id)
    labels = re.findall(r'<span class="label" title="(n\d{8})">', card)
    assert len(labels) == 5 and labels[0] in {"n02123045", "n02123159", "n02124075"}
    page = service.http.get(f"{service.url}/r/{recognition_id}/").text
    assert "tiger cat" in page or "tabby" in page or "Egyptian cat" in page
    served = service.original(recognition_id)
    assert served.content == photo("chelsea.png") and served.headers["Content-Type"] == "image/png"


def test_another_browser_sees_nothing_of_it(service, photo):
    recognition_id = service.upload("chelsea.png", photo("chelsea.png"))
    service.wait_finished([recognition_id])
    import requests

    stranger = requests.get(f"{service.url}/r/{recognition_id}/", timeout=10)
    assert stranger.status_code == 404


def test_bad_files_fail_clearly_and_the_worker_keeps_serving(service, photo):
    worker_pid = service.worker().pid
    expected = {}
    for name, (data, code) in bad_images.bad_files(photo("coffee.png")).items():
        expected[service.upload(name, data)] = code
    good = service.upload("coffee.png", photo("coffee.png"))
    statuses = service.wait_finished([*expected, good])
    for recognition_id, code in expected.items():
        assert statuses[recognition_id] == "failed"
        assert ERROR_CODE.search(service.card(recognition_id)).group(1) == code
    assert statuses[good] == "done"
    assert service.worker().pid == worker_pid


def test_a_worker_killed_mid_recognition_is_restarted_and_finishes_it(service):
    ids = [service.upload(f"big-{i}.png", slow_png(i)) for i in range(12)]
    deadline = time.monotonic() + 60
    while not service.query("SELECT id FROM recognition_recognition WHERE status = 'running'"):
        assert time.monotonic() < deadline, "no recognition ever started"
        time.sleep(0.01)
    killed = service.worker()
    killed.kill()
    killed.wait(10)
    statuses = service.wait_finished(ids, timeout=180)
    assert set(statuses.values()) == {"done"}
    assert service.worker().pid != killed.pid
    retried = service.query("SELECT COUNT(*) FROM recognition_recognition WHERE attempts >= 2")[0][0]
    assert retried >= 1
    predictions = service.query(
        "SELECT recognition_id, COUNT(*) FROM recognition_prediction GROUP BY recognition_id")
    assert len(predictions) == 12 and {count for _, count in predictions} == {5}
