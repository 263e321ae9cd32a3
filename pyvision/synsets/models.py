import time

from django.db import models

from pyvision.engine.synsets import display_label


class Synset(models.Model):
    """One of the 1000 ImageNet classes, with its names and WordNet ancestry."""

    index = models.PositiveSmallIntegerField(primary_key=True, help_text="Position in the model's output.")
    wnid = models.CharField(max_length=9, unique=True)
    # {"en": "tabby, tabby cat", "zh-hans": "...", "ar": ..., ...}
    names = models.JSONField()
    # Root first: [{"wnid": "n00001740", "name": "entity"}, ..., this class]
    hierarchy = models.JSONField()

    class Meta:
        ordering = ["index"]

    def __str__(self) -> str:
        return f"{self.wnid} {self.label()}"

    def name(self, language: str = "en") -> str:
        """All synonyms in ``language``, falling back to English."""
        return self.names.get(language) or self.names["en"]

    def label(self, language: str = "en") -> str:
        """The name shown to people (see display_label)."""
        return display_label(self.name(language), language)


# Reading the 1000 classes costs a query and their JSON on every answer; a process keeps
# them this long, so names edited in the admin show everywhere within a minute.
CACHE_SECONDS = 60
_cached: tuple[float, dict[int, Synset]] = (0.0, {})


def by_index() -> dict[int, Synset]:
    """Every class by its index (the model's output position), as the database has them."""
    global _cached
    read_at, synsets = _cached
    if time.monotonic() - read_at > CACHE_SECONDS or not synsets:
        synsets = Synset.objects.in_bulk()
        _cached = (time.monotonic(), synsets)
    return synsets
