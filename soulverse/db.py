"""Database helpers shared by the apps."""

import itertools
import logging
import re
import time
import weakref

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, transaction
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

logger = logging.getLogger(__name__)

# Raw DB-API connection -> names of the statements prepared on it.
_prepared: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


# The largest value of a BigAutoField key (PostgreSQL bigint, SQLite integer): a larger id in a URL
# names nothing (SQLite cannot even bind it).
BIGINT_MAX = 2**63 - 1


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


def rows_delete_before(model, *, day, batch_size: int) -> int:
    """Delete the rows of `model` (keyed by its primary key, with a `day` column) whose day is before
    `day`, `batch_size` rows per statement, each statement its own transaction: short locks and
    bounded WAL whatever the number of rows. Returns the number deleted."""
    table = connection.ops.quote_name(model._meta.db_table)
    key = ", ".join(connection.ops.quote_name(field.column) for field in model._meta.pk_fields)
    sql = f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE day < %s LIMIT %s)"
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [connection.ops.adapt_datefield_value(day), batch_size])
            count = cursor.rowcount
        deleted += count
        if count < batch_size:
            return deleted


def db_retry(event: str, *, seconds: float = 120):
    """Retry on a lost database (a restart, a fail-over) with exponential back-off for up to
    `seconds`, logging `event` before each new attempt; then the last error is raised."""
    return retry(
        retry=retry_if_exception_type((OperationalError, InterfaceError)),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(seconds),
        before_sleep=lambda state: (
            logger.warning(
                "event=%s attempt=%s error=%s", event, state.attempt_number, type(state.outcome.exception()).__name__
            ),
            close_old_connections(),  # drop the broken connection; the next attempt opens one
        ),
        reraise=True,
    )


def tables_analyze_if_stale(*tables: str) -> list[str]:
    """Do for `tables` (PostgreSQL) what autovacuum would have done, by its own default rules,
    when it has not: ANALYZE a table without planner statistics or with more than 50 + 10 % of
    its rows changed since; VACUUM (ANALYZE) one whose inserts since the last vacuum exceed
    1,000 + 20 % of its rows and whose pages are mostly not marked all-visible (index-only
    scans would visit the table for every row).

    A bulk-loaded or restored table, or a server running without autovacuum, has neither: the
    planner guesses, every row is checked in the table, and a daily run over a million users took
    1.6 times as long. VACUUM cannot run inside a transaction: there, ANALYZE only. Returns the
    tables done."""
    if connection.vendor != "postgresql":
        return []
    done = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT c.reltuples, c.relpages, c.relallvisible, coalesce(s.n_mod_since_analyze, 0),"
                " coalesce(s.n_ins_since_vacuum, 0), EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = c.oid)"
                " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
                " WHERE c.oid = to_regclass(%s)",
                [table],
            )
            row = cursor.fetchone()
            if row is None:
                continue
            reltuples, pages, all_visible, changed, inserted, has_statistics = row
            rows = max(reltuples, 0)
            vacuum = inserted > 1000 + 0.2 * rows and all_visible < 0.5 * pages and not connection.in_atomic_block
            analyze = reltuples < 0 or not has_statistics or changed > 50 + 0.1 * rows
            if not (vacuum or analyze):
                continue
            command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
            started = time.monotonic()
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
            done.append(table)
            logger.info(
                "event=table_maintained table=%s command=%s rows_estimated_before=%s changed=%s "
                "inserted=%s seconds=%.2f",
                table,
                command.split()[0].lower(),
                int(reltuples),
                changed,
                inserted,
                time.monotonic() - started,
            )
    return done


def statement_timeout_apply(*, seconds: int) -> None:
    """PostgreSQL's statement_timeout for this process's connections from now on (the worker's:
    migrations, seeding and maintenance keep none). A SET per connection rather than a startup
    `options` parameter, which PgBouncer refuses."""
    if connection.vendor != "postgresql" or seconds <= 0:
        return
    from django.db.backends.signals import connection_created

    def statement_timeout_set(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = %s", [seconds * 1000])

    connection_created.connect(statement_timeout_set, weak=False, dispatch_uid="soulverse-statement-timeout")
    connection.close()  # an open connection gets it on its next start
