"""The per-user verse history: monthly partitions ahead, whole months forgotten past VERSES_HISTORY_DAYS."""

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from verses import partitions
from verses.models import DailyVerse


def daily_verse_partitions_ensure(*, today: datetime.date | None = None) -> list[str]:
    """PostgreSQL: the daily verse table has its partitions up to MONTHS_AHEAD months after
    `today`'s; returns the ones created (nothing to do on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    today = today or timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        if not partitions.is_partitioned(cursor):
            return []
        return partitions.partitions_ensure(cursor, first=today, last=partitions.months_ahead_end(today))


SQLITE_DELETE_BATCH = 10_000


def daily_verses_history_purge(*, today: datetime.date | None = None) -> dict:
    """Forget the per-user verses older than VERSES_HISTORY_DAYS, by whole months (the first day
    kept is a month's first): on PostgreSQL their monthly partitions are dropped, on SQLite the
    rows are deleted in batches. Partitions for the coming months are made first."""
    today = today or timezone.localdate()
    start = partitions.history_start(today=today, days=settings.VERSES_HISTORY_DAYS)
    report = {
        "daily_verses_kept_from": start.isoformat(),
        "daily_verse_partitions_created": 0,
        "daily_verse_partitions_dropped": 0,
        "daily_verses_deleted": 0,
    }
    if connection.vendor == "postgresql":
        report["daily_verse_partitions_created"] = len(daily_verse_partitions_ensure(today=today))
        with transaction.atomic(), connection.cursor() as cursor:
            if partitions.is_partitioned(cursor):
                report["daily_verse_partitions_dropped"] = len(partitions.partitions_drop_before(cursor, start=start))
                report["daily_verses_deleted"] = max(cursor.rowcount, 0)  # the default partition's
                return report
    table = connection.ops.quote_name(DailyVerse._meta.db_table)
    while True:  # short transactions: SQLite has one writer at a time
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE rowid IN "
                f"(SELECT rowid FROM {table} WHERE day < %s LIMIT {SQLITE_DELETE_BATCH})",
                [start],
            )
            deleted = cursor.rowcount
        report["daily_verses_deleted"] += deleted
        if deleted < SQLITE_DELETE_BATCH:
            return report


def daily_verses_table_analyze() -> None:
    """Refresh PostgreSQL's statistics of the daily verse table once a day's rows are in.

    Without it the planner does not know the new day yet and may look a user's verse up
    through the (day, verse) index, scanning the whole day instead of one row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(DailyVerse._meta.db_table)}")
