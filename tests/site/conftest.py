"""The site through Django's test client: real database, real storage in a temporary
folder, real recognitions by the worker's code (run in-process instead of by Celery)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from pyvision.recognition import worker
from pyvision.recognition.models import Recognition

PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # Static files are served from the apps' folders: collectstatic is `pyvision setup`'s job.
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return tmp_path / "media"


@pytest.fixture
def make_user(db):
    def make(username: str = "ada") -> tuple:
        user = get_user_model().objects.create_user(username, f"{username}@example.org", PASSWORD)
        client = Client()
        client.force_login(user)
        return user, client

    return make


@pytest.fixture
def upload(photo):
    """Upload a photo as the page's script does (one file per request) and recognise it;
    with ``recognise=False`` it stays queued (the web process is told to recognise nothing itself)."""

    def send(client: Client, name: str = "chelsea.png", data: bytes | None = None, recognise: bool = True, **fields):
        with override_settings(**({} if recognise else {"INLINE_MAX_PIXELS": 0})):
            response = client.post("/upload", {"image": _named(name, data or photo(name)), "model": "lite0", **fields},
                                   headers={"HX-Request": "true"})
        assert response.status_code == 200, response.content[:500]
        recognition = Recognition.objects.order_by("-created_at").first()
        if recognise:
            worker.run(str(recognition.pk))
            recognition.refresh_from_db()
        return recognition

    return send


def _named(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
