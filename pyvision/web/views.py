from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from pyvision.api import throttling
from pyvision.custom_models import catalog
from pyvision.recognition import access, pipeline
from pyvision.recognition.models import Image, Recognition
from pyvision.synsets.models import Synset
from pyvision.synsets.search import matching_indexes

from .presenting import language, models, present
from .uploads import SkipOversizeFiles

MAX_NOTE_LENGTH = Image._meta.get_field("note").max_length
RECENT_ON_HOME = 12
DEMO_ON_HOME = 12
QUEUE_FULL = gettext_lazy("The service is busy: too many photos are waiting to be recognised. Try again in a minute.")


@require_GET
def home(request):
    recent = access.own_recognitions(request).select_related("image").with_predictions()[:RECENT_ON_HOME]
    demo = Image.objects.filter(is_demo=True).prefetch_related(Prefetch(
        "recognitions", to_attr="done",
        queryset=Recognition.objects.filter(status=Recognition.Status.DONE).select_related("image").with_predictions()))[:DEMO_ON_HOME]
    return render(request, "web/home.html", {
        "recent": [present(r) for r in recent],
        "demo": [present(image.done[0]) for image in demo if image.done],
        "models": models(),
        "default_model": settings.DEFAULT_MODEL,
        "can_upload": request.user.is_authenticated or settings.ALLOW_ANONYMOUS,
    })


@csrf_exempt  # checked by accept_upload, once the size-limiting handler is in place
@require_POST
def upload(request):
    # Before anything reads the body (the CSRF check would): files over the limit are
    # then skipped as they stream in, never stored whole.
    oversize = SkipOversizeFiles(request)
    request.upload_handlers.insert(0, oversize)
    return accept_upload(request, oversize)


@csrf_protect
def accept_upload(request, oversize):
    if not (request.user.is_authenticated or settings.ALLOW_ANONYMOUS):
        if request.htmx:
            return HttpResponseForbidden(_("Log in to upload photos."))
        return redirect_to_login(request.get_full_path())
    model = request.POST.get("model") or settings.DEFAULT_MODEL
    note = request.POST.get("note", "").strip()
    files = request.FILES.getlist("image")
    problem = form_problem(model, note, sent=files or oversize.skipped)
    errors = [_("%(name)s is over the %(limit)s limit.") % {
        "name": name[:80], "limit": filesizeformat(settings.MAX_UPLOAD_BYTES)} for name in oversize.skipped]
    errors += [problem] if problem else []
    cards, busy = [], None
    for upload in [] if problem else files:
        # Each file is one recognition: it counts against the queue and the rate limits.
        if busy := too_busy(request):
            errors.append(busy.message)
            break
        recognition = pipeline.submit(upload, model=model, note=note, **access.owner_fields(request))
        cards.append(present(recognition))
    status = 200 if cards or not errors else busy.status if busy else 400
    if not request.htmx:
        if cards and not errors:
            return redirect("recognition", cards[0]["recognition"].pk)
        response = render(request, "web/upload_errors.html", {"errors": errors}, status=status)
    else:
        response = render(request, "web/upload_result.html", {"cards": cards, "errors": errors}, status=status)
    if busy:
        response["Retry-After"] = str(busy.retry_after)
    return response


def form_problem(model: str, note: str, sent) -> str | None:
    if not catalog.is_available(model):
        return _("Unknown model %(model)s.") % {"model": model[:40]}
    if len(note) > MAX_NOTE_LENGTH:
        return _("The note has %(length)d characters; the limit is %(limit)d.") % {
            "length": len(note), "limit": MAX_NOTE_LENGTH}
    if not sent:
        return _("Choose at least one photo to upload.")
    return None


class Busy(NamedTuple):
    status: int
    message: str
    retry_after: int


def too_busy(request) -> Busy | None:
    """Why one more recognition may not be sent now, or None if it may."""
    if pipeline.queue_is_full():
        return Busy(503, QUEUE_FULL, pipeline.RETRY_AFTER_SECONDS)
    if (wait := throttling.wait_seconds(request)) is not None:
        return Busy(429, _("Too many photos at once: wait %(seconds)d seconds.") % {"seconds": wait}, wait)
    return None


@require_GET
def recognition(request, pk):
    found = get_object_or_404(access.own_recognitions(request).select_related("image").with_predictions(), pk=pk)
    return render(request, "web/recognition.html", {"card": present(found)})


@require_GET
def recognition_card(request, pk):
    found = get_object_or_404(access.own_recognitions(request).select_related("image").with_predictions(), pk=pk)
    return render(request, "web/card.html", {"card": present(found)})


@require_GET
def objects(request):
    query = request.GET.get("q", "").strip()[:100]
    synsets = Synset.objects.all()
    if query:
        synsets = Synset.objects.filter(index__in=matching_indexes(query))
    # "Found in" counts the images whose top class this is, in any finished result.
    synsets = synsets.annotate(found=Count("predictions__recognition__image", distinct=True, filter=Q(
        predictions__rank=1, predictions__recognition__image__in=access.own_images(request)))).order_by("index")
    page = Paginator(synsets, 50).get_page(request.GET.get("page"))
    rows = [{"synset": s, "label": s.label(language()), "english": s.label("en"), "found": s.found} for s in page]
    return render(request, "web/objects.html", {
        "page": page, "rows": rows, "query": query, "filters": urlencode({"q": query}) if query else ""})


def static_page(template):
    @require_GET
    def view(request):
        return render(request, template)

    return view
