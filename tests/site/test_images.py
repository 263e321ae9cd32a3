"""Uploads, live results, the image page and its actions, and who may see them."""

import io
import re

import pytest
from django.test import Client
from PIL import Image

from pyvision.recognition.models import Image as StoredImage
from pyvision.recognition.models import Recognition

CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}


def gps_jpeg(photo) -> bytes:
    """A JPEG with EXIF GPS coordinates, as phones write them."""
    picture = Image.open(io.BytesIO(photo("chelsea.png"))).convert("RGB")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_an_upload_shows_its_status_then_its_top5_without_reloading(make_user, upload):
    _, client = make_user()
    queued = upload(client, recognise=False)
    card = client.get(f"/r/{queued.pk}/card").content.decode()
    assert 'class="card status-queued"' in card and "hx-get" in card  # the card polls itself
    from pyvision.recognition import worker

    worker.run(str(queued.pk))
    card = client.get(f"/r/{queued.pk}/card").content.decode()
    assert 'class="card status-done"' in card and "hx-get" not in card
    assert len(re.findall(r'class="label" title="n\d{8}"', card)) == 5
    assert re.search(r"waited \d+ ms in the queue · recognised in \d+ ms", card)


def test_the_image_page_shows_the_result_hierarchy_note_and_model(make_user, upload):
    _, client = make_user()
    recognition = upload(client, note="On the sofa")
    page = client.get(f"/images/{recognition.image_id}/").content.decode()
    top = re.search(r'class="label" title="(n\d{8})"', page).group(1)
    assert top in CAT_CLASSES
    assert "carnivore › feline › cat › domestic cat" in page
    assert "On the sofa" in page and "lite0" in page
    assert "Run again with EfficientNet-Lite2: more accurate" in page
    assert f'src="/images/{recognition.image_id}/file"' in page


def test_the_owner_gets_the_original_and_a_thumbnail_without_gps(make_user, upload, photo):
    _, client = make_user()
    original = gps_jpeg(photo)
    recognition = upload(client, name="gps.jpg", data=original)
    served = client.get(f"/images/{recognition.image_id}/file")
    assert b"".join(served.streaming_content) == original
    assert served["Content-Type"] == "image/jpeg" and served["Cache-Control"].startswith("private")
    thumbnail = client.get(f"/images/{recognition.image_id}/thumbnail")
    small = Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert small.format == "JPEG" and max(small.size) <= 480
    assert not small.getexif() and "exif" not in small.info
    stored = StoredImage.objects.get(pk=recognition.image_id).thumbnail.name
    client.get(f"/images/{recognition.image_id}/thumbnail")
    assert StoredImage.objects.get(pk=recognition.image_id).thumbnail.name == stored  # made once


@pytest.mark.parametrize("method, path", [
    ("get", "/images/{image}/"), ("get", "/images/{image}/file"), ("get", "/images/{image}/thumbnail"),
    ("post", "/images/{image}/note"), ("post", "/images/{image}/delete"), ("post", "/images/{image}/rerun"),
    ("get", "/r/{recognition}/"), ("get", "/r/{recognition}/card"), ("get", "/demo/{image}/thumbnail"),
])
def test_another_user_and_another_browser_get_404(make_user, upload, method, path):
    _, owner = make_user("ada")
    _, stranger = make_user("bob")
    recognition = upload(owner)
    url = path.format(image=recognition.image_id, recognition=recognition.pk)
    for other in (stranger, Client()):
        data = {"note": "mine now", "model": "lite2"} if method == "post" else {}
        assert getattr(other, method)(url, data).status_code == 404
    image = StoredImage.objects.get(pk=recognition.image_id)
    assert image.note == "" and image.recognitions.count() == 1


def test_an_anonymous_session_sees_only_its_own_results(db, upload):
    first, second = Client(), Client()
    mine = upload(first)
    assert first.get(f"/images/{mine.image_id}/").status_code == 200
    assert second.get(f"/images/{mine.image_id}/").status_code == 404
    assert str(mine.image_id) not in second.get("/images/").content.decode()
    assert str(mine.pk) not in second.get("/").content.decode()


