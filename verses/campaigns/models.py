"""A campaign and its deliveries (imported by verses.models: the verses app's models)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from verses.models import Delivery


class Campaign(models.Model):
    """An announcement to the users matching `segment`, at `send_at` (an instant) or at
    `local_time` on `date` by each user's own clock."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Planifiée"
        SENDING = "sending", "En cours d'envoi"  # its audience is fixed: one delivery per user
        SENT = "sent", "Envoyée"
        CANCELLED = "cancelled", "Annulée"

    title = models.CharField(max_length=100)
    body = models.CharField(max_length=500)
    # {"languages": [...], "timezones": [...], "moods": [...], "active_within_days": n}: each key
    # optional (absent: no filter); the empty mood "" is the users without a mood.
    segment = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(null=True, blank=True, help_text="an instant (UTC)")
    local_time = models.TimeField(null=True, blank=True, help_text="on each user's own clock, on `date`")
    date = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="its audience fixed, the sending begun")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="sent or cancelled")
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "campagne"
        verbose_name_plural = "campagnes"
        constraints = [
            models.CheckConstraint(
                condition=Q(send_at__isnull=False, local_time__isnull=True, date__isnull=True)
                | Q(send_at__isnull=True, local_time__isnull=False, date__isnull=False),
                name="campaign_send_at_or_local_time",
            ),
        ]
        indexes = [models.Index(fields=["state"], name="campaign_state_idx")]

    def __str__(self) -> str:
        return f"{self.pk} {self.title}"

    @property
    def label(self) -> str:
        """Its FCM analytics label (Message.fcm_options.analytics_label)."""
        return f"campaign-{self.pk}"


class CampaignDelivery(models.Model):
    """The push of one campaign to one user: (campaign, user) is unique, and the claim, the
    attempts and the devices FCM accepted work as the daily verse's Delivery."""

    State = Delivery.State

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="ticks that tried to send it")
    message_id = models.CharField(max_length=200, blank=True, help_text="FCM's message name")
    error = models.CharField(max_length=200, blank=True, help_text="the last error")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True, help_text="the first open, as the app reported it")
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_devices = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "envoi de campagne"
        verbose_name_plural = "envois de campagne"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="one_campaign_delivery_per_user"),
        ]
        indexes = [models.Index(fields=["campaign", "state"], name="campaigndelivery_state_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.state}"
