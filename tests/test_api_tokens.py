"""The tokens page: a signed-in user makes a key, sees it once, and revokes it."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from pyvision.api.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("static_from_apps")]

PAGE = "/account/tokens/"


@pytest.fixture
def dave():
    return User.objects.create_user("dave", password="a long passphrase 4")


@pytest.fixture
def signed_in(dave):
    client = Client()
    client.force_login(dave)
    return client


def create(client, name="backup script") -> str:
    response = client.post(PAGE, {"name": name})
    assert response.status_code == 200
    return re.search(r'<code class="token-key">([^<]+)</code>', response.content.decode()).group(1)


def test_the_page_needs_a_signed_in_user():
    response = Client().get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]
    assert Client().post(PAGE, {"name": "x"}).status_code == 302
    assert ApiToken.objects.count() == 0


def test_a_new_key_is_shown_once_and_works(signed_in):
    key = create(signed_in)
    page = signed_in.get(PAGE).content.decode()
    assert "backup script" in page and key[:8] in page and key not in page
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/recognitions").status_code == 200


def test_a_revoked_key_stops_working(signed_in, dave):
    key = create(signed_in)
    token = ApiToken.objects.get(user=dave)
    response = signed_in.post(f"/account/tokens/{token.pk}/revoke", follow=True)
    assert response.content.decode().count("is revoked") == 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/recognitions").status_code == 401


def test_nobody_revokes_another_ones_token(signed_in):
    erin = User.objects.create_user("erin", password="a long passphrase 5")
    token, _key = ApiToken.create(erin, "erin's")
    assert signed_in.post(f"/account/tokens/{token.pk}/revoke").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_name_is_required_and_csrf_is_checked(dave):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dave)
    assert client.post(PAGE, {"name": "no csrf token"}).status_code == 403
    page = client.get(PAGE).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(PAGE, {"name": "   ", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("how", ["bearer", "query"])
def test_a_key_sent_as_bearer_or_in_the_url_is_refused_with_a_reason(signed_in, how):
    key = create(signed_in)
    api = APIClient()
    if how == "bearer":
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        response = api.get("/api/v1/recognitions")
    else:
        response = api.get(f"/api/v1/recognitions?token={key}")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "authentication_failed" and "Authorization: Token <key>" in error["message"]
