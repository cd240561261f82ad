import uuid

from django.conf import settings
from django.db import models


class DailyVerse(models.Model):
    """The verse one user receives on one day; (user, day) is unique."""

    class Source(models.TextChoices):
        AI = "ai", "IA"
        FALLBACK = "fallback", "Verset de secours"

    # Ids are made in Python so that a bulk insert that skips conflicts still tells
    # exactly which rows it created.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_verses"
    )
    day = models.DateField()
    mood = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=2)
    reference = models.CharField(max_length=64)
    verse_key = models.CharField(max_length=32, help_text="Stable id of the passage.")
    text = models.TextField()
    reflection = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "verset du jour"
        verbose_name_plural = "versets du jour"
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_daily_verse_per_user_day"),
        ]
        indexes = [models.Index(fields=["day", "source"], name="verses_day_source_idx")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.reference}"
