"""The console's request and response bodies: status, health, triggers, users-count and stats.

console/apis.py renders what the selectors return (dicts, JobRun rows) with these, and the OpenAPI
schema is made from them. Times are UTC with an offset. Choice lists that share a field name
("status") are named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
"""

from rest_framework import serializers

from scheduler.models import JobRun
from scheduler.registry import JOBS
from scheduler.serializers import ClusterSerializer, JobSerializer, RunSerializer
from soulverse.api import StrictFloatField, StrictSerializer, UTCDateTimeField
from verses.push.counts import PUSH_HEALTH_COUNTS


class TriggerSerializer(StrictSerializer):
    """Body of POST trigger-daily-verses (optional)."""

    wait = StrictFloatField(
        required=False,
        min_value=0,
        max_value=300,
        help_text="Seconds to wait for the run before answering 202 (default: server setting; capped at "
        "two thirds of the web server's timeout).",
    )


class RunsQuerySerializer(serializers.Serializer):
    """Query of GET runs: the optional job filter."""

    job_id = serializers.ChoiceField(
        choices=[job.id for job in JOBS],
        required=False,
        error_messages={"invalid_choice": "Tâche inconnue : « {input} »."},
        help_text="Only the runs of this job.",
    )


HEALTH_STATUSES = ["ok", "degraded", "down"]
DATABASE_STATUSES = ["ok", "error"]
# "off": switched off on purpose (PUSH_ENABLED / AI_ENABLED false); "disabled": on but without its
# credentials (`check --deploy` refuses it in production). Neither is a health failure.
PUSH_STATUSES = ["enabled", "disabled", "off"]
# health's scheduler check: every job on, some paused (through PATCH jobs/{id}), or none on.
SCHEDULER_CHECK_STATUSES = ["enabled", "partial", "disabled"]
DAILY_VERSES_STATUSES = ["never", "ok", "stale"]
CACHE_STATUSES = ["ok", "degraded"]
CLUSTER_STATUSES = ["ok", "down"]
AI_STATUSES = ["enabled", "disabled", "off", "misconfigured"]
AI_PROBE_STATUSES = ["disabled", "off", "ok", "misconfigured", "unverified"]
EDITION_STATUSES = ["ok", "missing"]


class AiStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    model = serializers.CharField()
    base_url_overridden = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=AI_PROBE_STATUSES,
        help_text="The model lookup (cached for an hour): `misconfigured` (wrong key or model: the daily run "
        "skips the AI), `unverified` (Gemini could not be reached), `disabled` (no API key), "
        "`off` (AI_ENABLED=false: curated verses on purpose).",
    )
    reason = serializers.CharField(allow_null=True, help_text="The failure kind behind a status other than `ok`.")


class EditionSerializer(serializers.Serializer):
    edition = serializers.CharField()
    name = serializers.CharField()
    verses = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=EDITION_STATUSES, help_text="`missing`: not imported (`manage.py import_bible --download`)."
    )


class EditionsSerializer(serializers.Serializer):
    fr = EditionSerializer(help_text="Louis Segond 1910 (imported).")
    en = EditionSerializer(help_text="World English Bible (pythonbible).")


class PushStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Push is on and FCM credentials are configured.")
    status = serializers.ChoiceField(
        choices=PUSH_STATUSES,
        help_text="`disabled`: PUSH_ENABLED is on but no FCM credentials are set; `off`: PUSH_ENABLED=false "
        "(no push on purpose). Neither fails health.",
    )
    dry_run = serializers.BooleanField(help_text="FCM_DRY_RUN: sends are validated only.")


class SchedulerStatusSerializer(serializers.Serializer):
    running = serializers.BooleanField(help_text="`enabled` and a cluster alive.")
    enabled = serializers.BooleanField()
    jobs_count = serializers.IntegerField()
    jobs = JobSerializer(many=True)
    timezone = serializers.CharField()
    cluster = ClusterSerializer()
    ai = AiStateSerializer()
    editions = EditionsSerializer()
    push = PushStateSerializer()
    status_checked_at = UTCDateTimeField()


class SchedulerChangeSerializer(SchedulerStatusSerializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class DatabaseCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DATABASE_STATUSES)
    error = serializers.CharField(required=False, help_text="The exception's class name.")


class SchedulerCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=SCHEDULER_CHECK_STATUSES, help_text="partial: some jobs paused (degraded); disabled: none runs (down)."
    )


class DailyVersesCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DAILY_VERSES_STATUSES)
    last_success_at = UTCDateTimeField(allow_null=True)
    age_seconds = serializers.IntegerField(allow_null=True)


class CacheCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CACHE_STATUSES)
    backend = serializers.ChoiceField(choices=["redis", "database"])


class AiCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=AI_STATUSES,
        help_text="`misconfigured` makes health `degraded`; "
        "`disabled` (no API key) and `off` (AI_ENABLED=false) do not.",
    )
    model = serializers.CharField()
    reason = serializers.CharField(allow_null=True, help_text="`auth` or `model_not_found` when misconfigured.")


