import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from soulverse.api import StrictBooleanField, StrictCharField, StrictSerializer, UTCDateTimeField
from webhooks.events import EVENTS
from webhooks.models import WebhookDelivery
from webhooks.transport import AddressRefused, url_addresses

# What the schema documents and the server enforces (a host name, not an address): every URL
# matching it is accepted unless its host resolves to a refused address. A host listed in
# WEBHOOKS_ALLOWED_PRIVATE_HOSTS (tests' 127.0.0.1) may also be an address with any port.
URL_PATTERN = (
    r"^https?://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:[1-9][0-9]{0,3})?"
    r"(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%=&-]*)?$"
)


@extend_schema_field(
    {"type": "string", "maxLength": 2000, "pattern": URL_PATTERN, "example": "https://hooks.example.org/soulverse"}
)
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
            urlsplit(url).port  # noqa: B018 (raises on a port out of range)
        except ValueError:
            raise serializers.ValidationError("Port invalide.") from None
        try:
            url_addresses(url)
        except AddressRefused as exc:
            raise serializers.ValidationError(f"Adresse refusée : {exc}.") from None
        except (socket.gaierror, UnicodeError, ValueError):
            pass
        allowed = {host.strip().lower().strip("[]") for host in settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS}
        if (urlsplit(url).hostname or "") not in allowed and not re.fullmatch(URL_PATTERN, url):
            raise serializers.ValidationError(
                "URL non prise en charge : un nom d'hôte en minuscules, un port de 1 à 9999, un chemin "
                "et une requête sans caractères spéciaux."
            )
        return url


class EventsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.ChoiceField(
                choices=EVENTS, error_messages={"invalid_choice": "Événement inconnu : « {input} »."}
            ),
            allow_empty=False,
            min_length=1,
            max_length=len(EVENTS) * 2,
            **kwargs,
        )

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):  # per-item errors {index: [...]}: one flat list of messages
                raise serializers.ValidationError(
                    [f"[{index}] {message}" for index, messages in exc.detail.items() for message in messages]
                ) from None
            raise


class WebhookEndpointCreateSerializer(StrictSerializer):
    """Body of POST webhooks."""

    url = WebhookUrlField(help_text="Where events are POSTed (http or https).")
    events = EventsField(help_text="Event types to receive.")
    description = StrictCharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointUpdateSerializer(StrictSerializer):
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
    disabled_at = UTCDateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="`whsec_…`: verify signatures with it. Shown this once only.")


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    attempted_at = UTCDateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="null: no HTTP answer (see `error`).")
    duration_ms = serializers.IntegerField()
    succeeded = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField(help_text="The `webhook-id` header.")
    event = serializers.ChoiceField(choices=EVENTS, source="message.event")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = WebhookAttemptSerializer(many=True, source="attempt_log.all")
    next_attempt_at = UTCDateTimeField(allow_null=True)
    created_at = UTCDateTimeField()
    completed_at = UTCDateTimeField(allow_null=True)
