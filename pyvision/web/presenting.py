"""Recognitions and classes as the templates show them, in the page's language."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from pyvision.engine.registry import MODELS
from pyvision.meaning import answers

# How many of the top class's WordNet ancestors are shown above it (entity > physical
# entity > ... says nothing).
HIERARCHY_DEPTH = 5


# The engine's models as the site names them, in the page's language.
MODEL_NAMES = {
    "lite0": _("EfficientNet-Lite0: fast"),
    "lite2": _("EfficientNet-Lite2: more accurate"),
}


def models(excluding=()) -> list[dict]:
    return [{"name": name, "description": MODEL_NAMES.get(name, spec.description)}
            for name, spec in MODELS.items() if name not in excluding]


def language() -> str:
    return get_language() or "en"


def present(recognition):
    """A recognition with its predictions' names in the page's language and in English."""
    predictions = []
    if recognition.status == recognition.Status.DONE:
        for p in recognition.predictions.all():
            predictions.append({
                "rank": p.rank,
                "label": p.synset.label(language()),
                "english": p.synset.label("en"),
                "wnid": p.synset.wnid,
                "percent": round(p.score * 100, 1),
            })
    hierarchy = []
    if predictions:
        top = recognition.predictions.all()[0].synset
        hierarchy = [step["name"].replace("_", " ") for step in top.hierarchy[-HIERARCHY_DEPTH:]]
    hedged = answers.stored(recognition, language()) if predictions else None
    if hedged:
        # Floored: a 0.996 answer is "99%", never a certainty the model did not give.
        hedged["percent"] = int(hedged["score"] * 100)
    return {"recognition": recognition, "image": recognition.image, "predictions": predictions, "hierarchy": hierarchy,
            "hedged": hedged}
