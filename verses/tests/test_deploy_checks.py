"""`manage.py check --deploy` with production settings, as the containers run it before serving:
push and the AI are on unless switched off, and then need working credentials and a known model."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from soulverse.testing.fcm_stub import FcmStub
from soulverse.testing.gemini_stub import GeminiStub

SECRET = "a-long-random-production-secret-" + "x7Q9" * 10
# What the test settings or a developer's shell may have set, never seen by the checked process.
_CLEARED = ("DJANGO_", "PYTEST", "GEMINI_", "FCM_", "PUSH_", "AI_", "SENTRY_", "GOOGLE_", "JOB_HEARTBEAT", "LOG_FORMAT")


def production_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CLEARED)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "soulverse.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": SECRET,
            "DJANGO_ALLOWED_HOSTS": "soulverse.example.org",
        }
    )
    env.update(extra)
    return {key: value for key, value in env.items() if value is not None}


def check_deploy(*options: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", *options],
        cwd=settings.BASE_DIR,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def issue_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if "(soulverse." in line]


@pytest.fixture(scope="module")
def fcm_credentials(tmp_path_factory):
    with FcmStub() as stub:
        yield str(stub.credentials_file(tmp_path_factory.mktemp("fcm")))


@pytest.fixture
def gemini():
    with GeminiStub() as stub:
        yield stub


def test_push_on_without_credentials_fails_with_one_clear_line():
    result = check_deploy(AI_ENABLED="false")

    assert result.returncode != 0
    assert issue_lines(result) == [
        "?: (soulverse.E001) Push is on but FCM_CREDENTIALS_FILE is not set (no push would be sent): point it at the "
        "Firebase service-account JSON, or set PUSH_ENABLED=false to run without push on purpose."
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read it (No such file or directory)"),
        ("{not json", "not a Firebase service-account JSON ("),
        (json.dumps({"type": "authorized_user", "client_id": "x"}), "not a Firebase service-account JSON ("),
        (
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "p",
                    "client_email": "a@p.iam.gserviceaccount.com",
                    "private_key": "not a key",
                    "token_uri": "https://oauth2.googleapis.com/token",
                }
            ),
            "not a Firebase service-account JSON (",
        ),
    ],
)
def test_push_on_with_an_unusable_credentials_file_fails(tmp_path, content, reason):
    path = tmp_path / "fcm.json"
    if content is not None:
        path.write_text(content)

    result = check_deploy(AI_ENABLED="false", FCM_CREDENTIALS_FILE=str(path))

    assert result.returncode != 0
    [line] = issue_lines(result)
    assert line.startswith(f"?: (soulverse.E002) FCM_CREDENTIALS_FILE={path}: {reason}")
    assert line.endswith("or set PUSH_ENABLED=false to run without push on purpose.")


def test_ai_on_without_a_key_fails_with_one_clear_line(fcm_credentials):
    result = check_deploy(FCM_CREDENTIALS_FILE=fcm_credentials)

    assert result.returncode != 0
    assert issue_lines(result) == [
        "?: (soulverse.E003) The AI is on but GEMINI_API_KEY (or GEMINI_API_KEY_FILE) is not set (every verse "
        "would be a curated fallback): set the key, or set AI_ENABLED=false to run without the AI on purpose."
    ]


def test_switched_off_on_purpose_passes_without_any_warning():
    result = check_deploy("--fail-level", "WARNING", PUSH_ENABLED="false", AI_ENABLED="false")

    assert result.returncode == 0, result.stderr
    # 1 silenced: security.W021, HSTS without `preload` by choice (soulverse/settings.py)
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_working_credentials_and_a_known_model_pass(fcm_credentials, gemini, tmp_path):
    key_file = tmp_path / "gemini_api_key"
    key_file.write_text("the-production-key\n")  # as `echo key > file` writes it

    result = check_deploy(
        "--fail-level",
        "WARNING",
        FCM_CREDENTIALS_FILE=fcm_credentials,
        GEMINI_API_KEY_FILE=str(key_file),
        GEMINI_BASE_URL=gemini.base_url,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "System check identified no issues (1 silenced)." in result.stdout
    )  # security.W021: no HSTS preload, by choice
    [probe] = gemini.probes
    assert probe.model == settings.GEMINI_MODEL
    assert probe.headers.get("x-goog-api-key") == "the-production-key"  # newline stripped


def test_a_model_gemini_does_not_know_fails(fcm_credentials, gemini):
    result = check_deploy(
        FCM_CREDENTIALS_FILE=fcm_credentials,
        GEMINI_API_KEY="k",
        GEMINI_BASE_URL=gemini.base_url,
        GEMINI_MODEL="gemini-2.5-flash",
    )

    assert result.returncode != 0
    [line] = issue_lines(result)
    assert line.startswith(
        "?: (soulverse.E004) GEMINI_MODEL=gemini-2.5-flash: Gemini does not know this model (Gemini HTTP 404 NOT_FOUND"
    )
    assert line.endswith("set a current model, or set AI_ENABLED=false to run without the AI on purpose.")


def test_a_key_gemini_refuses_fails(fcm_credentials):
    with GeminiStub(api_key="the-right-key") as gemini:
        result = check_deploy(
            FCM_CREDENTIALS_FILE=fcm_credentials, GEMINI_API_KEY="a-wrong-key", GEMINI_BASE_URL=gemini.base_url
        )

    assert result.returncode != 0
    [line] = issue_lines(result)
    assert line.startswith("?: (soulverse.E005) GEMINI_API_KEY: Gemini refuses the setup (auth: Gemini HTTP 4")
    assert "a-wrong-key" not in result.stdout + result.stderr


def test_gemini_unreachable_is_a_warning_not_a_refusal(fcm_credentials, gemini):
    url = gemini.base_url
    gemini.stop()  # nothing listens there any more

    result = check_deploy(FCM_CREDENTIALS_FILE=fcm_credentials, GEMINI_API_KEY="k", GEMINI_BASE_URL=url)

    assert result.returncode == 0, result.stderr
    [line] = issue_lines(result)
    assert line.startswith(f"?: (soulverse.W001) GEMINI_MODEL={settings.GEMINI_MODEL}: Gemini could not be reached")


def test_the_checks_are_for_production_only():
    result = check_deploy(DJANGO_DEBUG="true")  # push and AI on, no credentials: fine while developing

    assert issue_lines(result) == []
