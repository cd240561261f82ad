"""Helpers of the campaign tests: a campaigns tick run through the job's tasks, the messages the
FCM stand-in accepted for a campaign."""

import datetime

from scheduler.models import JobRun
from scheduler.tests.runs import job_run_through_tasks

CAMPAIGNS = "/api/v1/scheduler/campaigns"


def campaign_tick(at: datetime.datetime, **params) -> dict:
    """One deliver_campaigns run at instant `at` (run -> chunk tasks, in this process); its counts."""
    run = job_run_through_tasks("deliver_campaigns", at=at.isoformat(), **params)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run.counts


def campaign_messages(stub, campaign_id: int) -> list[tuple[str, dict]]:
    """(FID or token, message) of each message FCM accepted for the campaign (by its analytics label)."""
    label = f"campaign-{campaign_id}"
    return [(target, m) for target, m in stub.delivered if m.get("fcm_options", {}).get("analytics_label") == label]
