import math
from functools import cache, lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils import translation
from django.utils.translation import gettext as _

from pyvision.web.middleware import CONTENT_SECURITY_POLICY

from . import limits


@cache
def login_paths() -> frozenset[str]:
    return frozenset((reverse("login"), reverse("admin:login")))


def login_limits(get_response):
    """Refuses a login attempt for an account or from an address that failed too often
    before anything else runs: no session, no form, no password hash, a small page of
    its own. A flood of refused guesses then costs the site no more than its cheapest
    request; the form counts the failures (accounts.forms.ThrottledLogin)."""

    def middleware(request):
        if request.method == "POST" and request.path_info in login_paths():
            counters = limits.login_counters(request, request.POST.get("username", ""))
            if wait := limits.seconds_left(request, counters):
                return refused(wait)
        return get_response(request)

    return middleware


def refused(wait: int) -> HttpResponse:
    """The refusal, with the headers that the middlewares it skips give every page."""
    response = HttpResponse(refused_page(translation.get_language(), math.ceil(wait / 60)), status=429)
    response["Retry-After"] = str(wait)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    add_never_cache_headers(response)
    return response


@lru_cache(maxsize=64)
def refused_page(language: str, minutes: int) -> str:
    """The same few pages for every refused guess, made once each: rendering took 40% of
    a refusal's time."""
    with translation.override(language):
        message = _("Too many failed logins for this account or from your network.") + " " + limits.try_again_in(minutes * 60)
        return render_to_string("accounts/login_refused.html", {"message": message})
