from functools import cache

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

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
                message = _("Too many failed logins for this account or from your network.") + " " + limits.try_again_in(wait)
                return render(request, "accounts/login_refused.html", {"message": message}, status=429)
        return get_response(request)

    return middleware
