from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pyvision.engine.registry import MODELS
from pyvision.engine.synsets import load_synsets
from pyvision.recognition.models import Recognition

# The languages every class has a name in ("en", "zh-hans", "ar", ...).
NAME_LANGUAGES = sorted(load_synsets()[0]["names"])
MAX_TOP_K = 10
MAX_WAIT_SECONDS = 30
TIMINGS = ("queue_ms", "decode_ms", "inference_ms", "total_ms")


class RecognitionRequestSerializer(serializers.Serializer):
    """One image, by exactly one of `image`, `url` or `image_base64`."""

    image = serializers.FileField(required=False, help_text="The image file (multipart/form-data).")
    url = serializers.CharField(required=False, max_length=2048, help_text="An http(s) URL to fetch the image from.")
    image_base64 = serializers.CharField(required=False, help_text="The image file, base64-encoded (a data: URL prefix is accepted).")
    model = serializers.ChoiceField(choices=list(MODELS), required=False, help_text="Default: the server's default model (lite0).")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=5)
    lang = serializers.ChoiceField(choices=NAME_LANGUAGES, required=False, help_text="Language of `label`.")


class WaitSerializer(serializers.Serializer):
    wait = serializers.FloatField(min_value=0, max_value=MAX_WAIT_SECONDS, default=0)


class LanguageSerializer(serializers.Serializer):
    lang = serializers.ChoiceField(choices=NAME_LANGUAGES, required=False)


class RecognitionFilterSerializer(LanguageSerializer):
    status = serializers.ChoiceField(choices=Recognition.Status.values, required=False)
    label = serializers.CharField(required=False, max_length=200,
                                  help_text="A wnid or a class name in any language: recognitions whose top-1 is that class.")


class SynsetFilterSerializer(LanguageSerializer):
    q = serializers.CharField(required=False, max_length=200, help_text="Part of a class name, in any language, or a wnid.")


class HierarchyEntrySerializer(serializers.Serializer):
    wnid = serializers.CharField()
    name = serializers.CharField()


class TimingsSerializer(serializers.Serializer):
    queue_ms = serializers.FloatField(allow_null=True)
    decode_ms = serializers.FloatField(allow_null=True)
    inference_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorSerializer()


class PredictionSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    wnid = serializers.CharField()
    label = serializers.CharField(help_text="The class's first name in the requested language.")
    names = serializers.DictField(child=serializers.CharField(), help_text="Every name, by language.")
    score = serializers.FloatField()
    hierarchy = HierarchyEntrySerializer(many=True, help_text="WordNet hypernyms, root first, ending with this class.")


def prediction(rank: int, synset, score: float, language: str) -> dict:
    """One PredictionSerializer object: the same for a recognition and a classify result."""
    return {"rank": rank, "wnid": synset.wnid, "label": synset.label(language), "names": synset.names,
            "score": score, "hierarchy": synset.hierarchy}


class SynsetSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    wnid = serializers.CharField()
    label = serializers.SerializerMethodField()
    names = serializers.DictField(child=serializers.CharField())
    hierarchy = HierarchyEntrySerializer(many=True)

    def get_label(self, synset) -> str:
        return synset.label(self.context["lang"])


class ModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    input_size = serializers.IntegerField()
    default = serializers.SerializerMethodField()

    def get_default(self, spec) -> bool:
        return spec.name == settings.DEFAULT_MODEL


class RecognitionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Recognition.Status.values)
    model = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    timings = serializers.SerializerMethodField()
    predictions = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    @extend_schema_field(TimingsSerializer)
    def get_timings(self, recognition):
        return {name: getattr(recognition, name) for name in TIMINGS}

    @extend_schema_field(PredictionSerializer(many=True))
    def get_predictions(self, recognition):
        if recognition.status != Recognition.Status.DONE:
            return []
        return [prediction(p.rank, p.synset, p.score, self.context["lang"]) for p in recognition.predictions.all()]

    @extend_schema_field(ErrorSerializer(allow_null=True))
    def get_error(self, recognition):
        if recognition.status != Recognition.Status.FAILED:
            return None
        return {"code": recognition.error_code, "message": recognition.error_message}


class PageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class RecognitionPageSerializer(PageSerializer):
    results = RecognitionSerializer(many=True)


class SynsetPageSerializer(PageSerializer):
    results = SynsetSerializer(many=True)


class ClassifyImageSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, max_length=2048, help_text="An http(s) URL to fetch the image from.")
    image_base64 = serializers.CharField(required=False, help_text="The image file, base64-encoded.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Give each image as exactly one of `url` or `image_base64`.")
        return attrs


class ClassifyRequestSerializer(serializers.Serializer):
    """Up to CLASSIFY_MAX_IMAGES images: multipart fields `image`, or JSON `images`."""

    # An empty file is refused in its own result (empty_file), not for the whole request.
    image = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False,
                                  help_text="Image files (multipart/form-data): repeat the field, one per image.")
    images = ClassifyImageSerializer(many=True, required=False, help_text="JSON: the images, by URL or base64.")
    model = serializers.ChoiceField(choices=list(MODELS), required=False, help_text="Default: the server's default model (lite0).")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=5)
    lang = serializers.ChoiceField(choices=NAME_LANGUAGES, required=False, help_text="Language of `label`.")


class ClassifyTimingsSerializer(serializers.Serializer):
    decode_ms = serializers.FloatField(allow_null=True, help_text="Decoding and preprocessing.")
    inference_ms = serializers.FloatField(allow_null=True, help_text="Waiting for the model and running it, in a batch.")
    total_ms = serializers.FloatField(help_text="From the request's images being read to this result.")


class ClassifyResultSerializer(serializers.Serializer):
    predictions = PredictionSerializer(many=True)
    error = ErrorSerializer(allow_null=True)
    timings = ClassifyTimingsSerializer()


class ClassifyResponseSerializer(serializers.Serializer):
    results = ClassifyResultSerializer(many=True, help_text="One per image, in the order they were sent.")
