"""DailyVerse: primary key (user_id, day) instead of a surrogate id plus a unique index; on
PostgreSQL the table becomes range-partitioned by month (existing rows moved); no foreign-key
constraints in the database (see the model). A view with a
one-column key serves the admin, which refuses composite primary keys (Django 5.2)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from verses import partitions

SQLITE_REBUILD = [
    'CREATE TABLE "verses_dailyverse__new" ('
    ' "user_id" char(32) NOT NULL,'
    ' "day" date NOT NULL,'
    ' "verse_id" bigint NOT NULL,'
    ' "created_at" datetime NOT NULL,'
    ' PRIMARY KEY ("user_id", "day"))',
    'INSERT INTO "verses_dailyverse__new" ("user_id", "day", "verse_id", "created_at") '
    'SELECT "user_id", "day", "verse_id", "created_at" FROM "verses_dailyverse"',
    'DROP TABLE "verses_dailyverse"',
    'ALTER TABLE "verses_dailyverse__new" RENAME TO "verses_dailyverse"',
    'CREATE INDEX "dailyverse_day_verse_idx" ON "verses_dailyverse" ("day", "verse_id")',
]

ADMIN_VIEW = (
    "CREATE VIEW verses_dailyverse_admin AS "
    "SELECT CAST(user_id AS text) || '/' || CAST(day AS text) AS id, user_id, day, verse_id, created_at "
    "FROM verses_dailyverse"
)


def table_rebuild(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            today = timezone.localdate()
            first = partitions.history_start(today=today, days=settings.VERSES_HISTORY_DAYS)
            months, month = [], first
            while month <= partitions.months_ahead_end(today):
                months.append(month)
                month = partitions.month_next(month)
            partitions.table_partition(cursor, months=months)
        else:
            for statement in SQLITE_REBUILD:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("verses", "0002_dailyverse_user_no_extra_index"),
        ("users", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="dailyverse", name="one_daily_verse_per_user_day"),
                migrations.RemoveField(model_name="dailyverse", name="id"),
                migrations.AlterField(
                    model_name="dailyverse",
                    name="user",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_verses",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="dailyverse",
                    name="verse",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="verses.verseoftheday",
                    ),
                ),
                migrations.AddField(
                    model_name="dailyverse",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "user_id", "day", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(table_rebuild)],
        ),
        migrations.CreateModel(
            name="DailyVerseRecord",
            fields=[
                ("id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "verset du jour",
                "verbose_name_plural": "versets du jour",
                "db_table": "verses_dailyverse_admin",
                "managed": False,
            },
        ),
        migrations.RunSQL(ADMIN_VIEW, "DROP VIEW verses_dailyverse_admin"),
    ]
