"""The event types a webhook endpoint may subscribe to."""

RUN_STARTED = "run.started"
RUN_SUCCEEDED = "run.succeeded"
RUN_FAILED = "run.failed"
SCHEDULER_STOPPED = "scheduler.stopped"
SCHEDULER_STARTED = "scheduler.started"
SCHEDULE_UPDATED = "schedule.updated"
DELIVERY_COMPLETED = "delivery.completed"
VERSE_REVIEWED = "verse.reviewed"
CAMPAIGN_SENT = "campaign.sent"

EVENTS: tuple[str, ...] = (
    RUN_STARTED,
    RUN_SUCCEEDED,
    RUN_FAILED,
    SCHEDULER_STOPPED,
    SCHEDULER_STARTED,
    SCHEDULE_UPDATED,
    DELIVERY_COMPLETED,
    VERSE_REVIEWED,
    CAMPAIGN_SENT,
)
