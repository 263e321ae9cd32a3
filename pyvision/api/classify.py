"""POST /api/v1/classify: stateless recognition of up to 16 images, in the web process.

Nothing is stored: no row, no file. Each image is decoded in the request's thread (or,
for several, read a few at a time, then decoded on a small pool: Pillow releases the GIL),
then joins the model's adaptive batch, shared with every concurrent request of this process.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from pyvision.custom_models import catalog
from pyvision.engine.batcher import QueueFull
from pyvision.engine.errors import ImageError
from pyvision.meaning import answers
from pyvision.recognition import inline, pipeline

from . import errors, throttling, uploads
from .parsers import JSONParser
from .serializers import (
    ClassifyJsonSerializer,
    ClassifyResponseSerializer,
    ClassifyUploadSerializer,
    ErrorResponseSerializer,
    prediction,
)
from .views import EXAMPLE_DONE, body, from_base64, from_url, language

# How long a request waits for the model before it gives up (the queue is bounded, so
# this is only reached if the model itself hangs).
RESULT_TIMEOUT_SECONDS = 30

_decoders = ThreadPoolExecutor(max_workers=settings.CLASSIFY_ENGINE_THREADS, thread_name_prefix="classify-decode")
# Images are read (downloaded, for a URL) on threads of their own, READS_AT_ONCE for each
# request a process serves at once: a slow server named by one request holds its own
# reads, never a decoder that another request's images wait for. A few at a time, as their
# bytes are held until decoded (16 photos of 20 MB would be 320 MB).
READS_AT_ONCE = 4
_readers = ThreadPoolExecutor(max_workers=settings.WEB_THREADS * READS_AT_ONCE, thread_name_prefix="classify-read")


class ImageFailed(Exception):
    """One image of the request cannot be classified; the others go on."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


def read(source) -> bytes:
    """The bytes of one image: an uploaded file, or a JSON entry with `url` or `image_base64`."""
    try:
        if isinstance(source, dict):
            upload = from_url(source["url"]) if "url" in source else from_base64(source["image_base64"])
            return upload.read()
        return source.read()
    except errors.ApiError as exc:
        raise ImageFailed(exc.error_code, str(exc.detail)) from None


def prepare(source, classifier):
    """Read, decode and preprocess one image: (pixels, decode_ms)."""
    return decoded(read(source), classifier)


def decoded(data: bytes, classifier):
    """Decode and preprocess one image's bytes: (pixels, decode_ms)."""
    started = time.perf_counter()
    try:
        pixels = classifier.prepare(data)
    except ImageError as exc:
        raise ImageFailed(exc.code, exc.message) from None
    return pixels, (time.perf_counter() - started) * 1000