def test_the_note_is_editable_up_to_1000_characters(make_user, upload):
    _, client = make_user()
    recognition = upload(client)
    url = f"/images/{recognition.image_id}/note"
    response = client.post(url, {"note": "x" * 1001}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "limit is 1000" in response.content.decode()
    response = client.post(url, {"note": "Taken at home"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Saved." in response.content.decode()
    assert StoredImage.objects.get(pk=recognition.image_id).note == "Taken at home"


def test_delete_removes_the_image_its_results_and_its_files(make_user, upload, media, django_capture_on_commit_callbacks):
    _, client = make_user()
    recognition = upload(client)
    client.get(f"/images/{recognition.image_id}/thumbnail")
    image = StoredImage.objects.get(pk=recognition.image_id)
    files = [media / image.file.name, media / image.thumbnail.name]
    assert all(f.exists() for f in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/images/{image.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/images/"
    assert not StoredImage.objects.filter(pk=image.pk).exists()
    assert not Recognition.objects.filter(pk=recognition.pk).exists()
    assert not any(f.exists() for f in files)


def test_run_again_with_the_other_model(make_user, upload):
    _, client = make_user()
    recognition = upload(client)
    response = client.post(f"/images/{recognition.image_id}/rerun", {"model": "lite2"})
    assert response.status_code == 302
    again = Recognition.objects.exclude(pk=recognition.pk).get(image=recognition.image_id)
    assert again.model == "lite2" and again.status == "queued"
    refused = client.post(f"/images/{recognition.image_id}/rerun", {"model": "<svg onload=alert(1)>"})
    # What was sent comes back as text, never as markup.
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/plain")


def test_a_file_over_the_limit_is_refused_by_name_and_the_others_go_on(make_user, photo, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    _, client = make_user()
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("huge.png", b"\0" * (1024 * 1024 + 1))
    small = SimpleUploadedFile("coffee.png", photo("coffee.png"))
    response = client.post("/upload", {"image": [big, small]}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "huge.png is over the 1.0\xa0MB limit." in response.content.decode()
    assert StoredImage.objects.get().original_name == "coffee.png"
    alone = client.post("/upload", {"image": SimpleUploadedFile("huge.png", b"\0" * (1024 * 1024 + 1))},
                        headers={"HX-Request": "true"})
    assert alone.status_code == 400 and "huge.png" in alone.content.decode()
    assert StoredImage.objects.count() == 1


def test_each_file_counts_against_the_rate_limit_and_the_queue(make_user, photo, settings):
    from django.core.cache import cache
    from django.core.files.uploadedfile import SimpleUploadedFile

    cache.clear()
    # Photos the web process recognises at once are never queued: these go to the workers.
    settings.INLINE_MAX_PIXELS = 0
    settings.RATE_USER = "2/h"
    _, client = make_user()
    batch = [SimpleUploadedFile(f"{i}.png", photo("coffee.png")) for i in range(3)]
    limited = client.post("/upload", {"image": batch}, headers={"HX-Request": "true"})
    assert limited.status_code == 200 and StoredImage.objects.count() == 2  # the third waits
    assert "Too many photos at once" in limited.content.decode() and int(limited["Retry-After"]) > 0
    assert client.post("/upload", {"image": SimpleUploadedFile("4.png", photo("coffee.png"))},
                       headers={"HX-Request": "true"}).status_code == 429
    cache.clear()
    settings.RATE_USER, settings.QUEUE_LIMIT = "100/min", 3  # two are queued already
    batch = [SimpleUploadedFile(f"{i}.png", photo("coffee.png")) for i in range(3)]
    busy = client.post("/upload", {"image": batch}, headers={"HX-Request": "true"})
    assert StoredImage.objects.count() == 3 and "too many photos are waiting" in busy.content.decode()
    rerun = client.post(f"/images/{StoredImage.objects.first().pk}/rerun", {"model": "lite2"})
    assert rerun.status_code == 503 and int(rerun["Retry-After"]) > 0


def test_a_long_note_on_upload_is_refused(make_user, photo):
    _, client = make_user()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/upload", {"image": SimpleUploadedFile("c.png", photo("coffee.png")), "note": "n" * 1001},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400 and not StoredImage.objects.exists()


def test_csrf_is_enforced(make_user, photo):
    user, _ = make_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert client.post("/upload", {"image": SimpleUploadedFile("c.png", photo("coffee.png"))}).status_code == 403
    assert not StoredImage.objects.exists()
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/upload", {"image": SimpleUploadedFile("c.png", photo("coffee.png"))},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_without_anonymous_use_uploads_need_an_account(db, photo, settings):
    settings.ALLOW_ANONYMOUS = False
    client = Client()
    assert "to recognise your photos" in client.get("/").content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/upload", {"image": SimpleUploadedFile("c.png", photo("coffee.png"))})
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    assert not StoredImage.objects.exists()


def test_a_note_with_a_nul_character_is_refused_with_a_reason(make_user, upload, photo):
    _, client = make_user()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/upload", {"image": SimpleUploadedFile("c.png", photo("coffee.png")), "note": "a\x00b"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert not StoredImage.objects.exists()
    recognition = upload(client, recognise=False)
    response = client.post(f"/images/{recognition.image_id}/note", {"note": "a\x00b"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert StoredImage.objects.get(pk=recognition.image_id).note == ""
