"""Secrets read from files as compose mounts them (X_FILE), and the log format, each loaded in a new
process as `manage.py` or gunicorn would at start."""

import pytest

from soulverse.tests.settings_process import django_setup_run

SECRET_NAMES = ("DJANGO_SECRET_KEY", "GEMINI_API_KEY", "METRICS_TOKEN", "SENTRY_DSN")


def _setting(name: str, **env) -> str:
    done = django_setup_run(f"from django.conf import settings; print(repr(getattr(settings, {name!r})))", **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_secret_is_read_from_the_file_its_FILE_variable_names(tmp_path, name):
    secret = tmp_path / name.lower()
    # (METRICS_TOKEN must pass the token strength rule: letters, digits, - and _.)
    value = "http://key@127.0.0.1:9/1" if name == "SENTRY_DSN" else "s3cr3t-Value_from-a-file-" + "Q" * 40
    secret.write_text(value + "\n")  # `echo value > file`: the trailing newline is not part of it

    setting = "SECRET_KEY" if name == "DJANGO_SECRET_KEY" else name
    assert _setting(setting, **{name: "", f"{name}_FILE": str(secret)}) == repr(value)


def test_a_secret_set_twice_is_refused_with_one_line(tmp_path):
    secret = tmp_path / "gemini"
    secret.write_text("from-the-file")

    result = django_setup_run(GEMINI_API_KEY="from-the-environment", GEMINI_API_KEY_FILE=str(secret))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: GEMINI_API_KEY and GEMINI_API_KEY_FILE are both set: keep only "
        "one of them."
    )
    assert "from-the-file" not in result.stderr and "from-the-environment" not in result.stderr


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_an_unreadable_secret_file_is_refused_with_one_line(tmp_path, make):
    path = tmp_path / "metrics_token"
    if make == "directory":
        path.mkdir()
    reason = "No such file or directory" if make == "missing" else "Is a directory"

    result = django_setup_run(METRICS_TOKEN_FILE=str(path))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"django.core.exceptions.ImproperlyConfigured: METRICS_TOKEN_FILE: cannot read {path} ({reason})."
    )


def test_the_secret_key_file_counts_as_the_production_secret_key(tmp_path):
    empty = tmp_path / "secret_key"
    empty.write_text("\n")

    result = django_setup_run(DJANGO_SECRET_KEY="", DJANGO_SECRET_KEY_FILE=str(empty))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr.strip().splitlines()[-1]


def test_push_and_the_ai_are_on_unless_switched_off():
    assert (_setting("PUSH_ENABLED"), _setting("AI_ENABLED")) == ("True", "True")
    assert (_setting("PUSH_ENABLED", PUSH_ENABLED="false"), _setting("AI_ENABLED", AI_ENABLED="false")) == (
        "False",
        "False",
    )


def test_curl_keeps_more_requests_in_flight_than_the_modes_whose_requests_are_threads_or_one_connection():
    assert [_setting("FCM_CONCURRENCY", FCM_SEND_MODE=mode) for mode in ("curl", "pool", "h2")] == ["500", "100", "100"]
    assert _setting("FCM_CONCURRENCY", FCM_SEND_MODE="curl", FCM_CONCURRENCY="50") == "50"


def test_the_log_format_is_line_unless_json_is_asked_for():
    assert _setting("LOG_FORMAT") == "'line'"
    result = django_setup_run(LOG_FORMAT="yaml")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: LOG_FORMAT must be 'line' or 'json'."
    )
