"""Register, log in and out, reset a password by email, the profile, delete the account."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from pyvision.recognition.models import Image

from .conftest import PASSWORD

User = get_user_model()


def register(client, username="ada", email="ada@example.org", password=PASSWORD):
    return client.post("/account/register/", {"username": username, "email": email,
                                              "password1": password, "password2": password})


def test_register_logs_in_and_keeps_only_a_hash_of_the_password(db):
    client = Client()
    response = register(client)
    assert response.status_code == 302 and response["Location"] == "/images/"
    user = User.objects.get(username="ada")
    assert user.email == "ada@example.org"
    assert PASSWORD not in user.password and user.check_password(PASSWORD)
    assert "Welcome, ada" in client.get("/images/").content.decode()


def test_register_refuses_a_weak_password_and_a_taken_username(db):
    register(Client())
    weak = register(Client(), username="bob", email="bob@example.org", password="password")
    assert weak.status_code == 200 and "too common" in weak.content.decode()
    taken = register(Client(), username="ADA", email="someone@example.net")
    assert taken.status_code == 200 and "already exists" in taken.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]


def test_registering_with_a_used_email_looks_like_any_registration_and_tells_its_owner(db):
    register(Client())
    mail.outbox.clear()
    fresh_client, used_client = Client(), Client()
    fresh = register(fresh_client, username="bob", email="bob@example.org")
    used = register(used_client, username="eve", email="ADA@example.org")
    assert (used.status_code, used["Location"]) == (fresh.status_code, fresh["Location"]) == (302, "/images/")
    assert "Welcome, eve" in used_client.get("/images/").content.decode()
    # Only the address's owner learns that it was in use, with a way back into their account.
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert "eve" in mail.outbox[0].body and "ada" in mail.outbox[0].body
    assert "http://testserver/account/password/reset/" in mail.outbox[0].body


def test_what_was_recognised_before_registering_becomes_the_accounts(db, upload):
    client = Client()
    recognition = upload(client, recognise=False)
    register(client)
    assert Image.objects.get(pk=recognition.image_id).owner.username == "ada"
    assert client.get(f"/images/{recognition.image_id}/").status_code == 200


def test_what_was_recognised_before_logging_in_becomes_the_accounts(make_user, upload):
    user, _ = make_user("ada")
    client = Client()
    recognition = upload(client, recognise=False)
    assert client.post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    assert Image.objects.get(pk=recognition.image_id).owner == user
    assert client.get(f"/images/{recognition.image_id}/").status_code == 200


def test_log_in_and_log_out(make_user):
    make_user("ada")
    client = Client()
    wrong = client.post("/account/login/", {"username": "ada", "password": "nope"})
    assert wrong.status_code == 200 and "correct username and password" in wrong.content.decode()
    assert client.post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    assert "Log out" in client.get("/").content.decode()
    assert client.get("/account/logout/").status_code == 405  # logging out is a POST, with CSRF
    client.post("/account/logout/")
    assert client.get("/account/profile/")["Location"].startswith("/account/login/")


def test_a_forgotten_password_is_reset_through_a_link_sent_by_email(make_user):
    make_user("ada")
    client = Client()
    assert client.post("/account/password/reset/", {"email": "ada@example.org"}).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.org"]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "another long passphrase 77"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert User.objects.get(username="ada").check_password(new)
    assert "not valid any more" in client.get(link, follow=True).content.decode()


def test_the_profile_shows_the_account(make_user, upload):
    user, client = make_user("ada")
    upload(client, recognise=False)
    page = client.get("/account/profile/").content.decode()
    assert 'value="ada@example.org"' in page and '<a href="/images/">1</a>' in page
    assert "/account/delete/" in page


def test_the_email_address_can_be_changed_to_one_in_use_whose_owner_is_told(make_user):
    user, client = make_user("ada")
    make_user("bob")
    assert client.post("/account/profile/", {"email": "Bob@example.org", "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.email == "Bob@example.org"
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.org", "bob@example.org"]  # the old address, the owner


def test_deleting_the_account_deletes_its_images_and_files(make_user, upload, media, django_capture_on_commit_callbacks):
    user, client = make_user("ada")
    _, other = make_user("bob")
    mine = upload(client)
    client.get(f"/images/{mine.image_id}/thumbnail")
    kept = upload(other, recognise=False)
    image = Image.objects.get(pk=mine.image_id)
    files = [media / image.file.name, media / image.thumbnail.name]
    assert client.post("/account/delete/", {"password": "wrong"}).status_code == 200
    assert User.objects.filter(pk=user.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Image.objects.filter(pk=image.pk).exists() and not any(f.exists() for f in files)
    assert Image.objects.filter(pk=kept.image_id).exists()
    assert client.get("/account/profile/").status_code == 302
