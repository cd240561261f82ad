"""The counts a run reports are declared once (scheduler.counts.Count) and every declared count is
what the job's runs store."""

import datetime
import io

from django.core.management import call_command

from scheduler.counts import counts_declared, job_counts
from scheduler.models import JobRun
from users.tests.factories import UserFactory

UTC = datetime.UTC


def test_a_daily_run_reports_exactly_its_declared_counts_and_the_engine_s(db):
    UserFactory.create_batch(3)

    call_command("trigger_daily_verses", stdout=io.StringIO())

    counts = JobRun.objects.get(job_id="daily_verses_generation").counts
    declared = {count.name for count in job_counts("daily_verses_generation")}
    assert declared <= set(counts)
    assert set(counts) - declared == {
        "day",
        "prepare_seconds",
        "assign_seconds",
        "chunks",
        "db_queries",
        "duration_seconds",
    }
    assert counts["users_processed"] == 3 and isinstance(counts["ai_failures"], dict)


def test_a_push_tick_reports_every_declared_count(db, push_tick, fcm_stub):
    UserFactory.create_batch(2)

    counts = push_tick(datetime.datetime(2026, 1, 10, 6, 0, tzinfo=UTC))

    declared = {count.name for count in job_counts("deliver_verses")}
    assert declared <= set(counts)
    assert counts["push_sent"] == 2 and counts["push_due"] == 2


def test_the_metric_names_stay_those_the_alerts_and_dashboards_use():
    metrics = {name: (count.metric, count.metric_label, count.by) for name, count in counts_declared().items()}
    assert {name: value for name, value in metrics.items() if value[0]} == {
        "users_processed": ("soulverse_users_processed", None, ""),
        "verses_created": ("soulverse_verses_created", None, ""),
        "ai_calls": ("soulverse_ai_calls", None, ""),
        "ai_failures": ("soulverse_ai_failures", None, "kind"),
        "ai_prompt_tokens": ("soulverse_ai_tokens", ("type", "prompt"), ""),
        "ai_output_tokens": ("soulverse_ai_tokens", ("type", "output"), ""),
        "ai_thinking_tokens": ("soulverse_ai_tokens", ("type", "thinking"), ""),
        "push_sent": ("soulverse_push_sent", None, ""),
        "push_devices_sent": ("soulverse_push_devices_sent", None, ""),
        "push_invalid_tokens": ("soulverse_push_invalid_tokens", None, ""),
        "push_fid_not_registered": ("soulverse_push_fid_not_registered", None, ""),
        "push_failed": ("soulverse_push_failed", None, ""),
        "push_retried": ("soulverse_push_retried", None, ""),
    }
    assert job_counts("no_such_job") == ()
