"""Hedged answers: stored when a recognition is done, shown in the reader's language."""

from django.conf import settings
from django.dispatch import receiver

from pyvision.engine import hedging
from pyvision.engine.synsets import ancestor_names
from pyvision.recognition.signals import recognition_done
from pyvision.synsets.models import by_index

from .models import HedgedAnswer


@receiver(recognition_done)
def store_hedged(sender, recognition, result, **kwargs):
    hedged = hedging.hedge(recognition.model, result.probabilities, settings.HEDGE_CONFIDENCE)
    if hedged is not None:  # a model without a hierarchy has no hedged answer
        HedgedAnswer.objects.create(recognition=recognition, wnid=hedged.wnid, score=hedged.score)


def hedged_now(model: str, probabilities, language: str) -> dict | None:
    """The API's `hedged` object straight from a model's probabilities (classify results)."""
    hedged = hedging.hedge(model, probabilities, settings.HEDGE_CONFIDENCE)
    return None if hedged is None else described(hedged.wnid, hedged.score, language)


def stored(recognition, language: str) -> dict | None:
    """The API's `hedged` object of a recognition: null until it is done, and for a model without a hierarchy."""
    try:
        answer = recognition.hedged
    except HedgedAnswer.DoesNotExist:
        return None
    return described(answer.wnid, answer.score, language)


def described(wnid: str, score: float, language: str) -> dict:
    """The API's `hedged` object: a class with its names as the database has them, or an ancestor."""
    index = hedging.hierarchy().class_index.get(wnid)
    if index is not None:
        synset = by_index()[index]
        return {"wnid": wnid, "label": synset.label(language), "names": synset.names, "score": score}
    names = ancestor_names()[wnid]
    return {"wnid": wnid, "label": names.get(language) or names["en"], "names": names, "score": score}
