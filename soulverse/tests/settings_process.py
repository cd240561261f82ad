"""Load the project's settings in a new Python process, as `manage.py` or gunicorn would at start:
for settings read from the environment once, and for the ones refused at start."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def django_setup_run(code: str = "", **environment: str) -> subprocess.CompletedProcess:
    """`django.setup()`, then `code`, in a new process: the environment is this one's without its
    DJANGO_* variables, with the project's settings module, a secret key and `environment`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "soulverse.settings", "DJANGO_SECRET_KEY": "x" * 60, **environment})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
