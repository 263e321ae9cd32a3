import base64
import binascii
import ipaddress
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from pyvision.custom_models.models import CustomModel
from pyvision.engine.registry import MODELS, expected_sha256
from pyvision.meaning import search
from pyvision.recognition import access, files, finished, idempotency, inline, pipeline
from pyvision.recognition.models import Recognition
from pyvision.synsets.models import Synset
from pyvision.engine.synsets import load_synsets
from pyvision.synsets.search import matching_indexes

from . import errors, fetch, uploads
from .parsers import JSONParser
from .throttling import AnonymousRate, UserRate
from .serializers import (
    IMAGE_SERIALIZERS,
    MAX_PAGE_SIZE,
    NAME_LANGUAGES,
    PAGE_SIZE,
    LanguageSerializer,
    ModelSerializer,
    RecognitionFilterSerializer,
    RecognitionBase64Serializer,
    RecognitionPageSerializer,
    RecognitionSerializer,
    RecognitionUploadSerializer,
    RecognitionUrlSerializer,
    SynsetFilterSerializer,
    SynsetPageSerializer,
    SynsetSerializer,
    WaitSerializer,
)

log = logging.getLogger(__name__)

DATABASE_ERRORS = (DatabaseError, InterfaceError)

EXAMPLE_DONE = {
    "id": "5b0c3f2e-8a7d-4c59-9f43-0d7b1c9e2a11",
    "status": "done",
    "model": "lite0",
    "created_at": "2026-11-27T08:00:00.000000Z",
    "finished_at": "2026-11-27T08:00:00.012000Z",
    "timings": {"queue_ms": 3.1, "decode_ms": 2.9, "inference_ms": 1.4, "total_ms": 12.0},
    "predictions": [{
        "rank": 1, "wnid": "n02123045", "label_id": None, "label": "tabby",
        "names": {"en": "tabby, tabby cat", "zh-hans": "虎斑猫"},
        "score": 0.62,
        "hierarchy": [{"wnid": "n00001740", "name": "entity"}, {"wnid": "n02121620", "name": "cat"},
                      {"wnid": "n02123045", "name": "tabby"}],
    }],
    "hedged": {"wnid": "n02121808", "label": "domestic cat", "score": 0.97,
               "names": {"en": "domestic cat", "zh-hans": "家猫", "zh-hant": "家貓"}},
    "error": None,
}


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


def language(request, params: dict) -> str:
    """The `lang` parameter, else the request's language where classes have names in it."""
    chosen = params.get("lang") or get_language()
    return chosen if chosen in NAME_LANGUAGES else "en"


def query(serializer_class, request) -> dict:
    params = serializer_class(data=plain(request.query_params))
    params.is_valid(raise_exception=True)
    return params.validated_data


def plain(data):
    """A QueryDict as a plain dict: DRF reads a QueryDict as an HTML form, whose empty
    optional fields it skips, so `?status=` would list everything instead of being
    refused as the schema says."""
    return data.dict() if isinstance(data, QueryDict) else data


def represent(recognition, lang: str, result=None) -> dict:
    """``result``: the engine's, for a recognition done by this request (its predictions
    are not read back from the database)."""
    return RecognitionSerializer(recognition, context={"lang": lang, "result": result}).data


