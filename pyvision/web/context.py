from django.conf import settings


def site(request):
    return {
        "allow_anonymous": settings.ALLOW_ANONYMOUS,
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
        "retention_hours": settings.ANONYMOUS_RETENTION_HOURS,
    }
