"""Serializers of the campaign endpoints (console/campaign_apis.py) and the dashboard's form."""

import datetime
import uuid
import zoneinfo

from django.utils import timezone
from rest_framework import serializers

from users.models import Language, Mood, User

SEGMENT_KEYS = ("languages", "timezones", "moods", "active_within_days")
SEND_AT_PAST_MAX = datetime.timedelta(hours=1)  # "now" give or take a slow form; not a back-dated send


class SegmentSerializer(serializers.Serializer):
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=Language.choices), required=False, allow_empty=True
    )
    timezones = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_empty=True)
    moods = serializers.ListField(
        child=serializers.ChoiceField(choices=[("", "Sans humeur"), *Mood.choices]),
        required=False,
        allow_empty=True,
        help_text='"" is the users without a mood.',
    )
    active_within_days = serializers.IntegerField(
        min_value=1, max_value=365, required=False, allow_null=True, help_text="An activity on one of the last n days."
    )

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(SEGMENT_KEYS))):
            # A misspelt filter must not silently widen the audience to everyone.
            raise serializers.ValidationError(
                {unknown[0]: [f"Filtre inconnu ; les filtres possibles : {', '.join(SEGMENT_KEYS)}."]}
            )
        return super().to_internal_value(data)

    def validate_timezones(self, value: list[str]) -> list[str]:
        known = zoneinfo.available_timezones()
        for name in value:
            if name not in known:
                raise serializers.ValidationError(f"Fuseau horaire inconnu : {name}")
        return value


def segment_normal(segment: dict) -> dict:
    """The filters that narrow (empty lists and nulls dropped), lists sorted without repeats."""
    normal = {}
    for key in ("languages", "timezones", "moods"):
        if segment.get(key):
            normal[key] = sorted(set(segment[key]))
    if segment.get("active_within_days"):
        normal["active_within_days"] = segment["active_within_days"]
    return normal


class CampaignCreateSerializer(serializers.Serializer):
    title = serializers.CharField(min_length=1, max_length=100)
    body = serializers.CharField(min_length=1, max_length=500)
    segment = SegmentSerializer(required=False, help_text="Every filter optional: none, every push-eligible user.")
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="An instant (with its offset).")
    local_time = serializers.TimeField(required=False, allow_null=True, help_text="On each user's own clock…")
    date = serializers.DateField(required=False, allow_null=True, help_text="…on this date.")
    dry_run = serializers.BooleanField(default=False, help_text="Preview: the audience size; nothing stored or sent.")

    def validate(self, data):
        send_at, local_time, date = data.get("send_at"), data.get("local_time"), data.get("date")
        if send_at is not None and (local_time is not None or date is not None):
            raise serializers.ValidationError(
                {"send_at": ["Donnez soit « send_at », soit « local_time » et « date », pas les deux."]}
            )
        if send_at is None:
            if local_time is None and date is None:
                raise serializers.ValidationError({"send_at": ["Requis : « send_at » ou « local_time » et « date »."]})
            if date is None:
                raise serializers.ValidationError({"date": ["Requis avec « local_time »."]})
            if local_time is None:
                raise serializers.ValidationError({"local_time": ["Requis avec « date »."]})
            # The last zones (UTC-12) read yesterday's date while the service's reads today.
            if date < timezone.localdate() - datetime.timedelta(days=1):
                raise serializers.ValidationError({"date": ["Cette date est passée partout."]})
        elif send_at < timezone.now() - SEND_AT_PAST_MAX:
            raise serializers.ValidationError({"send_at": ["Cet instant est passé depuis plus d'une heure."]})
        data["segment"] = segment_normal(data.get("segment") or {})
        return data


def errors_flat(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as the API's flat 400 body: {"segment.languages": ["…"]} (a list item's
    error under its list's name)."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        own = str(key).isdigit() or (key == "non_field_errors" and prefix)  # the parent's own error
        name = prefix.rstrip(".") if own else f"{prefix}{key}"
        if isinstance(value, dict):
            for field, messages in errors_flat(value, f"{name}.").items():
                flat.setdefault(field, []).extend(messages)
        else:
            flat.setdefault(name, []).extend(str(message) for message in value)
    return flat


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    segment = serializers.DictField(help_text="The filters that narrow its audience (absent: no filter).")
    send_at = serializers.DateTimeField(allow_null=True)
    local_time = serializers.TimeField(allow_null=True)
    date = serializers.DateField(allow_null=True)
    state = serializers.ChoiceField(choices=["scheduled", "sending", "sent", "cancelled"])
    label = serializers.CharField(help_text="FCM's analytics label of its messages (`campaign-<id>`).")
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True, help_text="Its audience fixed, the sending begun.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="Sent or cancelled.")
    audience = serializers.IntegerField(help_text="Its users (before it begins: its segment's size now).")
    sent = serializers.IntegerField(help_text="Users a device of whom FCM accepted it for.")
    failed = serializers.IntegerField(help_text="Users it was given up on (FCM errors, no device left).")
    opened = serializers.IntegerField(help_text="Users whose app reported the open.")


class CampaignPreviewSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    audience = serializers.IntegerField(help_text="Push-eligible users matching the segment now.")
    segment = serializers.DictField()


class CampaignTestSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=254, help_text="The account's email or id.")

    def validate_user(self, value: str) -> User:
        try:
            user = User.objects.filter(pk=uuid.UUID(value)).first()
        except ValueError:
            user = User.objects.filter(email__iexact=value).first()
        if user is None:
            raise serializers.ValidationError(f"Aucun compte « {value} ».")
        if not user.devices.exists():
            raise serializers.ValidationError("Ce compte n'a aucun appareil enregistré.")
        return user


class CampaignTestDeviceSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["fid", "token"])
    outcome = serializers.ChoiceField(choices=["sent", "invalid_token", "fid_not_registered", "retry", "failed"])
    error = serializers.CharField(allow_blank=True)


class CampaignTestDoneSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Devices FCM accepted the test for.")
    devices = CampaignTestDeviceSerializer(many=True)
