"""Devices instead of one `fcm_token` column: every non-empty token becomes a token device."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def tokens_to_devices(apps, schema_editor):
    """One INSERT … SELECT (no row through Python: a million users migrate in seconds). A token
    held by two users (one phone, two accounts) goes to the one who joined last."""
    User = apps.get_model("users", "User")
    Device = apps.get_model("users", "Device")
    quote = schema_editor.connection.ops.quote_name
    users, devices = quote(User._meta.db_table), quote(Device._meta.db_table)
    now = schema_editor.connection.ops.adapt_datetimefield_value(django.utils.timezone.now())
    schema_editor.execute(
        f"INSERT INTO {devices} (user_id, kind, identifier, platform, app_version, created_at, last_seen_at) "
        f"SELECT id, 'token', fcm_token, '', '', %s, %s FROM {users} WHERE fcm_token <> '' "
        f"ORDER BY date_joined DESC ON CONFLICT (identifier) DO NOTHING",
        [now, now],
    )


def devices_to_tokens(apps, schema_editor):
    """Back: each user's most recently seen token device becomes their `fcm_token` (FIDs have no
    place there: a user with FIDs only has no token, as before they had any)."""
    User = apps.get_model("users", "User")
    Device = apps.get_model("users", "Device")
    latest = (
        Device.objects.filter(user_id=models.OuterRef("pk"), kind="token")
        .order_by("-last_seen_at", "-id")
        .values("identifier")[:1]
    )
    User.objects.filter(models.Exists(latest)).update(fcm_token=models.Subquery(latest))


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0005_user_notify_at_notifications_enabled"),
    ]

    operations = [
        migrations.CreateModel(
            name="Device",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("fid", "Firebase Installation ID"), ("token", "Jeton FCM (ancien)")], max_length=8
                    ),
                ),
                ("identifier", models.CharField(max_length=512, unique=True)),
                (
                    "platform",
                    models.CharField(
                        blank=True,
                        choices=[("android", "Android"), ("ios", "iOS"), ("web", "Web")],
                        default="",
                        max_length=8,
                    ),
                ),
                ("app_version", models.CharField(blank=True, default="", max_length=32)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_seen_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="devices",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "appareil",
                "indexes": [models.Index(fields=["user", "created_at"], name="users_device_user_idx")],
            },
        ),
        migrations.RunPython(tokens_to_devices, devices_to_tokens, elidable=False),
        migrations.RemoveIndex(model_name="user", name="users_active_id_mood_lang_idx"),
        migrations.RemoveIndex(model_name="user", name="users_push_due_idx"),
        migrations.RemoveField(model_name="user", name="fcm_token"),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_active", True)),
                fields=["id"],
                include=("mood", "language"),
                name="users_active_id_mood_lang_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_active", True), ("notifications_enabled", True)),
                fields=["timezone", "notify_at"],
                name="users_push_due_idx",
            ),
        ),
    ]
