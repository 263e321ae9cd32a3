"""One's own images: the gallery, the image page, its file and thumbnail, note, delete, rerun."""

from datetime import date

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from PIL import Image as PILImage

from pyvision.custom_models import catalog
from pyvision.meaning import search
from pyvision.recognition import access, pipeline
from pyvision.recognition.files import delete_images
from pyvision.recognition.models import Image, Prediction, Recognition
from pyvision.synsets.search import matching_indexes

from .presenting import language, models, present
from .views import MAX_NOTE_LENGTH, note_problem, too_busy


def top_classes():
    """Each image's finished recognitions, newest first, with their top class only."""
    return Prefetch("recognitions", to_attr="done", queryset=Recognition.objects.filter(
        status=Recognition.Status.DONE).prefetch_related(
            Prefetch("predictions", queryset=Prediction.objects.filter(rank=1).select_related("synset", "label"))))


def parse_date(text: str):
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@require_GET
def my_images(request):
    images = access.own_images(request)
    query = request.GET.get("q", "").strip()[:100]
    since, until = parse_date(request.GET.get("from", "")), parse_date(request.GET.get("to", ""))
    if query:
        # A class or an ancestor by its name ("dog", "狗"), or a custom model's label by its id
        # or name; else any ImageNet class whose name contains the text.
        classes, labels = search.classes_meant(query), search.labels_meant(query)
        if not classes and not labels:
            classes = matching_indexes(query)
        images = search.images_meaning(images, classes, labels)
    # Dates are the days of the browser's time zone (the current time zone).
    if since:
        images = images.filter(created_at__date__gte=since)
    if until:
        images = images.filter(created_at__date__lte=until)
    page = Paginator(images.prefetch_related(top_classes()), settings.PAGE_SIZE).get_page(request.GET.get("page"))
    tiles = []
    for image in page:
        top = image.done[0].predictions.all()[0].predicted if image.done and image.done[0].predictions.all() else None
        tiles.append({"image": image, "label": top.label(language()) if top else ""})
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(request, "web/my_images.html", {
        "page": page, "tiles": tiles, "query": query, "since": since, "until": until,
        "filters": filters.urlencode(),
    })


@require_GET
def image_page(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    recognitions = image.recognitions.select_related("image").with_predictions()
    cards = [present(r) for r in recognitions]
    used = {card["recognition"].model for card in cards}
    return render(request, "web/image.html", {
        "image": image, "cards": cards,
        "other_models": models(excluding=used) or models(),
        "max_note": MAX_NOTE_LENGTH,
    })


@require_GET
def image_file(request, pk):
    """The original, byte for byte, to its owner only."""
    image = get_object_or_404(access.own_images(request), pk=pk)
    return serve(image.file)


@require_GET
def image_thumbnail(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    return serve(image.thumbnail)


@require_GET
def demo_thumbnail(request, pk):
    """Demo images are public by an admin's choice; only their thumbnail (no EXIF) is served."""
    image = get_object_or_404(Image, pk=pk, is_demo=True)
    return serve(image.thumbnail, cache="public, max-age=3600")


@require_POST
def image_note(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    note = request.POST.get("note", "").strip()
    if problem := note_problem(note):
        return HttpResponse(problem, status=400)
    image.note = note
    image.save(update_fields=["note"])
    if request.htmx:
        return render(request, "web/note.html", {"image": image, "max_note": MAX_NOTE_LENGTH, "saved": True})
    return redirect("image", image.pk)


@require_POST
def image_delete(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    delete_images([image])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("my-images")
        return response
    return redirect("my-images")


@require_POST
def image_rerun(request, pk):
    image = get_object_or_404(access.own_images(request), pk=pk)
    model = request.POST.get("model", "")
    if not catalog.is_available(model):
        return HttpResponse(_("Unknown model %(model)s.") % {"model": model[:40]}, status=400,
                            content_type="text/plain; charset=utf-8")
    if busy := too_busy(request):
        response = HttpResponse(busy.message, status=busy.status, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(busy.retry_after)
        return response
    pipeline.recognize_again(image, model)
    return redirect("image", image.pk)


def serve(stored_file, cache: str = "private, max-age=3600"):
    if not stored_file:
        raise Http404("No such file.")
    try:
        handle = stored_file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is no longer stored.") from None
    # The stored name has no extension, so the type comes from the file's header; a
    # file that is not an image is only ever offered as bytes, and nothing served
    # here may run scripts.
    response = FileResponse(handle, content_type=_image_type(handle))
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = cache
    return response


def _image_type(handle) -> str:
    try:
        with PILImage.open(handle) as opened:
            mime = PILImage.MIME.get(opened.format or "")
    except OSError:
        mime = None
    handle.seek(0)
    return mime or "application/octet-stream"