class RecognitionList(uploads.UploadLimits, APIView):
    parser_classes = [MultiPartParser, JSONParser]

    def get_throttles(self):
        # Creating a recognition is what costs; reading results is not limited.
        return [AnonymousRate(), UserRate()] if self.request.method == "POST" else []

    @extend_schema(
        summary="Your recognitions, newest first",
        operation_id="recognitions_list",
        parameters=[RecognitionFilterSerializer],
        responses={200: RecognitionPageSerializer},
    )
    def get(self, request):
        params = query(RecognitionFilterSerializer, request)
        recognitions = access.own_recognitions(request)
        if "status" in params:
            recognitions = recognitions.filter(status=params["status"])
        if "label" in params:
            recognitions = search.recognitions_meaning(recognitions, search.classes_meant(params["label"]),
                                                       search.labels_meant(params["label"]))
        paginator = Pagination()
        page = paginator.paginate_queryset(recognitions.with_predictions(), request, view=self)
        lang = language(request, params)
        return paginator.get_paginated_response([represent(r, lang) for r in page])

    @extend_schema(
        summary="Recognise an image",
        operation_id="recognitions_create",
        description=(
            "Send one image as a multipart field `image`, or JSON `{\"url\": ...}` or `{\"image_base64\": ...}`. "
            "With `?wait=N` (0-30 seconds) the answer waits until the recognition is finished or N seconds "
            "have passed: 201 with the finished recognition (done or failed), or 202 while it is still queued; "
            "then poll `GET /api/v1/recognitions/{id}`.\n\n"
            "Send an `Idempotency-Key` header to retry safely: the same key from the same account (or "
            "anonymous session, or address of a client without a cookie) within 24 hours answers with the recognition the first request made, never "
            "a second one; the same key with another body is refused (422)."
        ),
        parameters=[
            WaitSerializer,
            OpenApiParameter(idempotency.HEADER, {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
                             OpenApiParameter.HEADER, description="A unique value of yours for this upload (a UUID), "
                                                                  "sent again as is when the request is retried."),
            OpenApiParameter("Location", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[201, 202],
                             description="The recognition's address: `/api/v1/recognitions/{id}`."),
        ],
        request={
            "multipart/form-data": RecognitionUploadSerializer,
            "application/json": PolymorphicProxySerializer(
                component_name="RecognitionJson", resource_type_field_name=None,
                serializers=[RecognitionUrlSerializer, RecognitionBase64Serializer]),
        },
        responses={
            201: OpenApiResponse(RecognitionSerializer, description="Finished: done, or failed with an error code."),
            202: OpenApiResponse(RecognitionSerializer, description="Accepted, still queued or running."),
            422: OpenApiResponse(description="The Idempotency-Key was used for another request body."),
        },
        examples=[
            OpenApiExample("From a URL", request_only=True, value={"url": "https://example.org/cat.jpg", "top_k": 3, "lang": "zh-hans"}),
            OpenApiExample("Finished", response_only=True, status_codes=["201"], value=EXAMPLE_DONE),
        ],
    )
    def post(self, request):
        key = idempotency_key(request)
        wait = query(WaitSerializer, request)["wait"]
        finished_here, result = False, None
        data, multipart = body(request)
        serializer = IMAGE_SERIALIZERS[image_field(request, data, multipart)](data=data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        print_ = idempotency.fingerprint(data) if key else ""
        recognition = earlier_recognition(request, key, print_) if key else None
        if recognition is None:
            if pipeline.queue_is_full():
                raise errors.ApiError(errors.QUEUE_FULL, retry_after=pipeline.RETRY_AFTER_SECONDS)
            upload = image_from(params)
            here = bool(wait) and inline.takes(upload)
            if here:  # read before storing: a storage may move an uploaded temporary file
                upload.seek(0)
                started = inline.start(upload.read(), params.get("model") or settings.DEFAULT_MODEL, params["top_k"])
                upload.seek(0)
            # One write transaction for the upload, its key and, for a browser without one yet, its session.
            stored = []

            def submit():
                stored.append(pipeline.submit(upload, model=params.get("model"), top_k=params["top_k"],
                                              claimed_by=inline.claimed_by() if here else "",
                                              **access.owner_fields(request, cookie_less_by_address=True)))
                return stored

            try:
                recognition, = idempotency.save_once(request, key, print_, submit)
            except pipeline.OverLimit as refused:
                raise errors.ApiError(refused.code, refused.message, retry_after=refused.retry_after) from None
            except idempotency.KeyReused as exc:  # by a request with the same key at the same moment
                raise errors.ApiError(errors.IDEMPOTENCY_KEY_REUSED, str(exc)) from None
            # Not when a request with the same key saved first: its recognition is not this one's to run.
            if here and recognition.pk == stored[0].pk:
                result = inline.run(recognition, started)
                finished_here = result is not None
        try:
            if not finished_here:  # what this request wrote it knows; another's it reads
                if wait:
                    finished.wait_for(recognition.pk, wait)
                recognition = Recognition.objects.with_predictions().get(pk=recognition.pk)
        except DATABASE_ERRORS as exc:
            # It is saved: say so, as it was when last read, rather than a 503 that
            # would have the client send it again.
            log.warning("recognition %s: saved, but the database could not be read again: %s", recognition.pk, exc)
        return Response(
            represent(recognition, language(request, params), result),
            status=status.HTTP_201_CREATED if recognition.is_finished else status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api-recognition", args=[recognition.pk])},
        )


def idempotency_key(request) -> str | None:
    try:
        return idempotency.key_of(request)
    except idempotency.InvalidKey as exc:
        raise errors.ApiError(errors.INVALID_REQUEST, str(exc)) from None


def earlier_recognition(request, key: str, print_: str) -> Recognition | None:
    """The recognition the first request with this Idempotency-Key made, if any."""
    try:
        found = idempotency.earlier(request, key, print_)
    except idempotency.KeyReused as exc:
        raise errors.ApiError(errors.IDEMPOTENCY_KEY_REUSED, str(exc)) from None
    return found[0] if found else None


class RecognitionDetail(APIView):
    @extend_schema(summary="One of your recognitions", operation_id="recognitions_retrieve", parameters=[LanguageSerializer],
                   responses={200: RecognitionSerializer})
    def get(self, request, pk):
        params = query(LanguageSerializer, request)
        recognition = get_object_or_404(
            access.own_recognitions(request, cookie_less_by_address=True).with_predictions(), pk=pk)
        return Response(represent(recognition, language(request, params)))

    @extend_schema(summary="Delete a recognition and its image", operation_id="recognitions_destroy",
                   responses={204: None})
    def delete(self, request, pk):
        recognition = get_object_or_404(
            access.own_recognitions(request, cookie_less_by_address=True).select_related("image"), pk=pk)
        files.delete_images([recognition.image])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SynsetList(APIView):
    @extend_schema(operation_id="synsets_list", summary="The 1000 classes, searchable by name in any language",
                   parameters=[SynsetFilterSerializer], responses={200: SynsetPageSerializer})
    def get(self, request):
        params = query(SynsetFilterSerializer, request)
        synsets = Synset.objects.all()
        if params.get("q"):
            synsets = synsets.filter(index__in=matching_indexes(params["q"]))
        paginator = Pagination()
        page = paginator.paginate_queryset(synsets, request, view=self)
        return paginator.get_paginated_response(
            SynsetSerializer(page, many=True, context={"lang": language(request, params)}).data)


class ModelList(APIView):
    @extend_schema(operation_id="models_list", summary="The models a recognition can use", responses={200: ModelSerializer(many=True)})
    def get(self, request):
        built_in = [{"name": spec.name, "description": spec.description, "input_size": spec.input_size, "custom": False,
                     "labels": len(load_synsets()), "languages": NAME_LANGUAGES, "sha256": expected_sha256()[spec.filename]}
                    for spec in MODELS.values()]
        custom = [{"name": model.name, "description": model.description or model.name, "input_size": model.input_size,
                   "custom": True, "labels": len(model.labels.all()), "languages": model.languages(), "sha256": model.sha256}
                  for model in CustomModel.objects.filter(enabled=True).prefetch_related("labels")]
        return Response(ModelSerializer(built_in + custom, many=True).data)


def body(request) -> tuple[dict, bool]:
    """The request's body as a plain dict (see plain()), and whether it is multipart."""
    try:
        data = plain(request.data)
    except RequestDataTooBig:
        # A JSON body is held in memory whole; a multipart one streams to disk.
        raise errors.ApiError(errors.FILE_TOO_LARGE, _(
            "A JSON body may hold %(megabytes)d MB at most, one image of the upload limit in base64; send "
            "more as multipart/form-data (field `image`).") % {
            "megabytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20}) from None
    except (TooManyFilesSent, TooManyFieldsSent) as exc:
        raise errors.ApiError(errors.INVALID_REQUEST, _(
            "The form has more files or fields than any request takes (%(files)d files, %(fields)d fields).") % {
            "files": settings.DATA_UPLOAD_MAX_NUMBER_FILES, "fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}) from exc
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["The body must be an object."]})
    return data, request.content_type.startswith("multipart/form-data")


def image_field(request, data: dict, multipart: bool) -> str:
    """The one field the image is sent in: `image` in multipart, `url` or `image_base64`
    in JSON. No image, or several, is its own refusal, before the other fields are checked."""
    sources = [name for name in (("image",) if multipart else ("url", "image_base64")) if name in data]
    if not sources:
        raise errors.ApiError(errors.NO_IMAGE)
    if len(sources) > 1 or len(request.FILES.getlist("image")) > 1:
        raise errors.ApiError(errors.SEVERAL_IMAGES)
    return sources[0]


def image_from(params: dict) -> ContentFile:
    if "image" in params:
        return params["image"]
    if "url" in params:
        return from_url(params["url"])
    return from_base64(params["image_base64"])


def from_url(url: str) -> ContentFile:
    policy = fetch.FetchPolicy(
        ports=frozenset(settings.URL_FETCH_PORTS),
        max_bytes=settings.MAX_UPLOAD_BYTES,
        connect_timeout=settings.URL_FETCH_CONNECT_TIMEOUT,
        timeout=settings.URL_FETCH_TIMEOUT,
        allowed_networks=tuple(ipaddress.ip_network(n, strict=False) for n in settings.URL_FETCH_ALLOWED_NETWORKS),
    )
    try:
        fetched = fetch.fetch(url, policy)
    except fetch.FetchError as exc:
        raise errors.ApiError(exc.code, exc.message) from None
    return ContentFile(fetched.data, name=fetched.url.rsplit("/", 1)[-1][:255])


def from_base64(text: str) -> ContentFile:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    if len(text) * 3 // 4 > settings.MAX_UPLOAD_BYTES + 3:
        raise uploads.FileTooLarge()
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise errors.ApiError(errors.INVALID_BASE64) from None
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise uploads.FileTooLarge()
    return ContentFile(data, name="image_base64")
