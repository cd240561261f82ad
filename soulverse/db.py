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
