import argparse
import datetime
import sys

from django.core.management.base import CommandError

from scheduler.counts import job_counts
from scheduler.models import JobRun
from scheduler.registry import DAILY_VERSES_JOB_ID, DAILY_VERSES_REVIEW_JOB_ID
from scheduler.services import job_run_claim, job_run_here
from soulverse.management import Command as ProjectCommand

# The job's declared counts (scheduler.counts) in their order, around what the engine adds.
SUMMARY_ORDER = [
    "day",
    *(count.name for count in job_counts(DAILY_VERSES_JOB_ID) if count.summary),
    "chunks",
    "db_queries",
    "duration_seconds",
]


def _day(value: str) -> str:
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {value!r}") from None


class Command(ProjectCommand):
    help = (
        "Generate today's verses now, in this process, through the scheduled job's path; with --day, "
        "prepare that day's verse of every pair for review (as the evening run does)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--day",
            type=_day,
            help="YYYY-MM-DD: make that day's verse of every (mood, language) pair now, for the "
            "operators' review (the users get theirs at the morning run and their push)",
        )

    def handle(self, *args, day=None, **options):
        job_id, params = (DAILY_VERSES_JOB_ID, None) if day is None else (DAILY_VERSES_REVIEW_JOB_ID, {"day": day})
        run, created = job_run_claim(job_id=job_id, trigger=JobRun.Trigger.COMMAND, params=params)
        if not created:
            raise CommandError(
                f"A run of {job_id} is already in progress (run {run.pk}, "
                f"started {run.started_at.isoformat()}); nothing started."
            )
        progress = self._progress if self.stdout.isatty() else None
        try:
            run = job_run_here(run=run, progress=progress)
        except Exception as exc:
            raise CommandError(f"Run {run.pk} failed: {exc}") from exc
        finally:
            if progress:
                self.stdout.write("")
        if run.status != JobRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} failed: {run.error}")
        # jsonb (PostgreSQL) does not keep key order: print the counts in a fixed one.
        keys = sorted(run.counts, key=lambda key: (SUMMARY_ORDER.index(key) if key in SUMMARY_ORDER else 99, key))
        counts = " ".join(f"{key}={run.counts[key]}" for key in keys)
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} succeeded: {counts}"))

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} chunks", ending="")
        sys.stdout.flush()
