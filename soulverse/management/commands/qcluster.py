"""`manage.py qcluster`: django-q2's worker, which first waits for the database.

django-q2's own command exits at once when the database is unreachable (its ORM broker and
schedules live there). A worker started during a database restart waits for it instead, logging
each attempt, for up to Q_STARTUP_DATABASE_WAIT_SECONDS; then it exits non-zero for the process
supervisor to deal with."""

import logging

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connection
from django_q.management.commands.qcluster import Command as QClusterCommand
from tenacity import RetryError, retry, retry_if_exception_type, stop_after_delay, wait_exponential

logger = logging.getLogger(__name__)


def database_wait(*, timeout: float) -> None:
    """Return once the default database answers; RetryError after `timeout` seconds."""

    @retry(
        retry=retry_if_exception_type((OperationalError, InterfaceError)),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(timeout),
        before_sleep=lambda state: logger.warning(
            "event=qcluster_waiting_for_database attempt=%s error=%s", state.attempt_number,
            str(state.outcome.exception()).strip().splitlines()[0]),
    )
    def ping() -> None:
        connection.close()  # a failed attempt leaves a broken connection behind
        connection.ensure_connection()

    ping()
    connection.close()  # the cluster's processes open their own


class Command(QClusterCommand):
    def handle(self, *args, **options):
        timeout = settings.Q_STARTUP_DATABASE_WAIT_SECONDS
        try:
            database_wait(timeout=timeout)
        except RetryError as exc:
            raise CommandError(f"the database is still unreachable after {timeout:g} s; the cluster did not start: "
                               f"{str(exc.last_attempt.exception()).strip().splitlines()[0]}") from None
        super().handle(*args, **options)
