"""Large images that are small files, on the real service at worker concurrency 2: the
worker stays under 400 MB and the web process does not grow, however often their
cards ask for thumbnails (the worker makes them once, from its own decode)."""

import re
import threading
from pathlib import Path

import psutil
import pytest

from tests import heavy_images
from tests.live_service import LiveService

# The bound. The PNGs and the TIFF are decoded by libvips a strip at a time; the
# JPEG and the WebP at a reduced scale: no picture is held at full size.
WORKER_PEAK_LIMIT_MB = 400
# Uploads pass through the web process; it must not decode any of them.
WEB_GROWTH_LIMIT_MB = 60
IMAGE_LINK = re.compile(r'href="/images/([0-9a-f-]+)/"')


class PeakRss:
    """The largest resident size of some processes, sampled until stopped."""

    def __init__(self, processes):
        self.processes = processes
        self.peak = {p.pid: p.memory_info().rss for p in processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.01):
            for process in self.processes:
                self.peak[process.pid] = max(self.peak[process.pid], process.memory_info().rss)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak


def kernel_peak_rss(process: psutil.Process) -> int:
    """The kernel's high-water mark, which no sampling can miss."""
    status = Path(f"/proc/{process.pid}/status")
    if not status.exists():
        return 0
    kilobytes = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
    return int(kilobytes.group(1)) * 1024 if kilobytes else 0


@pytest.fixture
def service(tmp_path):
    running = LiveService(tmp_path / "data", PYVISION_WORKER_CONCURRENCY="2")
    yield running
    assert running.stop() == 0


def test_large_images_decode_within_the_memory_bound_and_thumbnails_cost_the_web_nothing(service, photo):
    # The model loaded and the page's script asked for a first card, as in normal use.
    first = service.upload("chelsea.png", photo("chelsea.png"))
    assert service.wait_finished([first]) == {first: "done"}
    worker = service.worker()
    web = [p for p in psutil.Process(service.process.pid).children(recursive=True) if p.pid != worker.pid]
    web_before = sum(p.memory_info().rss for p in web)
    images = {"a.png": heavy_images.rgba64_png(), "b.png": heavy_images.rgba64_png(),
              "progressive.jpg": heavy_images.progressive_jpeg(), "cmyk.tif": heavy_images.cmyk_tiff(),
              "large.webp": heavy_images.large_webp()}
    sampler = PeakRss([worker, *web])
    ids = [service.upload(name, data) for name, data in images.items()]
    image_ids = [IMAGE_LINK.search(service.card(i)).group(1) for i in ids]
    # Every card of the page asks for its thumbnail while the photos are recognised.
    for _ in range(3):
        for image_id in image_ids:
            assert service.http.get(f"{service.url}/images/{image_id}/thumbnail", timeout=30).status_code in (200, 404)
    assert service.wait_finished(ids, timeout=300) == dict.fromkeys(ids, "done")
    for image_id in image_ids:
        thumbnail = service.http.get(f"{service.url}/images/{image_id}/thumbnail", timeout=30)
        assert (thumbnail.status_code, thumbnail.headers["Content-Type"]) == (200, "image/jpeg")
    peaks = sampler.stop()
    worker_peak = max(peaks[worker.pid], kernel_peak_rss(worker))
    web_growth = sum(peaks[p.pid] for p in web) - web_before
    print(f"worker peak RSS {worker_peak >> 20} MB; web RSS {web_before >> 20} MB, grew {web_growth >> 20} MB at most")
    assert worker_peak <= WORKER_PEAK_LIMIT_MB * 1024 * 1024
    assert web_growth <= WEB_GROWTH_LIMIT_MB * 1024 * 1024
