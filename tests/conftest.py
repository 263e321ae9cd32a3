"""Shared test material: open-licence photos and the ImageNet samples in ../shared."""

from pathlib import Path

import pytest
import skimage

REPO = Path(__file__).resolve().parent.parent
IMAGENET_DEV = REPO.parent / "shared" / "data" / "imagenet-dev"
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"


@pytest.fixture(scope="session")
def photo():
    """Bytes of one of scikit-image's bundled photos (BSD licence), by file name."""

    def read(name: str) -> bytes:
        return (SKIMAGE_DATA / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def imagenet_dev() -> Path:
    if not IMAGENET_DEV.is_dir():
        pytest.skip(f"{IMAGENET_DEV} is not here: the ImageNet samples live beside the checkout, never in it")
    return IMAGENET_DEV


@pytest.fixture
def media(settings, tmp_path):
    """A media folder of the test's own, so what a test stored can be looked at."""
    folder = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": folder}}}
    return folder


@pytest.fixture
def static_from_apps(settings):
    """Pages rendered in-process, where collectstatic has not run: static URLs are
    made from the apps' files instead of the manifest."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """API rate-limit counters live in the cache, which outlives a test: each starts at zero."""
    from django.core.cache import cache

    cache.clear()
