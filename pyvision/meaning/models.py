from django.db import models

from pyvision.recognition.models import Recognition


class HedgedAnswer(models.Model):
    """A done recognition's hedged answer: the most specific class or ancestor its model
    was at least PYVISION_HEDGE_CONFIDENCE sure of, when it finished."""

    recognition = models.OneToOneField(Recognition, primary_key=True, on_delete=models.CASCADE, related_name="hedged")
    wnid = models.CharField(max_length=9)
    score = models.FloatField()

    def __str__(self) -> str:
        return f"{self.wnid} {self.score:.3f}"
