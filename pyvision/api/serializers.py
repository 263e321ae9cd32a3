from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from pyvision.custom_models import catalog
from pyvision.engine.registry import MODELS
from pyvision.engine.synsets import load_synsets
from pyvision.meaning import answers, search
from pyvision.recognition.models import Recognition

# The languages every class has a name in ("en", "zh-hans", "ar", ...).
NAME_LANGUAGES = sorted(load_synsets()[0]["names"])
MAX_TOP_K = 10
MAX_WAIT_SECONDS = 30
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
TIMINGS = ("queue_ms", "decode_ms", "inference_ms", "total_ms")


@extend_schema_field({"type": "string", "pattern": "^[^\\u0000]*$"})
class Text(serializers.CharField):
    """A string parameter taken as sent, so that the schema can say what is accepted:
    DRF would strip it of what Python calls whitespace, which no schema pattern spells,
    and refuses NUL characters, which the pattern says."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)


class JsonTypes:
    """A JSON body's values are taken with the types the schema gives them: DRF alone
    would take `"3"` for an integer and `3` for a string."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {name: [_("Must be a JSON %(type)s.") % {"type": kind}]
                     for name, field in self.fields.items()
                     if (kind := json_type(field)) and data.get(name) is not None and not is_json(data[name], kind)}
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def json_type(field) -> str | None:
    if isinstance(field, serializers.IntegerField):
        return "integer"
    if isinstance(field, (serializers.CharField, serializers.ChoiceField)):
        return "string"
    return None


def is_json(value, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    # bool is an int to Python, not to JSON; 3.0 is an integer to JSON Schema.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


class ModelChoice(serializers.ChoiceField):
    """The models this server runs now, the custom ones included: read at each request
    and each time the schema is generated, so the schema's enum says what is accepted."""

    def __init__(self, **kwargs):
        super().__init__(choices=(), **kwargs)

    @property
    def choices(self):
        try:
            names = catalog.names()
        except DatabaseError:
            # `manage.py check` generates the schema, before the database may exist.
            names = list(MODELS)
        return {name: name for name in names}

    @choices.setter
    def choices(self, value):
        pass  # always the catalogue's

    def to_representation(self, value):
        return value

    def to_internal_value(self, data):
        if not isinstance(data, str) or not catalog.is_available(data):
            raise serializers.ValidationError(_("No model is named %(name)s; see GET /api/v1/models.") % {"name": str(data)[:40]})
        return data


class RecognitionOptionsSerializer(serializers.Serializer):
    model = ModelChoice(required=False, help_text="A model from `GET /api/v1/models`, built-in or custom. Default: the server's default model (lite0).")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=5, help_text="How many classes to return.")
    lang = serializers.ChoiceField(choices=NAME_LANGUAGES, required=False, help_text="Language of `label`.")


class RecognitionUploadSerializer(RecognitionOptionsSerializer):
    """multipart/form-data: the image file."""

    image = serializers.FileField(help_text="The image file.")


class RecognitionUrlSerializer(JsonTypes, RecognitionOptionsSerializer):
    """JSON: the image at a URL."""

    url = Text(max_length=2048, help_text="An http(s) URL to fetch the image from.")


class RecognitionBase64Serializer(JsonTypes, RecognitionOptionsSerializer):
    """JSON: the image file in base64."""

    image_base64 = Text(help_text="The image file, base64-encoded (a data: URL prefix is accepted).")


# Each way of sending the image, by its field.
IMAGE_SERIALIZERS = {"image": RecognitionUploadSerializer, "url": RecognitionUrlSerializer,
                     "image_base64": RecognitionBase64Serializer}


class WaitSerializer(serializers.Serializer):
    wait = serializers.FloatField(min_value=0, max_value=MAX_WAIT_SECONDS, default=0,
                                  help_text="Seconds to wait for the result.")


class LanguageSerializer(serializers.Serializer):
    lang = serializers.ChoiceField(choices=NAME_LANGUAGES, required=False,
                                   help_text="Language of `label`; default: the request's language where classes have names in it, else English.")


class ListSerializer(LanguageSerializer):
    page = serializers.IntegerField(min_value=1, required=False, help_text="Page number; a page past the last one is 404.")
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False,
                                         help_text=f"Items per page (default {PAGE_SIZE}).")


class RecognitionFilterSerializer(ListSerializer):
    status = serializers.ChoiceField(choices=Recognition.Status.values, required=False)
    label = Text(required=False, max_length=200, help_text=(
        "A wnid, or the name in any language of a class or of an ancestor such as `dog`, `狗` or `vehicle`, or a "
        "custom model's label id or name in any language: the done "
        f"recognitions with a class at or under it in their top 5 (score >= {search.MIN_SCORE}), ranked by the score "
        "they give it, the sum over those classes."))


class SynsetFilterSerializer(ListSerializer):
    q = Text(required=False, max_length=200, help_text="Part of a class name, in any language, or a wnid.")


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
    wnid = serializers.CharField(allow_null=True, help_text="The ImageNet class; null for a custom model's label.")
    label_id = serializers.CharField(allow_null=True, help_text="A custom model's label id; null for an ImageNet class.")
    label = serializers.CharField(help_text="The class's first name in the requested language.")
    names = serializers.DictField(child=serializers.CharField(), help_text="Every name, by language.")
    score = serializers.FloatField()
    hierarchy = HierarchyEntrySerializer(many=True, help_text="WordNet hypernyms, root first, ending with this class; "
                                                              "empty for a custom model's label.")


