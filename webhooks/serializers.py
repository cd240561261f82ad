import socket

from django.core.validators import URLValidator
from rest_framework import serializers

from soulverse.api import StrictBooleanField, StrictCharField
from webhooks.events import EVENTS
from webhooks.transport import AddressRefused, url_addresses


class WebhookUrlField(StrictCharField):
    """An http(s) URL whose host does not resolve to a private, loopback or link-local address
    (unless WEBHOOKS_ALLOWED_PRIVATE_HOSTS lists it). A host that does not resolve (yet) is
    accepted: it is checked again at every delivery."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, **kwargs)

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        URLValidator(schemes=["http", "https"], message="Saisissez une URL http(s) valide.")(url)
        try:
            url_addresses(url)
        except AddressRefused as exc:
            raise serializers.ValidationError(f"Adresse refusée : {exc}.") from None
        except (socket.gaierror, UnicodeError, ValueError):
            pass
        return url


class EventsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.ChoiceField(
            choices=EVENTS, error_messages={"invalid_choice": "Événement inconnu : « {input} »."}),
            allow_empty=False, max_length=len(EVENTS) * 2, **kwargs)


class WebhookEndpointCreateSerializer(serializers.Serializer):
    """Body of POST webhooks."""

    url = WebhookUrlField(help_text="Where events are POSTed (http or https).")
    events = EventsField(help_text="Event types to receive.")
    description = StrictCharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    """Body of PATCH webhooks/{id}: any of these fields."""

    url = WebhookUrlField(required=False)
    events = EventsField(required=False)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    is_active = StrictBooleanField(required=False, help_text="`true` re-enables a disabled endpoint.")


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS))
    is_active = serializers.BooleanField()
    failure_streak = serializers.IntegerField(help_text="Failed attempts in a row.")
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="`whsec_…`: verify signatures with it. Shown this once only.")
