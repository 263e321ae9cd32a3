"""Search by meaning: "dog", "狗" or "vehicle" finds the photos of every class under that
node of the WordNet hierarchy, ranked by the score each photo gives the node. A custom
model's label, which has no hierarchy, is found by its id or one of its names."""

from django.db.models import OuterRef, Q, Subquery, Sum

from pyvision.engine.hedging import hierarchy
from pyvision.custom_models.models import Label
from pyvision.engine.synsets import SYNONYM_SEPARATOR, ancestor_names
from pyvision.recognition.models import Prediction, Recognition
from pyvision.synsets.models import Synset

# A class counts for a photo when it is in the photo's top 5 with at least this score:
# below it, a class is the model's noise, not something it saw.
MIN_SCORE = 0.05


def synonyms(names: dict[str, str], language: str | None = None) -> list[str]:
    """A node's names, casefolded: in one language, or in all of them."""
    texts = [names.get(language) or ""] if language else names.values()
    return [name.casefold() for text in texts for name in SYNONYM_SEPARATOR.split(text.strip()) if name]


def named_nodes(text: str) -> list[str]:
    """The wnids of the classes and ancestors that ``text`` names exactly, in any language, or is."""
    wanted = text.strip().casefold()
    nodes = [wnid for wnid, names in ancestor_names().items() if wnid == wanted or wanted in synonyms(names)]
    nodes += [wnid for wnid, names in Synset.objects.values_list("wnid", "names")
              if wnid == wanted or wanted in synonyms(names)]
    return nodes


def classes_meant(text: str) -> list[int]:
    """The indexes of the classes at or under every node ``text`` names."""
    tree = hierarchy()
    return sorted({int(index) for wnid in named_nodes(text) for index in tree.classes_under(wnid)})


def labels_meant(text: str) -> list[int]:
    """The custom labels (primary keys) whose id is ``text`` or one of whose names, in any
    language, it is, ignoring case: of every model, removed ones too, whose past
    recognitions still name them."""
    wanted = text.strip().casefold()
    return [pk for pk, key, names in Label.objects.values_list("pk", "key", "names")
            if key.casefold() == wanted or wanted in synonyms(names)]


def recognitions_meaning(recognitions, indexes: list[int], labels: list[int] = ()):
    """Done recognitions with a top-5 class among ``indexes`` (ImageNet's) or ``labels``
    (custom models'), best first by the score they give those classes together
    (``meaning_score``)."""
    return recognitions.filter(
        Q(predictions__synset__in=indexes) | Q(predictions__label__in=labels),
        status=Recognition.Status.DONE, predictions__score__gte=MIN_SCORE,
    ).annotate(meaning_score=Sum("predictions__score")).order_by("-meaning_score", "-created_at")


def images_meaning(images, indexes: list[int], labels: list[int] = ()):
    """The same for images: each scored by its best recognition (one per model may exist)."""
    best = Prediction.objects.filter(
        Q(synset__in=indexes) | Q(label__in=labels),
        recognition__image=OuterRef("pk"), recognition__status=Recognition.Status.DONE, score__gte=MIN_SCORE,
    ).values("recognition").annotate(total=Sum("score")).order_by("-total").values("total")[:1]
    return images.annotate(meaning_score=Subquery(best)).filter(meaning_score__isnull=False).order_by(
        "-meaning_score", "-created_at")


def ranked_classes(text: str, language: str) -> list[int]:
    """Class indexes for a class-name search, best first: the classes under a node the
    text names; then names in the page's language that start with it, then one of whose
    words does; then the same in any language; then names containing it anywhere."""
    wanted = text.strip().casefold()
    meant = set(classes_meant(text))
    ranked = []
    for index, wnid, names in Synset.objects.values_list("index", "wnid", "names"):
        own, every = synonyms(names, language) or synonyms(names, "en"), synonyms(names)
        tiers = [
            index in meant,
            any(name.startswith(wanted) for name in own),
            any(word.startswith(wanted) for name in own for word in name.split()),
            any(name.startswith(wanted) or any(word.startswith(wanted) for word in name.split()) for name in every),
            any(wanted in name for name in every),
        ]
        if any(tiers):
            ranked.append((tiers.index(True), index))
    return [index for _, index in sorted(ranked)]

