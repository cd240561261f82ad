"""DRF's plaintext tokens become django-rest-knox tokens (SHA-512 digest + lookup prefix), so
that their holders keep working; then the plaintext table is dropped."""

import datetime
import hashlib

from django.conf import settings
from django.db import migrations
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"
TOKEN_KEY_LENGTH = 15  # knox.settings.CONSTANTS.TOKEN_KEY_LENGTH


def tokens_import(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return  # a new database: nothing to import
    AuthToken = apps.get_model("knox", "AuthToken")
    ttl = getattr(settings, "REST_KNOX", {}).get("TOKEN_TTL") or datetime.timedelta(days=90)
    expiry = timezone.now() + ttl
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {LEGACY_TABLE}")
        rows = cursor.fetchall()
    # knox.crypto.hash_token: SHA-512 of the key's UTF-8 bytes, in hex.
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=hashlib.sha512(key.encode()).hexdigest(),
                token_key=key[:TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            )
            for key, user_id in rows
        ]
    )
    schema_editor.execute(f"DROP TABLE {LEGACY_TABLE}")
    # rest_framework.authtoken is no longer installed: forget its migrations too.
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_active_users_covering_index"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(tokens_import, migrations.RunPython.noop)]
