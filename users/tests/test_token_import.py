"""The migration to hashed tokens: DRF's plaintext tokens are imported as knox digests, so that
their holders keep working, and the plaintext table is dropped."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a DRF authtoken key: 40 hex digits


def migrate(target: tuple[str, str] | None = None) -> None:
    """To `target`, or (None) to the latest migrations of every app, as the other tests expect."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


def latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_drf_tokens_keep_working_and_leave_no_plaintext():
    user = UserFactory()
    migrate(("users", "0002_active_users_covering_index"))
    user_id = "uuid" if connection.vendor == "postgresql" else "char(32)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp NOT NULL, "
            f"user_id {user_id} NOT NULL UNIQUE)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, CURRENT_TIMESTAMP, %s)",
            [LEGACY_KEY, user.pk.hex if connection.vendor != "postgresql" else str(user.pk)],
        )

    migrate(("users", "0003_api_tokens_hashed_import"))
    latest()  # the later migrations too (users.notify_at...), as a deploy applies them

    assert "authtoken_token" not in connection.introspection.table_names()
    token = AuthToken.objects.get()
    assert (token.user_id, token.digest, token.token_key) == (user.pk, hash_token(LEGACY_KEY), LEGACY_KEY[:15])
    assert token.expiry is not None
    migrate()  # the API needs the later migrations' tables
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert api.get("/api/v1/users/me").json()["email"] == user.email
    assert api.get("/api/v1/verses/today").status_code == 200  # made on demand (the DRF path)
    assert api.get("/api/v1/verses/today").status_code == 200  # the one-query path
