"""`manage.py qcluster`: django-q2's worker, which first waits for the database, and whose main
process runs the watchdog.

django-q2's own command exits at once when the database is unreachable (its ORM broker and
schedules live there). A worker started during a database restart waits for it instead, logging
each attempt, for up to Q_STARTUP_DATABASE_WAIT_SECONDS; then it exits non-zero for the process
supervisor to deal with.

Once the cluster runs, its main process (otherwise idle while the sentinel and its workers run)
makes a watchdog pass every SCHEDULER_WATCHDOG_SECONDS (scheduler/watchdog.py): every cluster
does, so the work of a dead one is handed out again as long as one cluster lives, on either
broker, without a schedule of its own."""

import logging
import os
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connection
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as QClusterCommand

from scheduler.watchdog import watchdog_pass
from soulverse.db import db_retry, statement_timeout_apply
from soulverse.metrics import metrics_dir_clean

logger = logging.getLogger(__name__)


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
            raise CommandError(
                f"the database is still unreachable after {timeout:g} s; the cluster did not start: "
                f"{str(exc).strip().splitlines()[0]}"
            ) from None
        metrics_dir_clean()  # the files of this host's dead processes (a previous cluster's)
        statement_timeout_apply(seconds=settings.DATABASE_STATEMENT_TIMEOUT_SECONDS)  # inherited by the workers
        settings.SECRET_KEY  # noqa: B018  (as django-q2's command: fail early without one)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        watchdog_loop(cluster)


def watchdog_loop(cluster: Cluster) -> None:
    """Watchdog passes until the cluster stops (SIGTERM/SIGINT stop it through its handler)."""
    interval = settings.SCHEDULER_WATCHDOG_SECONDS
    logger.info("event=watchdog_started cluster=%s interval=%s", str(cluster.cluster_id)[:8], interval)
    next_pass = time.monotonic() + interval
    while cluster.sentinel is not None and cluster.sentinel.is_alive():
        time.sleep(0.5)
        if time.monotonic() >= next_pass and cluster.sentinel.is_alive():
            watchdog_pass(own_cluster_id=str(cluster.cluster_id))
            next_pass = time.monotonic() + interval
