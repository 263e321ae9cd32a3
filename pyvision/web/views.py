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
from django.views.decorators.http import require_GET, require_POST

from pyvision.engine.registry import MODELS
from pyvision.ops.views import RETRY_AFTER_SECONDS
from pyvision.recognition import access, pipeline
from pyvision.recognition.models import Image, Prediction, Recognition
from pyvision.synsets.models import Synset

from .presenting import language, matching_synsets, models, present

MAX_NOTE_LENGTH = Image._meta.get_field("note").max_length
RECENT_ON_HOME = 12
DEMO_ON_HOME = 12


def with_predictions(recognitions):
    return recognitions.select_related("image").prefetch_related(
        Prefetch("predictions", queryset=Prediction.objects.select_related("synset")))

QUEUE_FULL = gettext_lazy("The service is busy: too many photos are waiting to be recognised. Try again in a minute.")


@require_GET
def home(request):
    recent = with_predictions(access.own_recognitions(request))[:RECENT_ON_HOME]
    demo = Image.objects.filter(is_demo=True).prefetch_related(Prefetch(
        "recognitions", to_attr="done",
        queryset=with_predictions(Recognition.objects.filter(status=Recognition.Status.DONE))))[:DEMO_ON_HOME]
    return render(request, "web/home.html", {
        "recent": [present(r) for r in recent],
        "demo": [present(image.done[0]) for image in demo if image.done],
        "models": models(),
        "default_model": settings.DEFAULT_MODEL,
        "can_upload": request.user.is_authenticated or settings.ALLOW_ANONYMOUS,
    })


@require_POST
def upload(request):
    if not (request.user.is_authenticated or settings.ALLOW_ANONYMOUS):
        if request.htmx:
            return HttpResponseForbidden(_("Log in to upload photos."))
        return redirect_to_login(request.get_full_path())
    model = request.POST.get("model") or settings.DEFAULT_MODEL
    note = request.POST.get("note", "").strip()
    files = request.FILES.getlist("image")
    if pipeline.queue_is_full():
        template = "web/upload_result.html" if request.htmx else "web/upload_errors.html"
        response = render(request, template, {"errors": [QUEUE_FULL]}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    errors = []
    if model not in MODELS:
        errors.append(_("Unknown model %(model)s.") % {"model": model[:40]})
    elif len(note) > MAX_NOTE_LENGTH:
        errors.append(_("The note has %(length)d characters; the limit is %(limit)d.")
                      % {"length": len(note), "limit": MAX_NOTE_LENGTH})
    elif not files:
        errors.append(_("Choose at least one photo to upload."))
    cards = []
    for upload in files if not errors else []:
        if upload.size > settings.MAX_UPLOAD_BYTES:
            errors.append(_("%(name)s: %(size)s is over the %(limit)s limit.") % {
                "name": upload.name[:80], "size": filesizeformat(upload.size), "limit": filesizeformat(settings.MAX_UPLOAD_BYTES)})
            continue
        recognition = pipeline.submit(upload, model=model, note=note, **access.owner_fields(request))
        cards.append(present(recognition))
    status = 400 if errors and not cards else 200
    if not request.htmx:
        if cards and not errors:
            return redirect("recognition", cards[0]["recognition"].pk)
        return render(request, "web/upload_errors.html", {"errors": errors}, status=status)
    return render(request, "web/upload_result.html", {"cards": cards, "errors": errors}, status=status)


@require_GET
def recognition(request, pk):
    found = get_object_or_404(with_predictions(access.own_recognitions(request)), pk=pk)
    return render(request, "web/recognition.html", {"card": present(found)})


@require_GET
def recognition_card(request, pk):
    found = get_object_or_404(with_predictions(access.own_recognitions(request)), pk=pk)
    return render(request, "web/card.html", {"card": present(found)})


@require_GET
def objects(request):
    query = request.GET.get("q", "").strip()[:100]
    synsets = Synset.objects.all()
    if query:
        synsets = Synset.objects.filter(index__in=[s.index for s in matching_synsets(synsets, query)])
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
