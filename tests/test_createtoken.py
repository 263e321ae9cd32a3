"""`pyvision manage createtoken`: an operator makes an API key without the browser."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def createtoken(*arguments) -> str:
    out = io.StringIO()
    call_command("createtoken", *arguments, stdout=out)
    return out.getvalue().strip()


def works(key: str) -> bool:
    return APIClient().get("/api/v1/recognitions", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_the_printed_key_signs_the_user_in_and_is_listed_by_its_name():
    erin = User.objects.create_user("erin", password="a long passphrase 5")
    key = createtoken("erin", "--name", "nightly import")
    assert works(key)
    assert [(t.name, t.prefix) for t in erin.api_tokens.all()] == [("nightly import", key[:8])]


def test_an_unknown_user_is_refused_unless_asked_to_make_it():
    with pytest.raises(CommandError, match="no user 'robot'; add --create-user"):
        createtoken("robot")
    key = createtoken("robot", "--create-user")
    assert works(key)
    assert not User.objects.get(username="robot").has_usable_password()
