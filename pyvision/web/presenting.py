"""Recognitions and classes as the templates show them, in the page's language."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from pyvision.custom_models import catalog
from pyvision.custom_models.models import CustomModel
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
    """The built-in models, then the enabled custom ones (described in their owner's words)."""
    descriptions = {name: MODEL_NAMES.get(name, spec.description) for name, spec in MODELS.items()}
    descriptions.update(CustomModel.objects.filter(enabled=True).values_list("name", "description"))
    return [{"name": name, "description": descriptions[name] or name} for name in catalog.names() if name not in excluding]


def language() -> str:
    return get_language() or "en"


# An unfinished card asks for itself again, sooner at first, then less often: after
# POLL_FIRST_MS, each wait POLL_GROWTH times the last, up to POLL_LONGEST_MS, and
# after MAX_POLLS it stops and says to reload (about a minute and a half in all).
POLL_FIRST_MS = 300
POLL_GROWTH = 1.5
POLL_LONGEST_MS = 5000
MAX_POLLS = 20


def polling(card: dict, poll: int = 0) -> dict:
    """The card with when it asks for itself again: `next_poll` (None once it gives up)
    and `poll_delay_ms`."""
    if poll >= MAX_POLLS:
        return {**card, "next_poll": None}
    delay = min(POLL_LONGEST_MS, round(POLL_FIRST_MS * POLL_GROWTH ** poll))
    return {**card, "next_poll": poll + 1, "poll_delay_ms": delay}


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
    hedged = answers.stored(recognition, language()) if predictions else None
    if hedged:
        # Floored: a 0.996 answer is "99%", never a certainty the model did not give.
        hedged["percent"] = int(hedged["score"] * 100)
    return polling({"recognition": recognition, "image": recognition.image, "predictions": predictions,
                    "hierarchy": hierarchy, "hedged": hedged})
