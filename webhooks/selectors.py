"""Reads of webhooks."""

from django.core.exceptions import ValidationError

from webhooks.models import WebhookEndpoint


def webhook_endpoints():
    return WebhookEndpoint.objects.order_by("created_at", "pk")


def webhook_endpoint_get(*, endpoint_id) -> WebhookEndpoint | None:
    try:
        return WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    except ValidationError:  # not a UUID
        return None


def webhook_deliveries(*, endpoint: WebhookEndpoint):
    """An endpoint's deliveries, newest first, with their attempts."""
    return endpoint.deliveries.select_related("message").prefetch_related("attempt_log").order_by("-created_at", "-pk")