class EditionsCheckSerializer(EditionsSerializer):
    status = serializers.ChoiceField(
        choices=EDITION_STATUSES, help_text="`missing` (health `degraded`): the AI is on and an edition is absent."
    )


class _PushTickFields(serializers.Serializer):
    run_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["running", "succeeded", "failed"])
    started_at = UTCDateTimeField()
    finished_at = UTCDateTimeField(allow_null=True)


# The last tick's run, then its counts as health shows them (verses.push.counts, declared once).
PushTickSerializer = type(
    "PushTickSerializer",
    (_PushTickFields,),
    {count.name: serializers.IntegerField(help_text=count.doc or None) for count in PUSH_HEALTH_COUNTS},
)


class PushCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=PUSH_STATUSES,
        help_text="As in status: `disabled` (no credentials) and `off` (PUSH_ENABLED=false) do not fail health.",
    )
    dry_run = serializers.BooleanField()
    last_tick = PushTickSerializer(
        allow_null=True, help_text="The last delivery tick; null before the first or when the database is down."
    )


class ClusterCheckSerializer(ClusterSerializer):
    status = serializers.ChoiceField(choices=CLUSTER_STATUSES)


EDITORIAL_CHECK_STATUSES = ["ok", "held"]


class EditorialCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=EDITORIAL_CHECK_STATUSES,
        help_text="`held`: a due push waits for its verse's approval (degrades health).",
    )
    approval_required = serializers.BooleanField(help_text="VERSES_REQUIRE_APPROVAL.")
    held = serializers.IntegerField(help_text="Users due now whose push waits for approval.")


class HealthChecksSerializer(serializers.Serializer):
    database = DatabaseCheckSerializer()
    scheduler = SchedulerCheckSerializer(required=False, help_text="Absent when the database is down.")
    daily_verses = DailyVersesCheckSerializer(required=False, help_text="Absent when the database is down.")
    cache = CacheCheckSerializer()
    ai = AiCheckSerializer()
    editions = EditionsCheckSerializer(required=False, help_text="Absent when the database is down.")
    push = PushCheckSerializer()
    cluster = ClusterCheckSerializer()
    editorial = EditorialCheckSerializer(required=False, help_text="Absent when the database is down.")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HEALTH_STATUSES)
    checks = HealthChecksSerializer(required=False, help_text="With the view permission only.")
    checked_at = UTCDateTimeField(required=False, help_text="With the view permission only.")


class TriggerResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    triggered_at = UTCDateTimeField()
    already_running = serializers.BooleanField(help_text="A run was in progress: this is that run.")
    run_id = serializers.UUIDField(source="run.pk")
    run = RunSerializer()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        run = instance["run"]
        if run.status == JobRun.Status.SUCCEEDED:
            data.update(run.counts)  # a finished run's counts at the top level, as the original service had them
        return data


class TriggerAcceptedSerializer(TriggerResultSerializer):
    status_url = serializers.URLField(help_text="`runs/<run_id>`, to poll.")


class UsersCountSerializer(serializers.Serializer):
    active_users = serializers.IntegerField()
    total_users = serializers.IntegerField()
    by_mood = serializers.DictField(
        child=serializers.IntegerField(), help_text="Active users by mood (`none`: no mood)."
    )
    by_language = serializers.DictField(child=serializers.IntegerField(), help_text="Active users by language.")
    checked_at = UTCDateTimeField()


STATS_MAX_DAYS = 400


class StatsQuerySerializer(serializers.Serializer):
    """Query of GET stats."""

    days = serializers.IntegerField(
        required=False,
        default=30,
        min_value=1,
        max_value=STATS_MAX_DAYS,
        help_text="How many days, ending yesterday (default 30).",
    )


class DailyStatsPointSerializer(serializers.Serializer):
    """One day's figures; null when the day has not been computed (or, for the weekly/monthly
    figures and pushes, was computed before they were recorded)."""

    day = serializers.DateField()
    computed_at = UTCDateTimeField(allow_null=True)
    active_users = serializers.IntegerField(allow_null=True, help_text="Active users when the day was computed.")
    daily_active_users = serializers.IntegerField(allow_null=True)
    weekly_active_users = serializers.IntegerField(allow_null=True, help_text="Distinct users over the 7 days.")
    monthly_active_users = serializers.IntegerField(allow_null=True, help_text="Distinct users over the 30 days.")
    new_users = serializers.IntegerField(allow_null=True)
    verses_generated = serializers.IntegerField(allow_null=True, help_text="Verses delivered (one per user).")
    fallbacks_used = serializers.IntegerField(allow_null=True)
    pushes_sent = serializers.IntegerField(allow_null=True)
    pushes_opened = serializers.IntegerField(allow_null=True)
    open_rate = serializers.FloatField(allow_null=True, help_text="pushes_opened / pushes_sent.")


class StatsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    timezone = serializers.CharField(help_text="The days are calendar days in this time zone.")
    series = DailyStatsPointSerializer(many=True, help_text="One point per day, oldest first.")
