"""My images, the objects page, the demo gallery and the public pages."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from pyvision.recognition.models import Image


def test_my_images_newest_first_paginated(make_user, upload, settings):
    settings.PAGE_SIZE = 2
    _, client = make_user()
    ids = [str(upload(client, name, recognise=False).image_id) for name in ("chelsea.png", "coffee.png", "rocket.jpg")]
    first = client.get("/images/").content.decode()
    assert re.findall(r'href="/images/([0-9a-f-]{36})/"', first) == [ids[2], ids[1]]
    assert "Page 1 of 2" in first
    second = client.get("/images/?page=2").content.decode()
    assert re.findall(r'href="/images/([0-9a-f-]{36})/"', second) == [ids[0]]


def test_my_images_are_searchable_by_class_name_in_any_language_and_by_date(make_user, upload):
    _, client = make_user()
    cat = str(upload(client, "chelsea.png").image_id)
    coffee = str(upload(client, "coffee.png").image_id)
    Image.objects.filter(pk=cat).update(created_at=timezone.now() - timedelta(days=40))

    def shown(query: str) -> list[str]:
        return re.findall(r'href="/images/([0-9a-f-]{36})/"', client.get("/images/?" + query).content.decode())

    assert shown("q=espresso") == [coffee]
    assert shown("q=意大利浓咖啡") == [coffee]
    assert shown("q=猫") == [cat]
    assert shown("q=giraffe") == []
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert shown(f"from={since}") == [coffee]
    assert shown(f"to={since}") == [cat]
    assert shown("from=not-a-date") == [coffee, cat]


def test_the_objects_page_lists_1000_classes_searchable_with_my_counts(make_user, upload):
    _, client = make_user()
    upload(client, "coffee.png")
    page = client.get("/objects/").content.decode()
    assert "Page 1 of 20" in page and page.count('<a class="label"') == 50
    found = client.get("/objects/?q=浓咖啡").content.decode()
    assert "espresso" in found and '<a href="/images/?q=n07920052">1</a>' in found
    assert client.get("/objects/?q=espresso", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode().count("意大利浓咖啡") == 1
    # another user's images are not counted
    assert '<a href="/images/?q=n07920052">' not in Client().get("/objects/?q=espresso").content.decode()


def test_the_demo_gallery_shows_only_what_an_admin_marked(make_user, upload):
    _, client = make_user()
    demo = upload(client, "coffee.png")
    private = upload(client, "chelsea.png")
    Image.objects.filter(pk=demo.image_id).update(is_demo=True)
    home = Client().get("/").content.decode()
    assert f"/demo/{demo.image_id}/thumbnail" in home and "espresso" in home
    assert str(private.image_id) not in home
    assert Client().get(f"/demo/{demo.image_id}/thumbnail").status_code == 200
    assert Client().get(f"/demo/{private.image_id}/thumbnail").status_code == 404
    assert Client().get(f"/images/{demo.image_id}/file").status_code == 404  # the original stays private


def test_the_public_pages_say_what_is_stored_and_for_how_long(db, settings):
    settings.ANONYMOUS_RETENTION_HOURS = 24
    client = Client()
    for url in ("/instructions/", "/about/", "/terms/", "/privacy/", "/account/login/", "/account/register/",
                "/account/password/reset/", "/objects/", "/images/", "/"):
        assert client.get(url).status_code == 200, url
    privacy = client.get("/privacy/").content.decode()
    assert "deleted, files included, 24 hours after upload" in privacy
    assert "EXIF" in privacy and "salted hash" in privacy


def test_no_page_loads_anything_from_another_site(make_user, upload):
    _, client = make_user()
    recognition = upload(client)
    for url in ("/", "/images/", f"/images/{recognition.image_id}/", "/objects/", "/account/profile/"):
        page = client.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', page), url
