import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from users.tests.factories import UserFactory


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_token_created_by_the_command_works_until_revoked():
    user = UserFactory(email="marie@example.org")
    key = run("api_token", "create", "marie@example.org").strip()
    assert Token.objects.get(user=user).key == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/users/me").status_code == 200
    with pytest.raises(CommandError, match="already has a token"):
        run("api_token", "create", "marie@example.org")

    assert run("api_token", "revoke", "marie@example.org") == "Token of marie@example.org revoked.\n"
    assert client.get("/api/v1/users/me").status_code == 401
    with pytest.raises(CommandError, match="email: no user"):
        run("api_token", "create", "nobody@example.org")
    assert Token.objects.count() == 0


def production_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST"))}
    env.update({"DJANGO_SETTINGS_MODULE": "soulverse.settings", "DJANGO_DEBUG": "false"}, **extra)
    return env


def test_the_service_refuses_to_start_in_production_without_a_secret_key():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR,
                            env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_check_deploy_with_production_settings_gives_no_warnings():
    env = production_env(DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Q9" * 10,
                         DJANGO_ALLOWED_HOSTS="soulverse.example.org")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
