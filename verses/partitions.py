"""The daily verse table on PostgreSQL: range-partitioned by month, one table per month.

    verses_dailyverse               the partitioned parent (primary key (user_id, day))
    verses_dailyverse_p2026_11      days 2026-11-01 .. 2026-11-30
    verses_dailyverse_default       safety net for a day whose month has no partition yet

Months are created ahead (at migrate time, by the daily run and by the clean-up job) and dropped
whole once all their days are past the history retention: no mass DELETE, no bloat. SQLite keeps
one plain table (the callers delete its old rows in batches).
"""

import datetime
import logging

logger = logging.getLogger(__name__)

TABLE = "verses_dailyverse"
DEFAULT_PARTITION = f"{TABLE}_default"
PARTITION_PREFIX = f"{TABLE}_p"


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_next(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def partition_name(month: datetime.date) -> str:
    return f"{PARTITION_PREFIX}{month:%Y_%m}"


def partition_month(name: str) -> datetime.date | None:
    if not name.startswith(PARTITION_PREFIX):
        return None
    return datetime.datetime.strptime(name[len(PARTITION_PREFIX) :], "%Y_%m").date()


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
    return cursor.fetchone() is not None


def partition_months(cursor) -> list[datetime.date]:
    """The months that have a partition, oldest first."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [TABLE],
    )
    return sorted(month for (name,) in cursor.fetchall() if (month := partition_month(name)))


def partition_create(cursor, month: datetime.date) -> None:
    """Create the month's partition, moving in any of its rows that the default partition caught.

    Built apart then attached: ATTACH takes a lighter lock on the parent than CREATE … PARTITION OF
    and only checks the default partition, which the move has emptied of the month."""
    name, upper = partition_name(month), month_next(month)
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE day >= %s AND day < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [month, upper],
    )
    moved = cursor.rowcount
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [month, upper])
    logger.info("event=daily_verse_partition_created partition=%s moved_rows=%s", name, moved)


def partitions_ensure(cursor, *, first: datetime.date, last: datetime.date) -> list[str]:
    """Make sure every month from `first` to `last` (inclusive) has its partition; returns the new ones."""
    existing = set(partition_months(cursor))
    created, month = [], month_start(first)
    while month <= last:
        if month not in existing:
            partition_create(cursor, month)
            created.append(partition_name(month))
        month = month_next(month)
    return created


def partitions_drop_before(cursor, *, start: datetime.date) -> list[str]:
    """Drop the partitions whose every day is before `start` (a month start); returns their names.
    The default partition's older rows (few: it only catches days without a partition) are deleted."""
    dropped = []
    for month in partition_months(cursor):
        if month_next(month) <= start:
            cursor.execute(f"DROP TABLE {partition_name(month)}")
            dropped.append(partition_name(month))
            logger.info("event=daily_verse_partition_dropped partition=%s", partition_name(month))
    cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE day < %s", [start])
    return dropped


def table_partition(cursor, *, months: list[datetime.date]) -> int:
    """Turn the plain daily verse table (surrogate id, unique (user, day)) into the partitioned one
    keyed (user_id, day), without foreign-key constraints (see DailyVerse), moving its rows;
    partitions for `months` and for the months of its rows. Returns the number of rows moved."""
    old = f"{TABLE}_unpartitioned"
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    # Index and constraint names are per schema: free the ones the new table takes.
    cursor.execute("DROP INDEX IF EXISTS dailyverse_day_verse_idx")
    cursor.execute(f"ALTER TABLE {old} DROP CONSTRAINT IF EXISTS one_daily_verse_per_user_day")
    cursor.execute(
        f"CREATE TABLE {TABLE} ("
        " user_id uuid NOT NULL,"
        " day date NOT NULL,"
        " verse_id bigint NOT NULL,"
        " created_at timestamp with time zone NOT NULL,"
        f" CONSTRAINT {TABLE}_pkey_user_day PRIMARY KEY (user_id, day)"
        ") PARTITION BY RANGE (day)"
    )
    cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
    cursor.execute(f"CREATE INDEX dailyverse_day_verse_idx ON {TABLE} (day, verse_id)")
    cursor.execute(f"SELECT DISTINCT date_trunc('month', day)::date FROM {old}")
    wanted = sorted({*months, *(month for (month,) in cursor.fetchall())})
    for month in wanted:
        partition_create(cursor, month)
    cursor.execute(
        f"INSERT INTO {TABLE} (user_id, day, verse_id, created_at) SELECT user_id, day, verse_id, created_at FROM {old}"
    )
    moved = cursor.rowcount
    cursor.execute(f"DROP TABLE {old}")
    return moved


def history_start(*, today: datetime.date, days: int) -> datetime.date:
    """The first day kept: the start of the month holding `today - days` (whole months go)."""
    return month_start(today - datetime.timedelta(days=days))


MONTHS_AHEAD = 2  # partitions exist for the current month and the next two


def months_ahead_end(today: datetime.date) -> datetime.date:
    month = month_start(today)
    for _ in range(MONTHS_AHEAD):
        month = month_next(month)
    return month
