import io
import re

import pytest
from django.core.management import CommandError, call_command
from knox.crypto import hash_token
from knox.models import AuthToken

from users.models import User
from users.tests.factories import UserFactory


def run(*args, **options) -> tuple[str, str]:
    """call_command with captured output: (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*args, stdout=stdout, stderr=stderr, no_color=True, **options)
    return stdout.getvalue(), stderr.getvalue()


# --- seed_demo_users ------------------------------------------------------------------------


def test_seed_demo_users_then_if_empty_adds_none(db):
    out, _ = run("seed_demo_users", "--count", "25", "--seed", "1")
    assert out.startswith("25 demo users created in ")
    assert User.objects.count() == 25
    assert User.objects.filter(is_staff=False, email__endswith="@example.invalid").count() == 25

    out, _ = run("seed_demo_users", "--count", "25", "--seed", "2", "--if-empty")

    assert out == "Users already exist; no demo users added.\n"
    assert User.objects.count() == 25


def test_seed_demo_users_if_empty_ignores_staff_accounts(staff_user):
    out, _ = run("seed_demo_users", "--count", "5", "--if-empty")
    assert out.startswith("5 demo users created in ")
    assert User.objects.count() == 6


def test_seed_demo_users_rejects_a_negative_count_and_creates_nothing(db):
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="--count must be zero or more") as excinfo:
        call_command("seed_demo_users", "--count", "-1", stdout=stdout, stderr=stderr, no_color=True)
    assert excinfo.value.returncode == 2
    assert stdout.getvalue() == ""
    assert User.objects.count() == 0


# --- ensure_admin ---------------------------------------------------------------------------


def test_ensure_admin_creates_a_staff_superuser_and_prints_its_secrets_once(db, no_admin_env):
    out, _ = run("ensure_admin")

    user = User.objects.get()
    token = AuthToken.objects.get(user=user)
    assert (user.email, user.is_staff, user.is_superuser, user.is_active) == ("admin@soulverse.local", True, True, True)
    lines = out.splitlines()
    assert lines[0] == "Staff account created: admin@soulverse.local"
    assert len(lines) == 3
    password = lines[1].removeprefix("  password:  ").removesuffix("   (shown once)")
    assert lines[1] == f"  password:  {password}   (shown once)"
    assert len(password) >= 12
    assert user.check_password(password)
    key = lines[2].removeprefix("  API token: ").removesuffix("   (shown once)")
    assert lines[2] == f"  API token: {key}   (shown once)"
    assert token.digest == hash_token(key) and key not in token.digest  # only its digest is stored

    out, _ = run("ensure_admin")

    assert out == "Staff account admin@soulverse.local already exists (password and token unchanged).\n"
    assert password not in out and key not in out
    assert "password:" not in out and "API token:" not in out
    assert User.objects.count() == 1
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [token.digest]
    user.refresh_from_db()
    assert user.check_password(password)


def test_ensure_admin_takes_its_secrets_from_the_environment_and_does_not_print_them(db, no_admin_env, monkeypatch):
    monkeypatch.setenv("SOULVERSE_ADMIN_PASSWORD", "Env-Passw0rd-42")
    monkeypatch.setenv("SOULVERSE_ADMIN_TOKEN", "4f0c9b1e7a2d8e3f5a6b0c1d2e3f4a5b6c7d8e9f")
    monkeypatch.setenv("SOULVERSE_ADMIN_EMAIL", "ops@example.org")

    out, err = run("ensure_admin")

    assert out == "Staff account created: ops@example.org\n"
    assert err == ""
    user = User.objects.get()
    assert (user.email, user.is_staff, user.is_superuser) == ("ops@example.org", True, True)
    assert user.check_password("Env-Passw0rd-42")
    assert AuthToken.objects.get(user=user).digest == hash_token("4f0c9b1e7a2d8e3f5a6b0c1d2e3f4a5b6c7d8e9f")


def test_ensure_admin_no_token_makes_no_token_and_prints_no_secret(db, no_admin_env, monkeypatch):
    """The init container's way: the password from its secret, nothing secret in the logs."""
    monkeypatch.setenv("SOULVERSE_ADMIN_PASSWORD", "Env-Passw0rd-42")

    out, err = run("ensure_admin", "--no-token")

    assert (out, err) == ("Staff account created: admin@soulverse.local\n", "")
    user = User.objects.get()
    assert user.check_password("Env-Passw0rd-42")
    assert AuthToken.objects.count() == 0


