from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pyvision.engine.registry import Label as LabelSpec
from pyvision.engine.registry import ModelSpec
from pyvision.engine.synsets import first_synonym


def stored_name(instance, filename: str) -> str:
    # The name is unique among the models, so no other model's file is ever overwritten.
    return f"models/{instance.name}-{instance.sha256[:16]}.onnx"


class CustomModel(models.Model):
    """An ONNX classifier added by an operator, served like the built-in ones."""

    name = models.SlugField(max_length=32, unique=True)
    description = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=stored_name, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(help_text="The file's size in bytes.")
    input_size = models.PositiveSmallIntegerField()
    crop_ratio = models.FloatField(help_text="The centre crop's side as a share of the shorter side.")
    # Per channel, on the 0-1 scale (torchvision's convention).
    mean = models.JSONField()
    std = models.JSONField()
    # Found out by `models add` from the model's answers on sample images, or as the
    # operator said with --output.
    output = models.CharField(max_length=16, default="logits", choices=[
        ("logits", _("logits (the service applies a softmax)")),
        ("probabilities", _("probabilities (used as they are)")),
    ], help_text="What the model's output row is.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> ModelSpec:
        labels = tuple(LabelSpec(label.key, label.names) for label in self.labels.all())
        return ModelSpec(self.name, self.file.name, self.input_size, self.description or self.name,
                         crop_ratio=self.crop_ratio, mean=tuple(v * 255 for v in self.mean),
                         std=tuple(v * 255 for v in self.std), labels=labels, sha256=self.sha256,
                         output=self.output)

    def languages(self) -> list[str]:
        return sorted({lang for label in self.labels.all() for lang in label.names})


class Label(models.Model):
    """One class of a custom model. Kept when its model is removed: past predictions
    still name it."""

    model = models.ForeignKey(CustomModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="labels")
    # The model's name at the time, for a label whose model was removed.
    model_name = models.CharField(max_length=32)
    index = models.PositiveIntegerField(help_text="Position in the model's output.")
    key = models.CharField("id", max_length=200, help_text="The label's id, as given in the labels file.")
    # {"en": "red", "zh-hans": "红色", ...}
    names = models.JSONField()
    # The languages whose name a translation service wrote, not a person.
    machine_translated = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["model_name", "index"]
        constraints = [models.UniqueConstraint(fields=["model", "index"], name="one_label_per_output")]

    def __str__(self) -> str:
        return f"{self.model_name}: {self.names.get('en', self.key)}"

    # Where an ImageNet class has a wnid and a WordNet hierarchy, a custom label has neither.
    wnid = None
    hierarchy: list = []

    @property
    def label_id(self) -> str:
        return self.key

    def label(self, language: str = "en") -> str:
        return first_synonym(self.names.get(language) or self.names["en"])
