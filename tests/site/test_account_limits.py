"""Logins (site and admin), registrations and reset mails are limited, per account and
per client address, with a clear message, and refused before any password is hashed."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from .conftest import PASSWORD

User = get_user_model()


def log_in(client, password, username="ada", path="/account/login/"):
    return client.post(path, {"username": username, "password": password})


def test_wrong_passwords_for_one_account_are_refused_before_the_30th_even_the_right_one(make_user):
    make_user("ada")
    answers = [log_in(Client(REMOTE_ADDR=f"10.0.0.{n}"), "wrong").status_code for n in range(29)]
    assert 429 in answers
    refused = log_in(Client(REMOTE_ADDR="10.0.1.1"), PASSWORD)
    assert refused.status_code == 429
    assert re.search(r"Too many failed logins .+ Try again in \d+ minutes?\.", refused.content.decode())
    # Another account from the same addresses is not locked out.
    make_user("bob")
    assert log_in(Client(REMOTE_ADDR="10.0.0.1"), PASSWORD, username="bob").status_code == 302


def test_a_refusal_has_the_headers_of_every_page(make_user):
    make_user("ada")
    for _ in range(10):
        log_in(Client(), "wrong")
    refused = log_in(Client(), "wrong")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 15 * 60
    assert "frame-ancestors 'none'" in refused["Content-Security-Policy"] and refused["X-Frame-Options"] == "DENY"
    assert "no-store" in refused["Cache-Control"]


def test_the_same_name_spelt_with_other_unicode_counts_as_the_same_account(make_user):
    make_user("ada")
    for _ in range(10):
        log_in(Client(), "wrong")
    # Fullwidth letters: Django signs "ａｄａ" in as "ada" (NFKC).
    assert log_in(Client(), PASSWORD, username="ａｄａ").status_code == 429
    assert log_in(Client(), PASSWORD, username=" ADA ").status_code == 429


def test_one_address_trying_many_accounts_is_refused(make_user):
    make_user("ada")
    client = Client()
    answers = [log_in(client, "wrong", username=f"user{n}").status_code for n in range(40)]
    assert answers[:30] == [200] * 30 and set(answers[30:]) == {429}
    assert log_in(client, PASSWORD).status_code == 429
    assert log_in(Client(REMOTE_ADDR="10.0.0.9"), PASSWORD).status_code == 302


def test_a_refused_login_hashes_no_password(make_user, monkeypatch):
    make_user("ada")
    for _ in range(10):
        log_in(Client(), "wrong")
    hashed = []
    from django.contrib.auth import hashers

    monkeypatch.setattr(hashers, "check_password", lambda *args, **kwargs: hashed.append(1))
    assert log_in(Client(), "wrong").status_code == 429 and hashed == []


def test_the_admin_login_counts_against_the_same_limit(make_user):
    user, _ = make_user("ada")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    for _ in range(10):
        log_in(client, "wrong", path="/admin/login/")
    refused = log_in(client, PASSWORD, path="/admin/login/")
    assert "Too many failed logins" in refused.content.decode()
    assert client.get("/admin/").status_code == 302  # still not logged in
    assert log_in(client, PASSWORD).status_code == 429  # nor on the site


def test_registrations_from_one_address_are_limited(db):
    answers = [Client().post("/account/register/", {
        "username": f"user{n}", "email": f"user{n}@example.org", "password1": PASSWORD, "password2": PASSWORD,
    }).status_code for n in range(7)]
    assert answers[:5] == [302] * 5 and answers[5:] == [429, 429]
    assert User.objects.count() == 5


def test_reset_mails_are_limited_per_email_and_per_address(make_user):
    make_user("ada")
    answers = [Client(REMOTE_ADDR=f"10.0.0.{n}").post("/account/password/reset/", {"email": "ada@example.org"})
               for n in range(5)]
    assert [a.status_code for a in answers] == [302, 302, 302, 429, 429]
    assert "Too many reset mails" in answers[-1].content.decode()
    assert len(mail.outbox) == 3
    client = Client()
    answers = [client.post("/account/password/reset/", {"email": f"user{n}@example.org"}).status_code for n in range(12)]
    assert answers[:10] == [302] * 10 and answers[10:] == [429, 429]


def test_the_message_is_in_chinese_for_a_chinese_browser(make_user):
    make_user("ada")
    client = Client(headers={"accept-language": "zh-hans"})
    for _ in range(10):
        log_in(client, "wrong")
    page = log_in(client, "wrong").content.decode()
    assert re.search(r"登录失败次数过多.+请 \d+ 分钟后再试", page)
