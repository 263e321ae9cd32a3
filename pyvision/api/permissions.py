from django.conf import settings
from rest_framework.permissions import BasePermission


class AnonymousIfAllowed(BasePermission):
    """Signed-in users always; anonymous clients only while PYVISION_ANONYMOUS is on."""

    def has_permission(self, request, view):
        return request.user.is_authenticated or self.allows_anonymous()

    def allows_anonymous(self) -> bool:
        return settings.ALLOW_ANONYMOUS
