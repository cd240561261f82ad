import time

from django.core.management.base import CommandError

from soulverse.management import Command as ProjectCommand
from users.models import User
from users.services import demo_users_seed


class Command(ProjectCommand):
    help = "Create realistic demo users (moods, languages, 1 to 3 devices: FIDs and FCM tokens); COPY on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=200)
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if non-staff users exist")
        parser.add_argument("--all-active", action="store_true", help="every user active (benchmarks)")

    def handle(self, *args, count, seed, **options):
        if count < 0:
            raise CommandError("--count must be zero or more", returncode=2)
        if options["if_empty"] and User.objects.filter(is_staff=False).exists():
            self.stdout.write("Users already exist; no demo users added.")
            return
        started = time.monotonic()
        created = demo_users_seed(count=count, seed=seed, all_active=options["all_active"])
        elapsed = time.monotonic() - started
        self.stdout.write(f"{created} demo users created in {elapsed:.1f} s")
