"""What guards an account's way in: a new email address takes the password and is told
to the old address; a new password (changed or reset) ends the API tokens."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from pyvision.api.models import ApiToken

from .conftest import PASSWORD

User = get_user_model()
NEW_PASSWORD = "another long passphrase 77"


def token_works(key: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get("/api/v1/recognitions").status_code == 200


def test_a_new_email_address_takes_the_password_and_the_old_address_is_told(make_user):
    user, client = make_user("ada")
    refused = client.post("/account/profile/", {"email": "thief@example.net"})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    wrong = client.post("/account/profile/", {"email": "thief@example.net", "password": "guess"})
    assert "The password is not right" in wrong.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.org" and mail.outbox == []
    assert client.post("/account/profile/", {"email": "ada@example.net", "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.email == "ada@example.net"
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert "ada@example.net" in mail.outbox[0].body and "ada" in mail.outbox[0].body


def test_a_changed_password_ends_the_api_tokens(make_user):
    user, client = make_user("ada")
    _token, key = ApiToken.create(user, "script")
    assert token_works(key)
    client.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                        "new_password2": NEW_PASSWORD})
    assert not token_works(key)
    assert client.get("/account/profile/").status_code == 200  # this browser stays signed in


def test_a_reset_password_ends_the_api_tokens(make_user):
    user, _client = make_user("ada")
    _token, key = ApiToken.create(user, "script")
    client = Client()
    client.post("/account/password/reset/", {"email": "ada@example.org"})
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(username="ada").check_password(NEW_PASSWORD)
    assert not token_works(key)


def test_logging_in_keeps_the_api_tokens(make_user):
    user, _client = make_user("ada")
    _token, key = ApiToken.create(user, "script")
    assert Client().post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    assert token_works(key)
