"""`manage.py qcluster`: django-q2's worker, which first waits for the database.

django-q2's own command exits at once when the database is unreachable (its ORM broker and
schedules live there). A worker started during a database restart waits for it instead, logging
each attempt, for up to Q_STARTUP_DATABASE_WAIT_SECONDS; then it exits non-zero for the process
supervisor to deal with."""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connection
from django_q.management.commands.qcluster import Command as QClusterCommand

from soulverse.db import db_retry


def database_wait(*, timeout: float) -> None:
    """Return once the default database answers; its last error after `timeout` seconds."""
    db_retry("qcluster_waiting_for_database", seconds=timeout)(connection.ensure_connection)()
    connection.close()  # the cluster's processes open their own


class Command(QClusterCommand):
    def handle(self, *args, **options):
        timeout = settings.Q_STARTUP_DATABASE_WAIT_SECONDS
        try:
            database_wait(timeout=timeout)
        except (OperationalError, InterfaceError) as exc:
            raise CommandError(f"the database is still unreachable after {timeout:g} s; the cluster did not start: "
                               f"{str(exc).strip().splitlines()[0]}") from None
        super().handle(*args, **options)
