from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST
from PIL import Image as PILImage

from pyvision.engine.registry import MODELS
from pyvision.ops.views import RETRY_AFTER_SECONDS
from pyvision.recognition import access, pipeline

QUEUE_FULL = "The service is busy: too many photos are waiting to be recognised. Try again in a minute."


@require_GET
def home(request):
    recent = access.own_recognitions(request).select_related("image").prefetch_related("predictions__synset")[:12]
    return render(request, "web/home.html", {
        "recent": [present(r) for r in recent],
        "models": MODELS.values(),
        "default_model": settings.DEFAULT_MODEL,
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
    })


@require_POST
def upload(request):
    model = request.POST.get("model") or settings.DEFAULT_MODEL
    files = request.FILES.getlist("image")
    if pipeline.queue_is_full():
        template = "web/upload_result.html" if request.htmx else "web/upload_errors.html"
        response = render(request, template, {"errors": [QUEUE_FULL]}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    errors = []
    if model not in MODELS:
        errors.append(f"Unknown model {model!r}.")
    elif not files:
        errors.append("Choose at least one photo to upload.")
    cards = []
    for upload in files if not errors else []:
        if upload.size > settings.MAX_UPLOAD_BYTES:
            errors.append(f"{upload.name[:80]}: {upload.size / 1048576:.1f} MB is over the "
                          f"{settings.MAX_UPLOAD_BYTES // 1048576} MB limit.")
            continue
        recognition = pipeline.submit(upload, model=model, **access.owner_fields(request))
        cards.append(present(recognition))
    status = 400 if errors and not cards else 200
    if not request.htmx:
        if cards and not errors:
            return redirect("recognition", cards[0]["recognition"].pk)
        return render(request, "web/upload_errors.html", {"errors": errors}, status=status)
    return render(request, "web/upload_result.html", {"cards": cards, "errors": errors}, status=status)


@require_GET
def recognition(request, pk):
    found = get_object_or_404(access.own_recognitions(request).select_related("image"), pk=pk)
    return render(request, "web/recognition.html", {"card": present(found)})


@require_GET
def recognition_card(request, pk):
    found = get_object_or_404(access.own_recognitions(request).select_related("image"), pk=pk)
    return render(request, "web/card.html", {"card": present(found)})


@require_GET
def image_file(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    try:
        handle = image.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is no longer stored.") from None
    # The stored name has no extension, so the type comes from the file's header; a
    # file that is not an image is only ever offered as bytes, and nothing served
    # here may run scripts.
    response = FileResponse(handle, content_type=_image_type(handle))
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _image_type(handle) -> str:
    try:
        with PILImage.open(handle) as opened:
            mime = PILImage.MIME.get(opened.format or "")
    except OSError:
        mime = None
    handle.seek(0)
    return mime or "application/octet-stream"


def present(recognition):
    """A recognition as the templates show it, with class names in the page's language."""
    language = get_language() or "en"
    predictions = []
    if recognition.status == recognition.Status.DONE:
        for p in recognition.predictions.select_related("synset"):
            predictions.append({
                "rank": p.rank,
                "label": p.synset.label(language),
                "english": p.synset.label("en"),
                "wnid": p.synset.wnid,
                "percent": round(p.score * 100, 1),
            })
    return {"recognition": recognition, "image": recognition.image, "predictions": predictions}