class Classify(uploads.UploadLimits, APIView):
    parser_classes = [MultiPartParser, JSONParser]
    upload_images = settings.CLASSIFY_MAX_IMAGES

    @extend_schema(
        summary="Classify images without storing anything",
        operation_id="classify",
        description=(
            f"Up to {settings.CLASSIFY_MAX_IMAGES} images: repeat the multipart field `image`, or send JSON "
            "`{\"images\": [{\"url\": ...} | {\"image_base64\": ...}]}`. The answer has one result per image, in "
            "order; an image that cannot be read has its own `error` and does not fail the others. Nothing is "
            "kept: no recognition, no file. Each image counts against the rate limit."
        ),
        request={"multipart/form-data": ClassifyUploadSerializer, "application/json": ClassifyJsonSerializer},
        # Each image counts against the rate limits, not the request: no DRF throttle to
        # find, so the 429 is said here.
        responses={200: ClassifyResponseSerializer, 429: ErrorResponseSerializer},
        examples=[
            OpenApiExample("Two URLs", request_only=True, value={
                "images": [{"url": "https://example.org/cat.jpg"}, {"url": "https://example.org/cup.jpg"}],
                "top_k": 3, "lang": "zh-hans"}),
            OpenApiExample("One image classified, one refused", response_only=True, status_codes=["200"], value={
                "results": [
                    {"predictions": EXAMPLE_DONE["predictions"], "hedged": EXAMPLE_DONE["hedged"], "error": None,
                     "timings": {"decode_ms": 3.2, "inference_ms": 2.1, "total_ms": 5.6}},
                    {"predictions": [], "hedged": None, "error": {"code": "not_an_image", "message": "The file is not an image."},
                     "timings": {"decode_ms": None, "inference_ms": None, "total_ms": 0.2}},
                ]}),
        ],
    )
    def post(self, request):
        data, multipart = body(request)
        field = "image" if multipart else "images"
        if multipart:
            data[field] = request.FILES.getlist(field)
        if not data.get(field):
            raise errors.ApiError(errors.NO_IMAGE, "Send at least one image: multipart fields `image`, or JSON `images`.")
        serializer = (ClassifyUploadSerializer if multipart else ClassifyJsonSerializer)(data=data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        sources = params[field]
        for _ in sources:
            if wait := throttling.wait_seconds(request):
                raise errors.ApiError(errors.RATE_LIMITED, retry_after=wait)

        started = time.perf_counter()
        model_name = params.get("model") or settings.DEFAULT_MODEL
        model = inline.batcher(model_name)
        if len(sources) == 1:
            prepared = [self._attempt(prepare, sources[0], model.classifier)]
        else:
            prepared = []
            for first in range(0, len(sources), READS_AT_ONCE):
                reads = [_readers.submit(self._attempt, read, source) for source in sources[first:first + READS_AT_ONCE]]
                decoding = [data if isinstance(data, ImageFailed) else
                            _decoders.submit(self._attempt, decoded, data, model.classifier)
                            for data in (f.result() for f in reads)]
                prepared += [job if isinstance(job, ImageFailed) else job.result() for job in decoding]
        try:
            pending = [submitted(model, outcome) if isinstance(outcome, tuple) else outcome for outcome in prepared]
        except QueueFull:
            raise errors.ApiError(errors.QUEUE_FULL, retry_after=pipeline.RETRY_AFTER_SECONDS) from None

        results, top, rows = [], [], []
        for outcome in pending:
            if isinstance(outcome, ImageFailed):
                results.append({"predictions": [], "hedged": None, "error": {"code": outcome.code, "message": outcome.message},
                                "timings": {"decode_ms": None, "inference_ms": None, "total_ms": elapsed_ms(started)}})
                top.append([])
                rows.append(None)
                continue
            future, decode_ms, queued = outcome
            probabilities, _ = future.result(timeout=RESULT_TIMEOUT_SECONDS)
            top.append(model.classifier.top_k(probabilities, params["top_k"]))
            rows.append(probabilities)
            results.append({"predictions": None, "hedged": None, "error": None, "timings": {
                "decode_ms": round(decode_ms, 3), "inference_ms": elapsed_ms(queued), "total_ms": elapsed_ms(started)}})

        classes = catalog.classes(model_name)
        lang = language(request, params)
        for result, predictions, probabilities in zip(results, top, rows):
            if result["error"] is None:
                result["predictions"] = [prediction(p.rank, classes[p.index], p.score, lang) for p in predictions]
                result["hedged"] = answers.hedged_now(model.classifier.spec.name, probabilities, lang)
        return Response({"results": results})

    @staticmethod
    def _attempt(job, *args):
        try:
            return job(*args)
        except ImageFailed as failed:
            return failed


def submitted(model, prepared: tuple) -> tuple:
    """(future, decode_ms, time queued) of an image's pixels handed to the model. Timed from
    before the hand-over: a lone image is inferred by the submitting thread itself."""
    pixels, decode_ms = prepared
    queued = time.perf_counter()
    return model.submit(pixels), decode_ms, queued


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)
