import datetime
import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import UserFactory


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_tokens_created_by_the_command_work_until_revoked():
    """One token per device (each `create` adds one), stored as a digest; `revoke` ends them all."""
    user = UserFactory(email="marie@example.org")
    phone = run("api_token", "create", "marie@example.org").strip()
    tablet = run("api_token", "create", "marie@example.org", "--days", "7").strip()
    assert phone != tablet and len(phone) == 64
    tokens = {token.digest: token for token in AuthToken.objects.filter(user=user)}
    assert set(tokens) == {hash_token(phone), hash_token(tablet)}
    assert tokens[hash_token(tablet)].expiry - tokens[hash_token(tablet)].created < datetime.timedelta(
        days=7, seconds=5
    )
    for key in (phone, tablet):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/v1/users/me").status_code == 200

    assert run("api_token", "revoke", "marie@example.org") == "2 token(s) of marie@example.org revoked.\n"
    assert client.get("/api/v1/users/me").status_code == 401
    with pytest.raises(CommandError, match="email: no user"):
        run("api_token", "create", "nobody@example.org")
    assert AuthToken.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "message"),
    [("a", "at least 32 characters"), ("ab" * 20, "at least 12 different"), ("x" * 31 + "é", "letters, digits")],
)
def test_api_token_refuses_a_weak_key(key, message):
    UserFactory(email="marie@example.org")
    with pytest.raises(CommandError, match=f"--key: too weak \\({message}"):
        run("api_token", "create", "marie@example.org", "--key", key)
    assert AuthToken.objects.count() == 0


def production_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST"))}
    env.update({"DJANGO_SETTINGS_MODULE": "soulverse.settings", "DJANGO_DEBUG": "false"}, **extra)
    return env


def test_the_service_refuses_to_start_in_production_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_check_deploy_with_production_settings_gives_no_warnings():
    # Push and the AI off on purpose: verses/tests/test_deploy_checks.py checks them on.
    env = production_env(
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Q9" * 10,
        DJANGO_ALLOWED_HOSTS="soulverse.example.org",
        PUSH_ENABLED="false",
        AI_ENABLED="false",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # 1 silenced: security.W021, HSTS without `preload` by choice (soulverse/settings.py)
    assert "System check identified no issues (1 silenced)." in result.stdout


@pytest.mark.django_db(transaction=True)
def test_an_init_process_bootstraps_the_admin_from_its_secret_files_once(tmp_path, settings):
    """As the deployment's `init` one-off runs it: a new process, secrets as compose mounts them."""
    from scheduler.tests.clusters import database_url

    # The production settings hash with PBKDF2 (the test settings only with MD5).
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

    (tmp_path / "password").write_text("Init-Passw0rd-from-a-secret\n")
    (tmp_path / "token").write_text("8c2e4a6f0b1d3e5a7c9f2b4d6e8a0c1f3b5d7e9a\n")
    env = production_env(
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Q9" * 10,
        DATABASE_URL=database_url(),
        SOULVERSE_ADMIN_EMAIL="ops@example.org",
        SOULVERSE_ADMIN_PASSWORD_FILE=str(tmp_path / "password"),
        SOULVERSE_ADMIN_TOKEN_FILE=str(tmp_path / "token"),
    )
    for name in ("SOULVERSE_ADMIN_PASSWORD", "SOULVERSE_ADMIN_TOKEN"):
        env.pop(name, None)
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "manage.py", "ensure_admin"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)

    assert outputs == [
        "Staff account created: ops@example.org\n",
        "Staff account ops@example.org already exists (password and token unchanged).\n",
    ]
    user = User.objects.get()
    assert (user.email, user.is_staff, user.is_superuser) == ("ops@example.org", True, True)
    assert user.check_password("Init-Passw0rd-from-a-secret")
    assert AuthToken.objects.get().digest == hash_token("8c2e4a6f0b1d3e5a7c9f2b4d6e8a0c1f3b5d7e9a")
