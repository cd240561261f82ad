"""Secrets read from files, the way compose (and Kubernetes) mount them: `X_FILE=/run/secrets/x`
gives X the file's content, its trailing newline stripped. Used by the settings and by the
commands that read a secret themselves (ensure_admin)."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_secret(name: str, default: str = "") -> str:
    """`name` from the environment, or the content of the file `name`_FILE names; both set is an
    error, and so is a file that cannot be read."""
    path = os.environ.get(f"{name}_FILE", "")
    if not path:
        return os.environ.get(name, default)
    if os.environ.get(name):
        raise ImproperlyConfigured(f"{name} and {name}_FILE are both set: keep only one of them.")
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path} ({reason}).") from None
