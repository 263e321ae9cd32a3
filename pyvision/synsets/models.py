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
