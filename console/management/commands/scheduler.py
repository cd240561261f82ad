import json

from django.core.management.base import CommandError

from console.selectors import scheduler_status
from console.serializers import SchedulerStatusSerializer
from scheduler.models import ScheduleChange
from scheduler.services import scheduler_start, scheduler_stop
from soulverse.management import Command as ProjectCommand


class Command(ProjectCommand):
    help = "Show, start or stop the scheduler (pauses or resumes the four schedules)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "start", "stop"])
        parser.add_argument("--json", action="store_true", help="print the status as JSON")

    def handle(self, *args, action, **options):
        if action in ("start", "stop"):
            switch = scheduler_start if action == "start" else scheduler_stop
            changed = switch(changed_by=None, source=ScheduleChange.Source.COMMAND)
            if not changed:
                raise CommandError("No schedules found: run `manage.py setup_schedules` first.")
        status = SchedulerStatusSerializer(scheduler_status()).data  # as GET status renders it
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, ensure_ascii=False))
            return
        cluster = status["cluster"]
        self.stdout.write(
            f"scheduler: {'enabled' if status['enabled'] else 'stopped'}; "
            f"clusters alive: {cluster['count']}; running: {status['running']}"
        )
        for job in status["jobs"]:
            last = job["last_run"]
            last_text = f"{last['status']} at {last['started_at']}" if last else "never"
            self.stdout.write(
                f"  {job['id']:<26} {job['cron']:<11} next {job['next_run'] or '-'}  "
                f"{'' if job['enabled'] else '(paused) '}last run: {last_text}"
            )
