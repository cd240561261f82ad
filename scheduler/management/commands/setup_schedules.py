from scheduler.permissions import scheduler_groups_ensure
from scheduler.services import schedules_setup
from soulverse.management import Command as ProjectCommand


class Command(ProjectCommand):
    help = "Create or update the django-q2 schedules of the four jobs (idempotent, run on every deploy)."

    def handle(self, *args, **options):
        scheduler_groups_ensure()  # the permission groups (a flushed database may lack them)
        for job_id, action in schedules_setup():
            self.stdout.write(f"{job_id}: {action}")
