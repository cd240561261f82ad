import datetime

from django.conf import settings
from django.core.management.base import CommandError

from scheduler.models import JobRun
from scheduler.registry import DELIVER_VERSES_JOB_ID
from scheduler.services import job_run_claim, job_run_here
from soulverse.management import Command as ProjectCommand
from verses.push.counts import PUSH_CHUNK_COUNTS, PUSH_CHUNKS, PUSH_GROUPS
from verses.push.fcm import fcm_app

SUMMARY_ORDER = [
    "at",
    *(count.name for count in (*PUSH_CHUNK_COUNTS, PUSH_GROUPS, PUSH_CHUNKS)),
    "chunks",
    "db_queries",
    "duration_seconds",
]


class Command(ProjectCommand):
    help = (
        "Run one push tick now, or as if the clock read --at (catching up by hand, tests), through the "
        "delivery job's path; idempotent: a user is sent one verse per local date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--at", help="an ISO-8601 instant with its offset, e.g. 2026-03-29T05:00:00+00:00")
        parser.add_argument("--dry-run", action="store_true", help="send with FCM's validate_only; record nothing")

    def handle(self, *args, at=None, dry_run=False, **options):
        params: dict = {"dry_run": True} if dry_run else {}
        if at is not None:
            try:
                instant = datetime.datetime.fromisoformat(at)
            except ValueError:
                raise CommandError(f"--at: not an ISO-8601 instant: {at!r}") from None
            if instant.tzinfo is None:
                raise CommandError(f"--at: the instant needs an offset (Z or +HH:MM): {at!r}")
            params["at"] = instant.isoformat()
        if fcm_app() is None:
            if not settings.PUSH_ENABLED:
                raise CommandError("Push is off (PUSH_ENABLED=false); nothing started.")
            raise CommandError("Push is disabled: set FCM_CREDENTIALS_FILE (or application-default credentials).")
        run, created = job_run_claim(job_id=DELIVER_VERSES_JOB_ID, trigger=JobRun.Trigger.COMMAND, params=params)
        if not created:
            raise CommandError(
                f"A tick of {DELIVER_VERSES_JOB_ID} is already in progress (run {run.pk}, "
                f"started {run.started_at.isoformat()}); nothing started."
            )
        try:
            run = job_run_here(run=run)
        except Exception as exc:
            raise CommandError(f"Run {run.pk} failed: {exc}") from exc
        if run.status != JobRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} failed: {run.error}")
        keys = sorted(run.counts, key=lambda key: (SUMMARY_ORDER.index(key) if key in SUMMARY_ORDER else 99, key))
        counts = " ".join(f"{key}={run.counts[key]}" for key in keys)
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} succeeded: {counts}"))
