import datetime

from croniter import CroniterBadDateError, croniter
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scheduler.models import JobRun, ScheduleChange
from soulverse.api import StrictBooleanField, StrictCharField, StrictSerializer, UTCDateTimeField


class RunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    job_id = serializers.CharField()
    trigger = serializers.ChoiceField(choices=JobRun.Trigger.choices)
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    started_at = UTCDateTimeField()
    finished_at = UTCDateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    counts = serializers.DictField(help_text="The job's report (counts by name); empty while running.")
    error = serializers.CharField(allow_blank=True)


class JobSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    next_run = UTCDateTimeField(allow_null=True)
    trigger = serializers.CharField(help_text="The cron as APScheduler wrote it: `cron[hour=6, minute=0]`.")
    cron = serializers.CharField()
    enabled = serializers.BooleanField()
    last_run = RunSerializer(allow_null=True)


class ClusterSerializer(serializers.Serializer):
    alive = serializers.BooleanField()
    count = serializers.IntegerField()
    last_heartbeat = UTCDateTimeField(allow_null=True)


# What the schema documents (numbers or `*` per field, days 1-28 so that it always fires); the
# server accepts any five-field cron croniter reads (ranges, steps, lists, names) that fires.
CRON_PATTERN = (
    r"^(\*|[0-5]?[0-9]) (\*|[01]?[0-9]|2[0-3]) (\*|[1-9]|1[0-9]|2[0-8]) (\*|[1-9]|1[0-2]) "
    r"(\*|[0-6])$"
)


@extend_schema_field({"type": "string", "pattern": CRON_PATTERN, "example": "0 6 * * *"})
class CronField(StrictCharField):
    """A five-field cron expression (minute hour day month weekday, in SCHEDULER_TIMEZONE) that fires."""

    def to_internal_value(self, data):
        cron = " ".join(super().to_internal_value(data).split())
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise serializers.ValidationError(
                f"Expression cron invalide : « {cron} » (5 champs : minute heure jour mois jour-de-semaine)."
            )
        try:
            croniter(cron, timezone.now()).get_next(datetime.datetime)
        except (CroniterBadDateError, ValueError):
            raise serializers.ValidationError(f"Expression cron qui ne se déclenche jamais : « {cron} ».") from None
        return cron


class JobUpdateSerializer(StrictSerializer):
    """Body of PATCH jobs/{id}: `cron` and/or `enabled` (an empty body changes nothing)."""

    cron = CronField(required=False, max_length=100, help_text="e.g. `0 6 * * *` (Africa/Lome).")
    enabled = StrictBooleanField(required=False, help_text="`false` pauses this job's schedule.")


class ScheduleStateSerializer(serializers.Serializer):
    cron = serializers.CharField()
    enabled = serializers.BooleanField()


class ScheduleChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job_id = serializers.CharField()
    changed_at = UTCDateTimeField()
    changed_by = serializers.SerializerMethodField()
    source = serializers.ChoiceField(choices=ScheduleChange.Source.choices)
    before = ScheduleStateSerializer()
    after = ScheduleStateSerializer()

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The account's email; null once deleted."))
    def get_changed_by(self, change) -> str | None:
        return change.changed_by.email if change.changed_by else None


class JobRunStartedSerializer(serializers.Serializer):
    """Answer of POST jobs/{id}/run."""

    success = serializers.BooleanField()
    message = serializers.CharField()
    triggered_at = UTCDateTimeField()
    already_running = serializers.BooleanField(help_text="A run was in progress: this is that run.")
    run_id = serializers.UUIDField(source="run.pk")
    run = RunSerializer()
    status_url = serializers.URLField(help_text="`runs/<run_id>`, to poll.")
