from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from pyvision.api import throttling
from pyvision.custom_models import catalog
from pyvision.meaning import search
from pyvision.recognition import access, idempotency, inline, pipeline
from pyvision.recognition.models import Image, Recognition
from pyvision.synsets.models import Synset

from .presenting import language, models, polling, present
from .uploads import SkipOversizeFiles

MAX_NOTE_LENGTH = Image._meta.get_field("note").max_length
RECENT_ON_HOME = 12
DEMO_ON_HOME = 12
QUEUE_FULL = gettext_lazy("The service is busy: too many photos are waiting to be recognised. Try again in a minute.")


@require_GET
def home(request):
    can_upload = request.user.is_authenticated or settings.ALLOW_ANONYMOUS
    if can_upload and not request.user.is_authenticated and not request.session.session_key:
        # The page's script sends each photo in a request of its own, all at once: they
        # must find the browser's session already there, or each would start its own.
        access.session_key(request)
    recent = access.own_recognitions(request).select_related("image").with_predictions()[:RECENT_ON_HOME]
    demo = Image.objects.filter(is_demo=True).prefetch_related(Prefetch(
        "recognitions", to_attr="done",
        queryset=Recognition.objects.filter(status=Recognition.Status.DONE).select_related("image").with_predictions()))[:DEMO_ON_HOME]
    return render(request, "web/home.html", {
        "recent": [present(r) for r in recent],
        "demo": [present(image.done[0]) for image in demo if image.done],
        "models": models(),
        "default_model": settings.DEFAULT_MODEL,
        "can_upload": can_upload,
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
    if not problem:
        try:
            recognitions, busy = submit_once(request, files, model, note)
        except (idempotency.InvalidKey, idempotency.KeyReused) as exc:
            return HttpResponse(str(exc), status=400 if isinstance(exc, idempotency.InvalidKey) else 422)
        cards = [present(recognition) for recognition in recognitions]
        errors += [busy.message] if busy else []
    status = 200 if cards or not errors else busy.status if busy else 400
    if not request.htmx:
        if cards and not errors:
            return redirect("recognition", cards[0]["recognition"].pk)
        response = render(request, "web/upload_errors.html", {"errors": errors}, status=status)
    else:
        response = render(request, "web/upload_result.html", {"cards": cards, "errors": errors}, status=status)
    if busy and busy.retry_after is not None:
        response["Retry-After"] = str(busy.retry_after)
    return response


def note_problem(note: str) -> str | None:
    if len(note) > MAX_NOTE_LENGTH:
        return _("The note has %(length)d characters; the limit is %(limit)d.") % {
            "length": len(note), "limit": MAX_NOTE_LENGTH}
    if "\x00" in note:  # PostgreSQL refuses it in text; no note needs it
        return _("The note contains a NUL character, which notes may not hold.")
    return None


def submit_once(request, files, model: str, note: str) -> tuple[list[Recognition], "Busy | None"]:
    """Each file is one recognition: it counts against the queue and the rate limits.
    With an Idempotency-Key, a form sent again gets the recognitions of the first."""
    key = idempotency.key_of(request)
    print_ = idempotency.fingerprint({"model": model, "note": note, "image": files}) if key else ""
    if key and (first := idempotency.earlier(request, key, print_)) is not None:
        return first, None
    busy = None
    # The person is looking at the page: what this process can recognise at once, it does
    # (recognition/inline.py), and the cards come back finished.
    here = []

    def submit():
        nonlocal busy
        recognitions = []
        for upload in files:
            if busy := too_busy(request):
                break
            claimed_by = inline.claimed_by() if inline.takes(upload) else ""
            try:
                recognition = pipeline.submit(upload, model=model, note=note, claimed_by=claimed_by,
                                              **access.owner_fields(request))
            except pipeline.OverLimit as refused:
                busy = Busy(413 if refused.retry_after is None else 429, refused.message, refused.retry_after)
                break
            recognitions.append(recognition)
            if claimed_by:
                here.append(recognition)
        return recognitions

    recognitions = idempotency.save_once(request, key, print_, submit)
    # Those this request stored: a request with the same key may have saved first.
    saved = {recognition.pk for recognition in recognitions}
    here = [recognition for recognition in here if recognition.pk in saved]
    if here:
        for recognition in here:
            inline.run(recognition)
        found = Recognition.objects.select_related("image").with_predictions().in_bulk([r.pk for r in recognitions])
        recognitions = [found[r.pk] for r in recognitions]
    return recognitions, busy


def form_problem(model: str, note: str, sent) -> str | None:
    if not catalog.is_available(model):
        return _("Unknown model %(model)s.") % {"model": model[:40]}
    if problem := note_problem(note):
        return problem
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
    poll = request.GET.get("poll", "")
    return render(request, "web/card.html", {"card": polling(present(found), int(poll) if poll.isdigit() else 0)})


@require_GET
def objects(request):
    query = request.GET.get("q", "").strip()[:100]
    synsets = Synset.objects.all()
    if query:
        ranked = search.ranked_classes(query, language())
        synsets = synsets.filter(index__in=ranked)
    # "Found in" counts the images whose top class this is, in any finished result.
    synsets = synsets.annotate(found=Count("predictions__recognition__image", distinct=True, filter=Q(
        predictions__rank=1, predictions__recognition__image__in=access.own_images(request)))).order_by("index")
    if query:  # exact and prefix matches in the page's language first (see ranked_classes)
        position = {index: n for n, index in enumerate(ranked)}
        synsets = sorted(synsets, key=lambda synset: position[synset.index])
    page = Paginator(synsets, 50).get_page(request.GET.get("page"))
    rows = [{"synset": s, "label": s.label(language()), "english": s.label("en"), "found": s.found} for s in page]
    return render(request, "web/objects.html", {
        "page": page, "rows": rows, "query": query, "filters": urlencode({"q": query}) if query else "",
        "english_column": language() != "en"})


def static_page(template):
    @require_GET
    def view(request):
        return render(request, template)

    return view
