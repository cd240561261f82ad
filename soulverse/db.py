"""Database helpers shared by the apps."""

import itertools
import logging
import re
import weakref

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

logger = logging.getLogger(__name__)

# Raw DB-API connection -> names of the statements prepared on it.
_prepared: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


def execute_prepared(cursor, *, name: str, sql: str, params: list) -> None:
    """Execute `sql` (with %s placeholders) as a prepared statement on PostgreSQL.

    PostgreSQL plans a statement at every execution, and for a small join on a hot path the
    planning costs more than the execution. The statement is prepared once per connection (it
    lives as long as the session, whatever happens to transactions). Elsewhere, or with
    DATABASE_PREPARED_STATEMENTS off (PgBouncer in transaction mode cannot keep them), a plain
    execute. `name` must be unique per `sql`."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    names = _prepared.setdefault(connection.connection, set())
    if name not in names:
        numbers = itertools.count(1)
        cursor.execute(f"PREPARE {name} AS " + re.sub("%s", lambda _: f"${next(numbers)}", sql))
        names.add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)


def db_retry(event: str, *, seconds: float = 120):
    """Retry on a lost database (a restart, a fail-over) with exponential back-off for up to
    `seconds`, logging `event` before each new attempt; then the last error is raised."""
    return retry(
        retry=retry_if_exception_type((OperationalError, InterfaceError)),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(seconds),
        before_sleep=lambda state: (
            logger.warning("event=%s attempt=%s error=%s", event, state.attempt_number,
                           type(state.outcome.exception()).__name__),
            close_old_connections(),  # drop the broken connection; the next attempt opens one
        ),
        reraise=True,
    )


def tables_analyze_if_stale(*tables: str) -> list[str]:
    """ANALYZE those of `tables` (PostgreSQL) whose planner statistics are missing or stale by
    autovacuum's own rule (changed rows > 50 + 10 % of the table), as autovacuum would have.

    A bulk-loaded or restored table, or a server running without autovacuum, has none: the
    planner then guesses, and a daily run over a million users took twice as long. Returns the
    tables analyzed."""
    if connection.vendor != "postgresql":
        return []
    analyzed = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT c.reltuples, coalesce(s.n_mod_since_analyze, 0),"
                " EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = c.oid)"
                " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
                " WHERE c.oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            if row is None:
                continue
            reltuples, changed, has_statistics = row
            if reltuples >= 0 and has_statistics and changed <= 50 + 0.1 * reltuples:
                continue
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            analyzed.append(table)
            logger.info("event=table_analyzed table=%s rows_estimated_before=%s changed_since=%s",
                        table, int(reltuples), changed)
    return analyzed
