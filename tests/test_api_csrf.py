"""The API refuses a request that carries the browser's session cookie without the CSRF
token, signed in or not; token and cookie-less clients need none."""

import io

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from pyvision.recognition.models import Image

from .test_api import RECOGNITIONS, assert_error, small_png, token_client, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "static_from_apps")]


def anonymous_browser() -> APIClient:
    """A browser with an anonymous session and a photo in it, as after using the site."""
    browser = APIClient(enforce_csrf_checks=True)
    page = browser.get("/")
    assert page.status_code == 200 and browser.cookies.get("sessionid")
    token = browser.cookies["csrftoken"].value
    sent = browser.post("/upload", {"image": named_png(), "model": "lite0", "csrfmiddlewaretoken": token},
                        headers={"HX-Request": "true"})
    assert sent.status_code == 200
    return browser


def named_png():
    data = io.BytesIO(small_png())
    data.name = "photo.png"
    return data


def test_another_sites_page_cannot_plant_or_delete_photos_in_an_anonymous_session():
    browser = anonymous_browser()
    assert_error(upload(browser, small_png()), 403, "permission_denied")
    recognition = browser.get(RECOGNITIONS).json()["results"][0]["id"]
    assert_error(browser.delete(f"{RECOGNITIONS}/{recognition}"), 403, "permission_denied")
    assert Image.objects.count() == 1


def test_the_sites_own_script_with_the_token_may():
    browser = anonymous_browser()
    token = browser.cookies["csrftoken"].value
    created = browser.post(RECOGNITIONS, {"image": named_png()}, format="multipart", headers={"X-CSRFToken": token})
    assert created.status_code in (201, 202), created.content[:300]
    assert Image.objects.count() == 2


def test_token_and_cookie_less_clients_need_no_csrf_token():
    client, _key = token_client(User.objects.create_user("alice", password="a long passphrase 1"))
    client.handler.enforce_csrf_checks = True
    assert upload(client, small_png()).status_code in (201, 202)
    assert upload(APIClient(enforce_csrf_checks=True), small_png()).status_code in (201, 202)
