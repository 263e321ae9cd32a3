"""An anonymous visitor cannot keep arbitrary bytes: files that are not images leave
storage when their recognition fails (the failed row stays, with its code), and an
owner's stored originals are bounded by a quota, smaller without an account."""

import os

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from pyvision.recognition import worker
from pyvision.recognition.models import Recognition

MB = 1024 * 1024


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def test_random_bytes_from_an_anonymous_browser_are_not_kept(db, media, photo):
    browser = Client()
    files = [SimpleUploadedFile(f"holiday-{n}.jpg", os.urandom(19 * MB)) for n in range(10)]
    response = browser.post("/upload", {"image": files, "model": "lite0"}, headers={"HX-Request": "true"})
    accepted = list(Recognition.objects.all())
    assert accepted and len(accepted) < 10  # the visitor's 100 MB are full before the tenth
    assert "create an account" in response.content.decode()
    for recognition in accepted:
        worker.run(str(recognition.pk))
    assert stored_files(media) == []
    failed = Recognition.objects.filter(status="failed", error_code="not_an_image")
    assert failed.count() == len(accepted)
    # The room is free again: a photo is taken, and kept.
    photo_upload = browser.post("/upload", {"image": SimpleUploadedFile("cat.png", photo("chelsea.png")), "model": "lite0"},
                                headers={"HX-Request": "true"})
    assert photo_upload.status_code == 200 and Recognition.objects.count() == len(accepted) + 1
    first = failed.first()
    assert browser.get(f"/images/{first.image_id}/file").status_code == 404
    assert "not an image" in browser.get(f"/images/{first.image_id}/").content.decode()
    # Sent again (with the other model), it fails clearly, not as an internal error.
    browser.post(f"/images/{first.image_id}/rerun", {"model": "lite2"})
    again = Recognition.objects.get(image_id=first.image_id, model="lite2")
    worker.run(str(again.pk))
    again.refresh_from_db()
    assert (again.status, again.error_code) == ("failed", "file_missing")


def test_a_user_over_the_quota_gets_413_and_keeps_what_was_stored(settings, make_user, photo):
    settings.STORAGE_QUOTA_BYTES = len(photo("chelsea.png")) * 3 // 2
    user, _ = make_user()
    client = APIClient()
    client.force_authenticate(user)
    first = client.post("/api/v1/recognitions", {"image": SimpleUploadedFile("a.png", photo("chelsea.png"))})
    assert first.status_code == 202
    second = client.post("/api/v1/recognitions", {"image": SimpleUploadedFile("b.png", photo("chelsea.png"))})
    assert second.status_code == 413 and second.json()["error"]["code"] == "storage_quota_exceeded"
    assert Recognition.objects.count() == 1
