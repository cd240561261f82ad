"""The scheduled jobs. The scheduler knows jobs only through this table."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Job:
    id: str
    name: str  # shown to admins
    cron: str  # interpreted in SCHEDULER_TIMEZONE
    func: str  # dotted path of a function (**run.params) -> counts dict, or a scheduler.plan.FanOut
    on_success: str = ""  # dotted path of a function (counts) called once the run has succeeded
    closed_event: str = ""  # a webhook event (webhooks.events) sent, with the run, whenever a run closes
    counts: str = ""  # dotted path of the tuple of scheduler.counts.Count its runs report


JOBS: tuple[Job, ...] = (
    Job(
        "daily_verses_generation",
        "Génération versets quotidiens",
        "0 6 * * *",
        "verses.jobs.daily_verses_generation",
        on_success="verses.jobs.daily_verses_finished",
        counts="verses.generation.counts.DAILY_VERSES_COUNTS",
    ),
    Job("cache_cleanup", "Nettoyage cache", "0 2 * * *", "console.jobs.cache_cleanup"),
    Job("user_stats_update", "Statistiques utilisateurs", "0 0 * * *", "console.jobs.user_stats_update"),
    # Every quarter hour: the users whose local clock has reached their notify_at get their push.
    Job(
        "deliver_verses",
        "Envoi des versets (push)",
        "*/15 * * * *",
        "verses.jobs.deliver_verses",
        closed_event="delivery.completed",
        counts="verses.push.counts.DELIVER_VERSES_COUNTS",
    ),
    # The evening before: tomorrow's verse of every pair, for the operators' review (verses/editorial).
    Job(
        "daily_verses_review",
        "Préparation des versets du lendemain (relecture)",
        settings.VERSES_REVIEW_PREPARE_CRON,
        "verses.jobs.daily_verses_review_prepare",
        counts="verses.editorial.counts.REVIEW_PREPARE_COUNTS",
    ),
    # Every quarter hour: the operators' announcements due somewhere (verses/campaigns).
    Job(
        "deliver_campaigns",
        "Envoi des campagnes (push)",
        "*/15 * * * *",
        "verses.jobs.deliver_campaigns",
        on_success="verses.jobs.deliver_campaigns_finished",
        counts="verses.campaigns.counts.DELIVER_CAMPAIGNS_COUNTS",
    ),
)
JOBS_BY_ID: dict[str, Job] = {job.id: job for job in JOBS}
DAILY_VERSES_JOB_ID = "daily_verses_generation"
DAILY_VERSES_REVIEW_JOB_ID = "daily_verses_review"
DELIVER_VERSES_JOB_ID = "deliver_verses"
DELIVER_CAMPAIGNS_JOB_ID = "deliver_campaigns"


class UnknownJob(KeyError):
    pass


def job_get(job_id: str) -> Job:
    try:
        return JOBS_BY_ID[job_id]
    except KeyError:
        raise UnknownJob(job_id) from None


_CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_TRIGGER_ORDER = ("month", "day", "day_of_week", "hour", "minute")


def cron_trigger_label(cron: str) -> str:
    """'0 6 * * *' -> 'cron[hour=6, minute=0]' (the original service's APScheduler wording)."""
    fields = dict(zip(_CRON_FIELDS, cron.split()))
    parts = [f"{name}={fields[name]}" for name in _TRIGGER_ORDER if fields.get(name, "*") != "*"]
    return f"cron[{', '.join(parts)}]"
