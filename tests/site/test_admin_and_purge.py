"""The admin's pages and actions, and the purge of anonymous uploads."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from pyvision.recognition.models import Image, Recognition
from pyvision.synsets.models import Synset


def admin_client(db):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "root passphrase 123")
    client = Client()
    client.force_login(admin)
    return client


def test_the_admin_retries_failed_recognitions_and_marks_demos(make_user, upload):
    _, owner = make_user()
    failed = upload(owner, "broken.png", data=b"not an image at all")
    assert failed.status == "failed"
    client = admin_client(None)
    assert client.get("/admin/recognition/recognition/?status__exact=failed").status_code == 200
    response = client.post("/admin/recognition/recognition/", {"action": "retry", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.error_code, failed.attempts) == ("queued", "", 0)  # a fresh start
    image = failed.image
    changed = client.post(f"/admin/recognition/image/{image.pk}/change/", {
        "note": "", "is_demo": "on",
        "recognitions-TOTAL_FORMS": "1", "recognitions-INITIAL_FORMS": "1",
        "recognitions-MIN_NUM_FORMS": "0", "recognitions-MAX_NUM_FORMS": "1000",
        "recognitions-0-id": str(failed.pk), "recognitions-0-image": str(image.pk)})
    assert changed.status_code == 302
    assert Image.objects.get(pk=image.pk).is_demo


def test_a_user_deleted_in_the_admin_leaves_no_file_in_storage(make_user, upload, media,
                                                               django_capture_on_commit_callbacks):
    user, owner = make_user()
    recognition = upload(owner, "chelsea.png")
    assert owner.get(f"/images/{recognition.image_id}/thumbnail").status_code == 200
    assert len([p for p in media.rglob("*") if p.is_file()]) == 2  # the original and its thumbnail
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client(None).post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Image.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_the_admin_edits_class_names(db):
    client = admin_client(db)
    assert client.get("/admin/synsets/synset/?q=espresso").status_code == 200
    espresso = Synset.objects.get(wnid="n07920052")
    names = {**espresso.names, "zh-hans": "浓缩咖啡"}
    import json

    response = client.post(f"/admin/synsets/synset/{espresso.pk}/change/", {"names": json.dumps(names)})
    assert response.status_code == 302
    assert Synset.objects.get(pk=espresso.pk).label("zh-hans") == "浓缩咖啡"


def test_anonymous_uploads_are_purged_with_their_files_after_the_retention_time(
        make_user, upload, media, settings, django_capture_on_commit_callbacks):
    settings.ANONYMOUS_RETENTION_HOURS = 24
    browser = Client()
    old = upload(browser, "chelsea.png")
    browser.get(f"/images/{old.image_id}/thumbnail")
    recent = upload(browser, "coffee.png", recognise=False)
    _, client = make_user()
    owned = upload(client, "rocket.jpg", recognise=False)
    Image.objects.filter(pk__in=[old.image_id, owned.image_id]).update(created_at=timezone.now() - timedelta(hours=25))
    image = Image.objects.get(pk=old.image_id)
    files = [media / image.file.name, media / image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_anonymous")
    assert not Image.objects.filter(pk=old.image_id).exists() and not any(f.exists() for f in files)
    assert not Recognition.objects.filter(pk=old.pk).exists()
    assert Image.objects.filter(pk__in=[recent.image_id, owned.image_id]).count() == 2
    assert browser.get(f"/images/{old.image_id}/").status_code == 404


def test_the_admin_never_shows_an_anonymous_session_key(db, upload):
    browser = Client()
    recognition = upload(browser, recognise=False)
    key = browser.cookies["sessionid"].value
    client = admin_client(db)
    for page in ("/admin/recognition/image/", f"/admin/recognition/image/{recognition.image_id}/change/"):
        response = client.get(page)
        assert response.status_code == 200 and key not in response.content.decode()


def test_an_anonymous_session_lasts_as_long_as_its_photos_then_the_purge_deletes_it(db, settings):
    from django.contrib.sessions.models import Session

    settings.ANONYMOUS_RETENTION_HOURS = 24
    assert Client().get("/").status_code == 200  # a browser's first visit starts its session
    session = Session.objects.get()
    assert session.expire_date <= timezone.now() + timedelta(hours=24, minutes=1)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    call_command("purge_anonymous")
    assert not Session.objects.exists()
