from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .models import ApiToken, digest

# last_used_at is written at most this often, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with a key from the tokens page."""

    keyword = "Token"

    def authenticate(self, request):
        # A key sent the way other services take it must not pass silently as anonymous.
        if request.META.get("HTTP_AUTHORIZATION", "").split(" ")[0].lower() == "bearer":
            raise AuthenticationFailed(_("Send the key as “Authorization: Token <key>”, not Bearer."))
        if "token" in request.query_params:
            raise AuthenticationFailed(_("A key in the URL is refused (URLs end up in logs): send it as “Authorization: Token <key>”."))
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_digest=digest(key)).first()
        if token is None or not token.user.is_active:
            raise AuthenticationFailed(_("Invalid or revoked API token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session, signed in or not. DRF checks CSRF only for a signed-in
    user, but an anonymous session owns photos too: any request that carries the session
    cookie must carry the CSRF token, or another site's page could plant or delete photos
    in a visitor's session. Token and cookie-less clients are not concerned."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None and settings.SESSION_COOKIE_NAME in request._request.COOKIES:
            self.enforce_csrf(request)
        return found
