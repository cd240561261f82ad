import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from soulverse.api import (
    NO_NUL_PATTERN,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    StrictSerializerSchema,
    UTCDateTimeField,
)
from users.models import Device, User, validate_quarter_hour

QUARTER_HOUR_PATTERN = r"^([01][0-9]|2[0-3]):(00|15|30|45)$"
# The schema's format for a time zone name (not one of OpenAPI's registered formats: a hint for
# readers and generators, which treat it as a plain string).
TIME_ZONE_FORMAT = "iana-time-zone"


class QuarterHourField(serializers.TimeField):
    """A local time on the quarter hour, exactly `HH:MM` in and out (strptime alone takes `6:00`)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise serializers.ValidationError("Heure invalide : format attendu HH:MM (ex. 06:00).")
        parsed = super().to_internal_value(value)
        try:
            validate_quarter_hour(parsed)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return parsed


class MeSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
    }
    notify_at = QuarterHourField(required=False)
    notifications_enabled = StrictBooleanField(required=False)
    # The old way of registering a phone (one FCM registration token): it becomes a token device
    # (POST users/me/devices is the new way). Write-only: GET shows no token; "" removes the
    # user's token devices.
    fcm_token = StrictCharField(max_length=512, allow_blank=True, required=False, write_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "mood",
            "language",
            "timezone",
            "notify_at",
            "notifications_enabled",
            "fcm_token",
            "date_joined",
        ]
        read_only_fields = ["id", "email", "date_joined"]

    def validate(self, attrs):
        StrictSerializer.unknown_fields_refuse(self)
        read_only = sorted(name for name in self.initial_data if name in self.Meta.read_only_fields)
        if read_only:
            raise serializers.ValidationError({name: "Ce champ ne peut pas être modifié." for name in read_only})
        return attrs


class MeSchema(OpenApiSerializerExtension):
    """The schema says what the serializer enforces: no NUL in the token, `notify_at` as `HH:MM` on
    the quarter hour, no other fields in a PATCH."""

    target_class = MeSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["properties"]["fcm_token"]["pattern"] = NO_NUL_PATTERN
        schema["properties"]["notify_at"] = {
            "type": "string",
            "pattern": QUARTER_HOUR_PATTERN,
            "example": "06:00",
            "description": "Local time of the daily push (in `timezone`), on the quarter hour.",
        }
        # An IANA name as a string, not an enum of ~600 names: client generators turn such an enum
        # into identifiers that collide (GMT0 and GMT-0). The model's validator refuses unknown names.
        schema["properties"]["timezone"] = {
            "type": "string",
            "format": TIME_ZONE_FORMAT,
            "maxLength": 64,
            "example": "Africa/Lome",
            "description": "The user's time zone: an IANA time zone database name (`Africa/Lome`, "
            "`Europe/Paris`); an unknown name is refused with 400.",
        }
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class LoginSerializer(StrictSerializer):
    """Body of POST /api/v1/auth/login."""

    email = StrictCharField(max_length=254, allow_blank=True)
    password = StrictCharField(max_length=128, allow_blank=True, trim_whitespace=False, write_only=True)


class LoginResultSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key, shown this once: send it as `Authorization: Token <key>`.")
    expiry = serializers.DateTimeField()


class TokenSerializer(serializers.Serializer):
    """One of the user's tokens (one per device), never its key."""

    prefix = serializers.CharField(source="token_key", help_text="The key's first characters.")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, token) -> bool:
        return token.pk == getattr(self.context["request"].auth, "pk", None)


# A Firebase Installation ID: 22 URL-safe base64 characters, the first of c, d, e or f (its four
# high bits are 0111).
FID_PATTERN = r"^[cdef][A-Za-z0-9_-]{21}$"
# An FCM registration token: URL-safe base64 and ':' (no spaces, no control characters).
TOKEN_PATTERN = r"^[A-Za-z0-9_:.-]+$"


class DeviceSerializer(serializers.Serializer):
    """One of the user's devices (what push reaches)."""

    kind = serializers.ChoiceField(choices=Device.Kind.choices)
    id = serializers.CharField(source="identifier", help_text="The FID or the FCM registration token.")
    platform = serializers.CharField(help_text="android, ios, web; empty when registered without one.")
    app_version = serializers.CharField()
    created_at = UTCDateTimeField()
    last_seen_at = UTCDateTimeField()


class DeviceRegisterSerializer(StrictSerializer):
    """Body of POST /api/v1/users/me/devices."""

    kind = serializers.ChoiceField(
        choices=Device.Kind.choices,
        help_text="`fid`: a Firebase Installation ID (apps registered for FID-based messaging); "
        "`token`: an FCM registration token (the old way).",
    )
    id = StrictCharField(max_length=512, help_text="The FID or the registration token, whole.")
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    app_version = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
    replaces = StrictCharField(
        max_length=512,
        required=False,
        allow_blank=True,
        default="",
        help_text="The registration token this FID supersedes on the same phone: that device is removed.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        pattern = FID_PATTERN if attrs["kind"] == Device.Kind.FID else TOKEN_PATTERN
        if not re.fullmatch(pattern, attrs["id"]):
            raise serializers.ValidationError(
                {"id": "Identifiant invalide : une FID fait 22 caractères (A-Z, a-z, 0-9, - et _)."}
                if attrs["kind"] == Device.Kind.FID
                else {"id": "Jeton invalide : caractères attendus A-Z, a-z, 0-9, -, _, : et ."}
            )
        return attrs


class DeviceRegisterSchema(StrictSerializerSchema):
    """The schema says what the serializer enforces: the identifier's form depends on `kind` (one
    object shape per kind), no other fields, no NUL."""

    target_class = DeviceRegisterSerializer
    match_subclasses = False
    priority = 1  # over StrictSerializerSchema

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        if direction != "request":
            return schema
        shapes = []
        for kind, pattern, description in (
            ("fid", FID_PATTERN, "A Firebase Installation ID: 22 characters, the first c, d, e or f."),
            ("token", TOKEN_PATTERN, "An FCM registration token, whole."),
        ):
            properties = {
                **schema["properties"],
                # A pattern, not a one-value enum (drf-spectacular would merge the two into one component).
                "kind": {"type": "string", "pattern": f"^{kind}$", "description": f"`{kind}`"},
                "id": {**schema["properties"]["id"], "pattern": pattern, "minLength": 1, "description": description},
            }
            shapes.append({**schema, "properties": properties, "additionalProperties": False})
        # The shared `required` at the top as well: drf-spectacular reads it there to mark the request
        # body itself required (an empty POST is a 400, not a valid request).
        return {"oneOf": shapes, "required": schema["required"], "description": schema.get("description", "")}