def prediction(rank: int, predicted, score: float, language: str) -> dict:
    """One PredictionSerializer object: the same for a recognition and a classify result.
    ``predicted``: a Synset, or a custom model's Label."""
    return {"rank": rank, "wnid": predicted.wnid, "label_id": getattr(predicted, "label_id", None),
            "label": predicted.label(language), "names": predicted.names, "score": score,
            "hierarchy": predicted.hierarchy}


class HedgedSerializer(serializers.Serializer):
    wnid = serializers.CharField()
    label = serializers.CharField(help_text="Its first name in the requested language (English where it has none).")
    names = serializers.DictField(child=serializers.CharField(),
                                  help_text="Every name, by language: all of a class's; en, zh-hans and zh-hant of an ancestor.")
    score = serializers.FloatField(help_text="The calibrated probability that the photo shows this or something under it.")


HEDGED_HELP = ("The most specific class or WordNet ancestor (\"dog\" for an unsure breed) that the model is at least "
               "PYVISION_HEDGE_CONFIDENCE sure of; null until done, and for a model without a hierarchy.")


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
    # Not get_default: DRF's Field has one, whose docstring would be this field's documentation.
    default = serializers.SerializerMethodField(method_name="is_default", help_text="The model used when none is asked for.")
    custom = serializers.BooleanField(help_text="Added by this server's operator (`pyvision models add`).")
    labels = serializers.IntegerField(help_text="How many classes it tells apart.")
    languages = serializers.ListField(child=serializers.CharField(), help_text="The languages its classes have names in.")
    sha256 = serializers.CharField(help_text="The model file's SHA-256: a model replaced under the same name has another.")

    def is_default(self, model) -> bool:
        return model["name"] == settings.DEFAULT_MODEL


class RecognitionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Recognition.Status.values)
    model = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    timings = serializers.SerializerMethodField()
    predictions = serializers.SerializerMethodField()
    hedged = serializers.SerializerMethodField(help_text=HEDGED_HELP)
    error = serializers.SerializerMethodField()

    @extend_schema_field(HedgedSerializer(allow_null=True))
    def get_hedged(self, recognition):
        if recognition.status != Recognition.Status.DONE:
            return None  # not read: an answer made while the database is away still says what it knows
        if self.context.get("result") is not None:
            return answers.hedged_now(recognition.model, self.context["result"].probabilities, self.context["lang"])
        return answers.stored(recognition, self.context["lang"])

    @extend_schema_field(TimingsSerializer)
    def get_timings(self, recognition):
        return {name: getattr(recognition, name) for name in TIMINGS}

    @extend_schema_field(PredictionSerializer(many=True))
    def get_predictions(self, recognition):
        if recognition.status != Recognition.Status.DONE:
            return []
        if (result := self.context.get("result")) is not None:
            classes = catalog.classes(recognition.model)
            return [prediction(p.rank, classes[p.index], p.score, self.context["lang"]) for p in result.predictions]
        return [prediction(p.rank, p.predicted, p.score, self.context["lang"]) for p in recognition.predictions.all()]

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


class ClassifyUrlSerializer(JsonTypes, serializers.Serializer):
    url = Text(max_length=2048, help_text="An http(s) URL to fetch the image from.")


class ClassifyBase64Serializer(JsonTypes, serializers.Serializer):
    image_base64 = Text(help_text="The image file, base64-encoded.")


@extend_schema_field(PolymorphicProxySerializer(component_name="ClassifyImage", resource_type_field_name=None,
                                                serializers=[ClassifyUrlSerializer, ClassifyBase64Serializer]))
class ClassifyImage(serializers.Field):
    """One image of a JSON classify request: exactly one of `url` or `image_base64`."""

    def to_internal_value(self, data):
        if not isinstance(data, dict) or len(data.keys() & {"url", "image_base64"}) != 1:
            raise serializers.ValidationError("Give each image as exactly one of `url` or `image_base64`.")
        image = (ClassifyUrlSerializer if "url" in data else ClassifyBase64Serializer)(data=data)
        image.is_valid(raise_exception=True)
        return image.validated_data


class ClassifyUploadSerializer(RecognitionOptionsSerializer):
    """multipart/form-data: the image files."""

    # An empty file is refused in its own result (empty_file), not for the whole request.
    image = serializers.ListField(child=serializers.FileField(allow_empty_file=True), min_length=1,
                                  max_length=settings.CLASSIFY_MAX_IMAGES,
                                  help_text="The image files: repeat the field, one per image.")


class ClassifyJsonSerializer(JsonTypes, RecognitionOptionsSerializer):
    """JSON: the images, by URL or base64."""

    images = serializers.ListField(child=ClassifyImage(), min_length=1, max_length=settings.CLASSIFY_MAX_IMAGES)


class ClassifyTimingsSerializer(serializers.Serializer):
    decode_ms = serializers.FloatField(allow_null=True, help_text="Decoding and preprocessing.")
    inference_ms = serializers.FloatField(allow_null=True, help_text="Waiting for the model and running it, in a batch.")
    total_ms = serializers.FloatField(help_text="From the request's images being read to this result.")


class ClassifyResultSerializer(serializers.Serializer):
    predictions = PredictionSerializer(many=True)
    hedged = HedgedSerializer(allow_null=True, help_text=HEDGED_HELP)
    error = ErrorSerializer(allow_null=True)
    timings = ClassifyTimingsSerializer()


class ClassifyResponseSerializer(serializers.Serializer):
    results = ClassifyResultSerializer(many=True, help_text="One per image, in the order they were sent.")
