"""Recognitions and classes as the templates show them, in the page's language."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from pyvision.custom_models import catalog
from pyvision.custom_models.models import CustomModel
from pyvision.engine.registry import MODELS

# How many of the top class's WordNet ancestors are shown above it (entity > physical
# entity > ... says nothing).
HIERARCHY_DEPTH = 5


# The engine's models as the site names them, in the page's language.
MODEL_NAMES = {
    "lite0": _("EfficientNet-Lite0: fast"),
    "lite2": _("EfficientNet-Lite2: more accurate"),
}


def models(excluding=()) -> list[dict]:
    """The built-in models, then the enabled custom ones (described in their owner's words)."""
    descriptions = {name: MODEL_NAMES.get(name, spec.description) for name, spec in MODELS.items()}
    descriptions.update(CustomModel.objects.filter(enabled=True).values_list("name", "description"))
    return [{"name": name, "description": descriptions[name] or name} for name in catalog.names() if name not in excluding]


def language() -> str:
    return get_language() or "en"


def present(recognition):
    """A recognition with its predictions' names in the page's language and in English."""
    predictions = []
    if recognition.status == recognition.Status.DONE:
        for p in recognition.predictions.all():
            predictions.append({
                "rank": p.rank,
                "label": p.predicted.label(language()),
                "english": p.predicted.label("en"),
                "wnid": p.predicted.wnid or p.predicted.label_id,
                "percent": round(p.score * 100, 1),
            })
    hierarchy = []
    if predictions:
        top = recognition.predictions.all()[0].predicted
        hierarchy = [step["name"].replace("_", " ") for step in top.hierarchy[-HIERARCHY_DEPTH:]]
    return {"recognition": recognition, "image": recognition.image, "predictions": predictions, "hierarchy": hierarchy}
