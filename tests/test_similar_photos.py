"""Similar photos and duplicates among one's own photos: a resized, recompressed, cropped
copy without EXIF comes first and groups with its original; another person's photos never
show; deleting a photo removes its vector."""

import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from pyvision.engine.similarity import DUPLICATE_SIMILARITY
from pyvision.recognition import worker
from pyvision.recognition.models import Image as StoredImage
from pyvision.similar import library
from pyvision.similar.models import PhotoVector

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "static_from_apps")]

PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture(autouse=True)
def no_kept_libraries():
    """Each test's database starts again from the same user ids: a web process's copies
    of the last test's libraries would still look current for CHECK_SECONDS."""
    library._kept.clear()


def altered_copy(data: bytes) -> bytes:
    """The same shot as a phone or a messenger passes it on: 3% cropped, resized to 60%,
    recompressed at quality 70, without the EXIF block."""
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = picture.size
    picture = picture.crop((w * 3 // 100, h * 3 // 100, w, h)).resize((w * 6 // 10, h * 6 // 10), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def with_exif(data: bytes) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def person(name: str) -> tuple[User, APIClient]:
    user = User.objects.create_user(name, password=PASSWORD)
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def recognise(client, data: bytes, name: str) -> str:
    created = client.post("/api/v1/recognitions", {"image": named(data, name)},
                          format="multipart").json()
    worker.run(created["id"])
    return created["id"]


def named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


@pytest.fixture
def photos(photo):
    """Alice's coffee (with EXIF) and its altered copy, her cat and her rocket; Bob's own copy of the coffee."""
    coffee = with_exif(photo("coffee.png"))
    alice, alice_client = person("alice")
    _, bob_client = person("bob")
    ids = {name: recognise(alice_client, data, name) for name, data in [
        ("coffee.jpg", coffee), ("copy.jpg", altered_copy(coffee)), ("cat.png", photo("chelsea.png")),
        ("rocket.jpg", photo("rocket.jpg"))]}
    ids["bob"] = recognise(bob_client, altered_copy(coffee), "bobs.jpg")
    return alice_client, ids


def test_similar_gives_the_altered_copy_first_and_an_unrelated_photo_far_below(photos):
    client, ids = photos
    results = client.get(f"/api/v1/recognitions/{ids['coffee.jpg']}/similar", {"limit": 10}).json()["results"]
    found = [r["recognition"]["id"] for r in results]
    assert found[0] == ids["copy.jpg"] and results[0]["similarity"] >= DUPLICATE_SIMILARITY
    assert ids["bob"] not in found and ids["coffee.jpg"] not in found  # never another's, never itself
    cat = next(r for r in results if r["recognition"]["id"] == ids["cat.png"])
    assert cat["similarity"] < DUPLICATE_SIMILARITY - 0.3
    assert [r["similarity"] for r in results] == sorted((r["similarity"] for r in results), reverse=True)
    assert len(client.get(f"/api/v1/recognitions/{ids['coffee.jpg']}/similar", {"limit": 1}).json()["results"]) == 1


def test_another_persons_recognition_has_no_similar_photos_for_you(photos):
    client, ids = photos
    assert client.get(f"/api/v1/recognitions/{ids['bob']}/similar").status_code == 404


def test_duplicates_groups_the_copy_with_its_original_and_only_ones_own(photos):
    client, ids = photos
    groups = client.get("/api/v1/duplicates").json()["groups"]
    assert [sorted(r["id"] for r in group["recognitions"]) for group in groups] == [
        sorted([ids["coffee.jpg"], ids["copy.jpg"]])]


def test_deleting_a_photo_removes_its_vector_and_it_is_no_longer_similar(photos):
    client, ids = photos
    before = PhotoVector.objects.count()
    assert client.delete(f"/api/v1/recognitions/{ids['copy.jpg']}").status_code == 204
    assert PhotoVector.objects.count() == before - 1
    found = [r["recognition"]["id"] for r in client.get(f"/api/v1/recognitions/{ids['coffee.jpg']}/similar").json()["results"]]
    assert ids["copy.jpg"] not in found
    assert client.get("/api/v1/duplicates").json()["groups"] == []


def test_the_duplicates_page_keeps_the_chosen_photo_and_deletes_the_others(photos):
    _, ids = photos
    site = Client()
    site.force_login(User.objects.get(username="alice"))
    page = site.get("/duplicates/").content.decode()
    assert "copy.jpg" in page and "coffee.jpg" in page and "bobs.jpg" not in page
    coffee, copy = (StoredImage.objects.get(original_name=name) for name in ("coffee.jpg", "copy.jpg"))
    bobs = StoredImage.objects.get(original_name="bobs.jpg")
    # Bob's photo slipped into the form is not Alice's to delete.
    site.post("/duplicates/keep", {"group": [str(coffee.pk), str(copy.pk), str(bobs.pk)], "keep": str(coffee.pk)})
    assert set(StoredImage.objects.values_list("original_name", flat=True)) == {"coffee.jpg", "cat.png", "rocket.jpg",
                                                                                 "bobs.jpg"}
    assert "No duplicates among your photos." in site.get("/duplicates/").content.decode()
    assert site.post("/duplicates/keep", {"group": ["not-a-photo"], "keep": "x"}).status_code == 400


def test_the_image_page_shows_similar_photos_with_the_duplicate_marked(photos):
    site = Client()
    site.force_login(User.objects.get(username="alice"))
    coffee = StoredImage.objects.get(original_name="coffee.jpg")
    assert f'hx-get="/images/{coffee.pk}/similar"' in site.get(f"/images/{coffee.pk}/").content.decode()
    fragment = site.get(f"/images/{coffee.pk}/similar").content.decode()
    copy = StoredImage.objects.get(original_name="copy.jpg")
    assert fragment.index(f"/images/{copy.pk}/") < fragment.index("alike")
    assert "alike: a duplicate" in fragment
    assert str(StoredImage.objects.get(original_name="bobs.jpg").pk) not in fragment
