import hashlib
import secrets

from django.conf import settings
from django.db import models


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key a user made for a program. Only its digest is stored: the key is shown
    once, when it is made, and a leaked database does not leak working keys."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_digest = models.CharField(max_length=64, unique=True)
    # The first characters, so the owner can tell keys apart in the list.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create(cls, user, name: str) -> tuple["ApiToken", str]:
        """A new token and its key, which is not stored anywhere."""
        key = secrets.token_urlsafe(30)
        token = cls.objects.create(user=user, name=name, key_digest=digest(key), prefix=key[:8])
        return token, key


def revoke_on_new_password(sender, instance, **kwargs) -> None:
    """A new password (changed, reset, or set by an admin) ends the account's API tokens:
    whoever knew the old one may have made them. Django marks a password set since the
    last save with `_password`; a hash upgraded at login is not a new password."""
    if instance.pk is not None and getattr(instance, "_password", None) is not None:
        ApiToken.objects.filter(user_id=instance.pk).delete()
