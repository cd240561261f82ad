import datetime

from django.core.management.base import CommandError
from django.utils import timezone

from console.stats import daily_stats_update
from soulverse.management import Command as ProjectCommand


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--day: not a date (YYYY-MM-DD): {value!r}", returncode=2) from None


class Command(ProjectCommand):
    help = (
        "Compute (or recompute) the daily statistics of a day, as the 00:00 job does for the day "
        "that just ended; a recomputed day gives the same figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD (default: yesterday in the scheduler's time zone)")
        parser.add_argument("--days", type=int, default=1, help="this many days, ending on --day (default 1)")

    def handle(self, *args, day, days, **options):
        end = _date(day) if day else timezone.localdate() - datetime.timedelta(days=1)
        if days < 1:
            raise CommandError("--days must be 1 or more", returncode=2)
        if end >= timezone.localdate():
            raise CommandError(f"--day: {end.isoformat()} has not ended yet", returncode=2)
        for offset in range(days - 1, -1, -1):
            stats = daily_stats_update(day=end - datetime.timedelta(days=offset))
            self.stdout.write(
                f"{stats.day.isoformat()} dau={stats.daily_active_users} wau={stats.weekly_active_users} "
                f"mau={stats.monthly_active_users} new={stats.new_users} verses={stats.verses_generated} "
                f"pushes_sent={stats.pushes_sent} pushes_opened={stats.pushes_opened}"
            )
