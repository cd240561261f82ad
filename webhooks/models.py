import uuid

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    """A receiver of signed events (Standard Webhooks)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types sent to this endpoint.")
    # `whsec_` + base64 of 32 random bytes; shown once, when the endpoint is created.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField("actif", default=True)
    failure_streak = models.PositiveIntegerField("échecs consécutifs", default=0)
    disabled_at = models.DateTimeField("désactivé le", null=True, blank=True)
    disabled_reason = models.CharField("raison de la désactivation", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "point de terminaison webhook"
        verbose_name_plural = "points de terminaison webhook"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event, as sent to every subscribed endpoint: its id is the `webhook-id` header."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # msg_<32 hex>
    event = models.CharField(max_length=40)
    body = models.TextField(help_text="The JSON payload sent (and signed) at every attempt.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "événement webhook"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.id}"


class WebhookDelivery(models.Model):
    """One message to one endpoint, attempted until it succeeds or its retries run out."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        SUCCEEDED = "succeeded", "Livrée"
        FAILED = "failed", "Échouée"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; while an attempt is in flight, when its lease runs out.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "livraison webhook"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "message"], name="one_delivery_per_endpoint_message")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} -> {self.endpoint_id} {self.status}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what came back, how long it took, what went wrong."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "tentative webhook"
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_delivery_number")]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