def test_ensure_admin_refuses_an_existing_non_staff_account(db, no_admin_env):
    member = UserFactory(email="admin@soulverse.local")
    with pytest.raises(CommandError, match="exists but is not staff"):
        run("ensure_admin")
    member.refresh_from_db()
    assert (member.is_staff, member.is_superuser) == (False, False)
    assert AuthToken.objects.count() == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SOULVERSE_ADMIN_PASSWORD", "a", "SOULVERSE_ADMIN_PASSWORD: too weak"),
        ("SOULVERSE_ADMIN_PASSWORD", "password1234", "SOULVERSE_ADMIN_PASSWORD: too weak"),
        ("SOULVERSE_ADMIN_TOKEN", "a", "SOULVERSE_ADMIN_TOKEN: too weak (at least 32 characters)"),
        ("SOULVERSE_ADMIN_TOKEN", "a" * 40, "SOULVERSE_ADMIN_TOKEN: too weak (at least 12 different characters"),
    ],
)
def test_ensure_admin_refuses_weak_secrets_and_creates_nothing(db, no_admin_env, monkeypatch, variable, value, message):
    """Finding 4: ensure_admin accepted password `a` and token `a`."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(CommandError, match=re.escape(message)):
        run("ensure_admin")
    assert (User.objects.count(), AuthToken.objects.count()) == (0, 0)


# --- ensure_admin from compose secrets (the deployment's init step) ---------------------------

ADMIN_PASSWORD = "File-Passw0rd-42"
ADMIN_TOKEN = "9e1d7c3b5a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d"


@pytest.fixture
def admin_secret_files(tmp_path, no_admin_env, monkeypatch):
    """SOULVERSE_ADMIN_*_FILE naming files as compose mounts them (a trailing newline)."""
    password, token = tmp_path / "admin_password", tmp_path / "admin_token"
    password.write_text(ADMIN_PASSWORD + "\n")
    token.write_text(ADMIN_TOKEN + "\n")
    monkeypatch.setenv("SOULVERSE_ADMIN_PASSWORD_FILE", str(password))
    monkeypatch.setenv("SOULVERSE_ADMIN_TOKEN_FILE", str(token))
    return password, token


def test_ensure_admin_takes_its_secrets_from_files_and_a_rerun_changes_nothing(db, admin_secret_files):
    out, _ = run("ensure_admin")

    assert out == "Staff account created: admin@soulverse.local\n"
    user = User.objects.get()
    assert user.check_password(ADMIN_PASSWORD)
    token = AuthToken.objects.get(user=user)
    assert token.digest == hash_token(ADMIN_TOKEN)

    admin_secret_files[0].write_text("Another-Passw0rd-43\n")  # a changed secret does not reset the account
    out, _ = run("ensure_admin")

    assert out == "Staff account admin@soulverse.local already exists (password and token unchanged).\n"
    user.refresh_from_db()
    assert user.check_password(ADMIN_PASSWORD)
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [token.digest]


def test_ensure_admin_refuses_a_secret_given_twice_or_unreadable_and_creates_nothing(
    db, admin_secret_files, monkeypatch, tmp_path
):
    monkeypatch.setenv("SOULVERSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
    with pytest.raises(CommandError) as refused:
        run("ensure_admin")
    assert str(refused.value) == (
        "SOULVERSE_ADMIN_PASSWORD and SOULVERSE_ADMIN_PASSWORD_FILE are both set: keep "
        "only one of them. Nothing changed."
    )

    monkeypatch.delenv("SOULVERSE_ADMIN_PASSWORD")
    monkeypatch.setenv("SOULVERSE_ADMIN_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(CommandError) as refused:
        run("ensure_admin")
    assert str(refused.value) == (
        f"SOULVERSE_ADMIN_TOKEN_FILE: cannot read {tmp_path / 'absent'} (No such file or directory). Nothing changed."
    )
    assert (User.objects.count(), AuthToken.objects.count()) == (0, 0)


def test_ensure_admin_weak_password_file_is_refused(db, admin_secret_files):
    admin_secret_files[0].write_text("password1234\n")
    with pytest.raises(CommandError, match=re.escape("SOULVERSE_ADMIN_PASSWORD: too weak")):
        run("ensure_admin")
    assert (User.objects.count(), AuthToken.objects.count()) == (0, 0)
