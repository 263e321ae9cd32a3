"""Similar photos and duplicates: the API (`/api/v1/recognitions/{id}/similar`,
`/api/v1/duplicates`) and the site (the image page's similar photos, the duplicates page)."""

import uuid

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pyvision.api.serializers import LanguageSerializer, RecognitionSerializer
from pyvision.api.views import language, query, represent
from pyvision.engine.registry import MODELS
from pyvision.engine.similarity import DUPLICATE_SIMILARITY
from pyvision.recognition import access
from pyvision.recognition.files import delete_images
from pyvision.recognition.models import Recognition

from . import library

MAX_SIMILAR = 50


class SimilarQuerySerializer(LanguageSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_SIMILAR, default=10, help_text="How many photos.")


class DuplicatesQuerySerializer(LanguageSerializer):
    model = serializers.ChoiceField(choices=list(MODELS), required=False, help_text="Whose embeddings compare the "
                                    "photos; default: the server's default model.")


class SimilarSerializer(serializers.Serializer):
    similarity = serializers.FloatField(help_text=f"Cosine similarity of the two photos' embeddings; from "
                                                  f"{DUPLICATE_SIMILARITY}, the same shot (a duplicate).")
    recognition = RecognitionSerializer(help_text="That photo's recognition by the same model.")


class SimilarResponseSerializer(serializers.Serializer):
    results = SimilarSerializer(many=True, help_text="Your other photos, most similar first.")


class DuplicateGroupSerializer(serializers.Serializer):
    recognitions = RecognitionSerializer(many=True, help_text="Near-identical photos, oldest first.")


class DuplicatesResponseSerializer(serializers.Serializer):
    groups = DuplicateGroupSerializer(many=True)


def done_by_image(image_ids, model: str) -> dict:
    """Each image's newest done recognition by ``model``."""
    found = {}
    for recognition in Recognition.objects.filter(image_id__in=image_ids, model=model, status=Recognition.Status.DONE
                                                  ).select_related("image").with_predictions().order_by("created_at"):
        found[recognition.image_id] = recognition
    return found


def similar_to(recognition, limit: int) -> list[tuple[Recognition, float]]:
    nearest = library.similar_images(recognition.image, recognition.model, limit)
    recognitions = done_by_image([image_id for image_id, _ in nearest], recognition.model)
    return [(recognitions[image_id], score) for image_id, score in nearest if image_id in recognitions]


def duplicates_of(request, model: str) -> list[list[Recognition]]:
    images = access.own_images(request)
    owner = {"owner_id": request.user.pk} if request.user.is_authenticated else {
        "owner": None, "session_key": request.session.session_key or ""}
    groups = library.duplicate_groups(owner, model)
    recognitions = done_by_image([image_id for group in groups for image_id in group], model)
    own = set(images.filter(pk__in=list(recognitions)).values_list("pk", flat=True))
    return [found for group in groups if len(found := [recognitions[i] for i in group if i in own]) > 1]


class SimilarList(APIView):
    @extend_schema(operation_id="recognitions_similar", summary="Your photos most similar to this one",
                   parameters=[SimilarQuerySerializer], responses={200: SimilarResponseSerializer})
    def get(self, request, pk):
        params = query(SimilarQuerySerializer, request)
        recognition = get_object_or_404(access.own_recognitions(request).select_related("image"), pk=pk)
        lang = language(request, params)
        return Response({"results": [{"similarity": score, "recognition": represent(found, lang)}
                                     for found, score in similar_to(recognition, params["limit"])]})


class DuplicateList(APIView):
    @extend_schema(operation_id="duplicates_list", summary="Your near-identical photos, in groups",
                   parameters=[DuplicatesQuerySerializer], responses={200: DuplicatesResponseSerializer})
    def get(self, request):
        params = query(DuplicatesQuerySerializer, request)
        lang = language(request, params)
        groups = duplicates_of(request, params.get("model") or settings.DEFAULT_MODEL)
        return Response({"groups": [{"recognitions": [represent(r, lang) for r in group]} for group in groups]})


@require_GET
def similar_photos(request, pk):
    """The image page's "Similar photos", loaded after the page."""
    recognition = access.own_recognitions(request).select_related("image").filter(
        image_id=pk, status=Recognition.Status.DONE).order_by("-created_at").first()
    found = similar_to(recognition, 8) if recognition else []
    return render(request, "similar/similar_photos.html", {
        "similar": [{"image": r.image, "percent": int(score * 100), "duplicate": score >= DUPLICATE_SIMILARITY}
                    for r, score in found]})


@require_GET
def duplicates_page(request):
    return render(request, "similar/duplicates.html", {"groups": duplicates_of(request, settings.DEFAULT_MODEL)})


@require_POST
def keep_one(request):
    """Keep the chosen photo of a group and delete the others: only one's own."""
    try:
        group = [uuid.UUID(pk) for pk in request.POST.getlist("group")]
        keep = uuid.UUID(request.POST.get("keep", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Choose the photo to keep."))
    if keep in group:
        delete_images(list(access.own_images(request).filter(pk__in=[pk for pk in group if pk != keep])))
    return redirect("duplicates")
