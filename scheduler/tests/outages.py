"""PostgreSQL outages for the fault tests (make faults): the machine's own server, stopped and started."""

import contextlib
import os
import subprocess
import time

import pytest
from django.db import OperationalError, connection

from scheduler.tests.clusters import wait_until

# The machine's own server, stopped and started with the env notes' command. While it is down a
# chunk waits in its tenacity back-off (scheduler.services.job_chunk_execute), so the task
# timeout must be longer than the outage; the defaults (300 s) are, the fault tests' fast ones are not.
OUTAGE_SECONDS = 20
OUTAGE_TIMEOUTS = {"Q_TIMEOUT": "90", "Q_RETRY": "100"}


def postgres_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    subprocess.run(command + (["-m", "fast"] if action == "stop" else []), check=True, timeout=60)


def postgres_wait() -> None:

    def reachable() -> bool:
        try:
            connection.close()
            connection.ensure_connection()
            return True
        except OperationalError:
            return False

    wait_until(reachable, 60, "PostgreSQL back")


def outage() -> None:
    """Stop PostgreSQL for OUTAGE_SECONDS, then start it again."""

    connection.close()
    postgres_ctl("stop")
    try:
        time.sleep(OUTAGE_SECONDS)
    finally:
        postgres_ctl("start")
    postgres_wait()


@contextlib.contextmanager
def local_postgres_restored():
    """Skips unless the machine's own PostgreSQL is the test database; leaves it running afterwards."""

    db = connection.settings_dict
    if (
        connection.vendor != "postgresql"
        or str(db["PORT"] or 5432) != "5432"
        or db["HOST"] not in ("127.0.0.1", "localhost")
        or not os.path.isdir("/etc/postgresql")
    ):
        pytest.skip("needs the machine's PostgreSQL on 127.0.0.1:5432 (DATABASE_URL) and pg_ctlcluster")
    yield
    try:  # whatever happened, leave the server running for the next tests
        subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], check=True, timeout=10, capture_output=True)
    except subprocess.CalledProcessError:
        postgres_ctl("start")
    postgres_wait()
