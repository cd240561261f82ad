"""Database helpers shared by the apps."""

import itertools
import re
import weakref

from django.conf import settings
from django.db import connection

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
