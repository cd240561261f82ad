import zoneinfo

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from soulverse.api import NO_NUL_PATTERN, StrictBooleanField, StrictCharField, StrictSerializer
from users.models import User, validate_quarter_hour


class MeSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping, models.CharField: StrictCharField,
    }
    # The model's validator as a choice, so that the schema lists the accepted names.
    timezone = serializers.ChoiceField(choices=sorted(zoneinfo.available_timezones()), required=False,
                                       error_messages={"invalid_choice": "Fuseau horaire inconnu : {input}"})

    notify_at = serializers.TimeField(
        format="%H:%M", input_formats=["%H:%M"], required=False, validators=[validate_quarter_hour],
        error_messages={"invalid": "Heure invalide : format attendu HH:MM (ex. 06:00)."})
    notifications_enabled = StrictBooleanField(required=False)

    class Meta:
        model = User
        fields = ["id", "email", "mood", "language", "timezone", "notify_at", "notifications_enabled", "fcm_token",
                  "date_joined"]
        read_only_fields = ["id", "email", "date_joined"]
        extra_kwargs = {"fcm_token": {"write_only": True}}

    def validate(self, attrs):
        StrictSerializer.unknown_fields_refuse(self)
        read_only = sorted(name for name in self.initial_data if name in self.Meta.read_only_fields)
        if read_only:
            raise serializers.ValidationError({name: "Ce champ ne peut pas être modifié." for name in read_only})
        return attrs


class MeSchema(OpenApiSerializerExtension):
    """The schema says what the serializer enforces: no NUL in the token, no other fields in a PATCH."""

    target_class = MeSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["properties"]["fcm_token"]["pattern"] = NO_NUL_PATTERN
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
