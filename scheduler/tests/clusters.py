"""Real qcluster processes for tests: start one on the test database, wait for what it does.

Plain helpers (the `qcluster` fixture in conftest.py wraps `qcluster_running`), imported by the
cluster tests of every app."""

import contextlib
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until(predicate, timeout: float, what: str, log_dir: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    tail = (log_dir / "qcluster.log").read_text()[-3000:] if log_dir else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")


@contextlib.contextmanager
def qcluster_running(log_dir: Path, env: dict | None = None):
    """A real `manage.py qcluster` on the test database (with `env` added), until the block ends."""
    from scheduler.selectors import cluster_state

    log = open(log_dir / "qcluster.log", "wb")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: cluster_state()["alive"], 60, "the cluster to report a heartbeat", log_dir)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def scheduler_pass(name: str, log_dir: Path) -> None:
    """Wait for one full pass of the cluster's scheduler, seen through a due probe schedule."""
    Schedule.objects.create(
        name=name,
        func="math.floor",
        args="1.5",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() - datetime.timedelta(seconds=1),
    )
    wait_until(lambda: not Schedule.objects.filter(name=name).exists(), 75, f"schedule {name}", log_dir)


FAST_RECOVERY = {"Q_TIMEOUT": "8", "Q_RETRY": "12", "VERSES_ASSIGN_CHUNK_SIZE": "25", "Q_WORKERS": "2"}


def cluster_start(log, *, wait: bool = True, **overrides: str) -> subprocess.Popen:
    """A qcluster in a process group of its own (quick recovery settings, `overrides` added), so
    that cluster_kill reaches every worker as a crash would."""
    from scheduler.selectors import cluster_state

    env = {
        **os.environ,
        **FAST_RECOVERY,
        **overrides,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
    }
    # Its own process group: SIGKILL reaches the sentinel and every worker, as in a crash.
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if wait:
        wait_until(lambda: cluster_state()["alive"], 60, "the cluster heartbeat")
    return process


def cluster_kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def cluster_stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cluster_kill(process)
