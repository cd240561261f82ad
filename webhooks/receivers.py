"""Webhooks listen to the engine (scheduler.signals), the editorial room (verses.editorial.signals)
and the campaigns room (verses.campaigns.signals), connected in WebhooksConfig.ready(): each run,
schedule, start/stop, review and campaign-sent event becomes a webhook event, and each watchdog
pass sweeps the deliveries whose task was lost."""

import datetime
import logging

from scheduler.announce import job_run_payload
from scheduler.models import JobRun
from scheduler.registry import JOBS_BY_ID
from webhooks import events
from webhooks.services import webhook_deliveries_sweep, webhook_event_emit

logger = logging.getLogger(__name__)


def on_run_started(*, run: JobRun, **kwargs) -> None:
    webhook_event_emit(event=events.RUN_STARTED, data={"run": job_run_payload(run)})


def on_run_closed(*, run: JobRun, **kwargs) -> None:
    succeeded = run.status == JobRun.Status.SUCCEEDED
    payload = {"run": job_run_payload(run)}
    webhook_event_emit(event=events.RUN_SUCCEEDED if succeeded else events.RUN_FAILED, data=payload)
    job = JOBS_BY_ID.get(run.job_id)
    if job is not None and job.closed_event:
        webhook_event_emit(event=job.closed_event, data=payload)


def on_schedule_updated(*, job_id, before, after, source, changed_by, changed_at, **kwargs) -> None:
    webhook_event_emit(
        event=events.SCHEDULE_UPDATED,
        data={
            "job_id": job_id,
            "before": before,
            "after": after,
            "source": source,
            "changed_by": str(changed_by.pk) if changed_by else None,
            "changed_at": changed_at.astimezone(datetime.UTC).isoformat(),
        },
    )


def on_scheduler_switched(*, enabled: bool, schedules: int, **kwargs) -> None:
    event = events.SCHEDULER_STARTED if enabled else events.SCHEDULER_STOPPED
    webhook_event_emit(event=event, data={"schedules": schedules})


def on_verse_reviewed(*, review, **kwargs) -> None:
    webhook_event_emit(
        event=events.VERSE_REVIEWED,
        data={
            "review": {
                "id": review.pk,
                "day": review.day.isoformat(),
                "mood": review.mood,
                "language": review.language,
                "action": review.action,
                "reviewed_by": str(review.reviewed_by_id) if review.reviewed_by_id else None,
                "reviewed_at": review.reviewed_at.astimezone(datetime.UTC).isoformat(),
                "before": review.before,
                "after": review.after,
            }
        },
    )


def on_campaign_sent(*, campaign, figures: dict, **kwargs) -> None:
    webhook_event_emit(
        event=events.CAMPAIGN_SENT,
        data={
            "campaign": {
                "id": campaign.pk,
                "title": campaign.title,
                "label": campaign.label,
                "segment": campaign.segment,
                "started_at": campaign.started_at.astimezone(datetime.UTC).isoformat() if campaign.started_at else None,
                "finished_at": campaign.finished_at.astimezone(datetime.UTC).isoformat(),
                **figures,
            }
        },
    )


def on_watchdog_passed(**kwargs) -> None:
    try:
        webhook_deliveries_sweep()
    except Exception:
        logger.exception("event=webhook_sweep_failed")


def receivers_connect() -> None:
    from scheduler import signals
    from verses.campaigns.signals import campaign_sent
    from verses.editorial.signals import verse_reviewed

    signals.run_started.connect(on_run_started, dispatch_uid="webhooks.run_started")
    signals.run_closed.connect(on_run_closed, dispatch_uid="webhooks.run_closed")
    signals.schedule_updated.connect(on_schedule_updated, dispatch_uid="webhooks.schedule_updated")
    signals.scheduler_switched.connect(on_scheduler_switched, dispatch_uid="webhooks.scheduler_switched")
    signals.watchdog_passed.connect(on_watchdog_passed, dispatch_uid="webhooks.watchdog_passed")
    verse_reviewed.connect(on_verse_reviewed, dispatch_uid="webhooks.verse_reviewed")
    campaign_sent.connect(on_campaign_sent, dispatch_uid="webhooks.campaign_sent")
