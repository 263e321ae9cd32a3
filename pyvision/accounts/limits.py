"""Limits on what can be tried against accounts: failed logins (site and admin) per
account and per client address, registrations per address, password-reset mails per
address and per email address.

The counts live in the shared cache (settings.CACHES), so every web process and host
sees the same ones. A refused attempt is answered before any password is hashed: a
flood of them costs the site little.
"""

import math
import unicodedata

from django.conf import settings
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """The address DRF's throttles count under: REMOTE_ADDR, or the proxy's entry."""
    return BaseThrottle().get_ident(request)


def _usage(request, group: str, value: str, rate: str, increment: bool) -> dict:
    return get_usage(request, group=group, key=lambda _group, _request: value, rate=rate, increment=increment)


def seconds_left(request, counters) -> int | None:
    """None while each (group, value, rate) counter has room for one more attempt, else
    the seconds until the one that is full starts again."""
    waits = []
    for group, value, rate in counters:
        usage = _usage(request, group, value, rate, increment=False)
        if usage["count"] >= usage["limit"]:
            waits.append(max(1, usage["time_left"]))
    return max(waits) if waits else None


def count(request, counters) -> None:
    for group, value, rate in counters:
        _usage(request, group, value, rate, increment=True)


def login_counters(request, username: str):
    # Django reads the username NFKC-normalised: "ｂｏｂ１" signs in as "bob1", so it
    # counts as bob1's guess too.
    account = unicodedata.normalize("NFKC", username).strip().casefold()
    return [("login-account", account, settings.RATE_LOGIN_ACCOUNT),
            ("login-address", client_address(request), settings.RATE_LOGIN_ADDRESS)]


def register_counters(request):
    return [("register-address", client_address(request), settings.RATE_REGISTER)]


def reset_counters(request, email: str):
    return [("reset-address", client_address(request), settings.RATE_RESET_ADDRESS),
            ("reset-email", email.strip().lower(), settings.RATE_RESET_EMAIL)]


def try_again_in(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("Try again in %(minutes)d minute.", "Try again in %(minutes)d minutes.", minutes) % {
        "minutes": minutes}
