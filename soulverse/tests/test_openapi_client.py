"""A Python client generated from the published schema, the way a mobile or partner team would.

openapi-python-client (pinned in requirements-dev.txt) runs with its default settings on the
schema `manage.py spectacular` writes; the package it builds must import and talk to a real
server: it once failed on ~600 time zones as an enum ("Duplicate key GMT0 in enum TimezoneEnum").
The generator formats its output with ruff, found on PATH next to this interpreter. No network.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from users.models import User
from users.tests.factories import UserFactory, token_key_for

BIN = Path(sys.executable).parent
PACKAGE = "soul_verse_scheduler_api_client"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """The generated package's directory (one generation per test module)."""
    work = tmp_path_factory.mktemp("openapi-client")
    # manage.py with the project's settings (not the tests'), in development mode as `make run` has it.
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DJANGO_DEBUG="true")
    schema = work / "schema.json"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--format",
            "openapi-json",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(schema),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    generated = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(schema)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = generated.stdout + generated.stderr
    # The generator exits 0 with "Warning(s) encountered" when it left parts out (or ruff is missing).
    assert (generated.returncode, "Warning" in output, "Error" in output) == (0, False, False), output
    return work


@pytest.fixture
def client_package(generated_client, monkeypatch):
    monkeypatch.syspath_prepend(str(generated_client / "soul-verse-scheduler-api-client"))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_the_generated_client_has_every_operation_and_a_plain_string_time_zone(generated_client):
    schema = json.loads((generated_client / "schema.json").read_text())
    package = generated_client / "soul-verse-scheduler-api-client" / PACKAGE
    operations = {path.stem for path in (package / "api" / "v1").glob("v1_*.py")}
    assert len(operations) == sum(len(item) for item in schema["paths"].values()) == 45
    assert {"v1_users_me_retrieve", "v1_users_me_partial_update", "v1_scheduler_status_retrieve"} <= operations
    assert not (package / "models" / "timezone_enum.py").exists()
    assert "timezone: str | Unset = UNSET" in (package / "models" / "me.py").read_text()


@pytest.mark.django_db(transaction=True)
def test_the_generated_client_reads_and_changes_a_profile_on_a_live_server(client_package, live_server):
    from soul_verse_scheduler_api_client.api.v1 import v1_users_me_partial_update, v1_users_me_retrieve
    from soul_verse_scheduler_api_client.models import Me, PatchedMe

    user = UserFactory(email="ama@example.org", timezone="Africa/Lome", mood="hopeful")
    api = client_package.AuthenticatedClient(base_url=live_server.url, token=token_key_for(user), prefix="Token")

    me = v1_users_me_retrieve.sync(client=api)
    assert isinstance(me, Me)
    assert (me.email, me.timezone, me.mood.value, me.notify_at) == (
        "ama@example.org",
        "Africa/Lome",
        "hopeful",
        "06:00",
    )

    changed = v1_users_me_partial_update.sync(client=api, body=PatchedMe(timezone="America/Argentina/Buenos_Aires"))
    assert changed.timezone == "America/Argentina/Buenos_Aires"
    assert User.objects.get(pk=user.pk).timezone == "America/Argentina/Buenos_Aires"

    # A string that is no IANA name: the server refuses it, naming the field, and nothing changes.
    refused = v1_users_me_partial_update.sync_detailed(client=api, body=PatchedMe(timezone="GMT-00:00"))
    assert refused.status_code == 400
    assert b'"timezone"' in refused.content
    assert User.objects.get(pk=user.pk).timezone == "America/Argentina/Buenos_Aires"
