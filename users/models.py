import datetime
import uuid
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone as django_timezone


class Mood(models.TextChoices):
    JOYFUL = "joyful", "Joyeux"
    SAD = "sad", "Triste"
    ANXIOUS = "anxious", "Anxieux"
    GRATEFUL = "grateful", "Reconnaissant"
    LONELY = "lonely", "Seul"
    STRESSED = "stressed", "Stressé"
    ANGRY = "angry", "En colère"
    HOPEFUL = "hopeful", "Plein d'espoir"


class Language(models.TextChoices):
    FRENCH = "fr", "Français"
    ENGLISH = "en", "English"


def validate_quarter_hour(value: datetime.time) -> None:
    if value.minute % 15 or value.second or value.microsecond:
        raise ValidationError("L'heure doit tomber sur un quart d'heure (ex. 06:00, 06:15).")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Fuseau horaire inconnu : %(value)s", params={"value": value})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


# The filter behind "active user"; also the condition of the partial index below.
ACTIVE_USER_Q = Q(is_active=True) & ~Q(fcm_token="")


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    fcm_token = models.CharField("FCM token", max_length=512, blank=True, default="")
    mood = models.CharField(max_length=16, choices=Mood.choices, blank=True, default="")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.FRENCH)
    timezone = models.CharField(max_length=64, default="Africa/Lome", validators=[validate_timezone])
    # Local wall-clock time of the daily push, in `timezone`; quarter hours (the tick's period).
    # Database defaults too: rows written by raw SQL (COPY in seed_demo_users) get them.
    notify_at = models.TimeField(
        default=datetime.time(6, 0), db_default=datetime.time(6, 0), validators=[validate_quarter_hour]
    )
    notifications_enabled = models.BooleanField(default=True, db_default=True)
    date_joined = models.DateTimeField(default=django_timezone.now, db_index=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        verbose_name = "utilisateur"
        indexes = [
            # Daily generation walks active users in id order, chunk by chunk; with their mood and
            # language in the index, a chunk reads the index only (no heap page per user).
            models.Index(
                fields=["id"],
                include=["mood", "language"],
                name="users_active_id_mood_lang_idx",
                condition=ACTIVE_USER_Q,
            ),
            # The push tick looks up due users by zone and local time.
            models.Index(
                fields=["timezone", "notify_at"],
                name="users_push_due_idx",
                condition=ACTIVE_USER_Q & Q(notifications_enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def short_id(self) -> str:
        """The id as logged: first 8 hex digits only."""
        return self.id.hex[:8]


class UserActivity(models.Model):
    """A day (in the scheduler's time zone) on which a user used the API or opened a push.

    One narrow row per (user, day), written at most once (INSERT … ON CONFLICT DO NOTHING): the
    daily, weekly and monthly active users of any past day can be recounted from it. The primary
    key serves a user's lookups (and the delete of a user); the index on `day` (deduplicated by
    PostgreSQL: a few bytes a row) serves the statistics and the retention's delete."""

    pk = models.CompositePrimaryKey("user", "day")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField(db_index=True)

    class Meta:
        verbose_name = "activité du jour"
        verbose_name_plural = "activité quotidienne"

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.user_id.hex[:8]}"


class DailyStats(models.Model):
    """User figures for one day (a calendar day in the scheduler's timezone)."""

    day = models.DateField(unique=True)
    active_users = models.PositiveIntegerField(help_text="active users when the day was first computed")
    daily_active_users = models.PositiveIntegerField()
    # Null on days computed before activity was recorded per day.
    weekly_active_users = models.PositiveIntegerField(null=True, help_text="distinct users, the 7 days to `day`")
    monthly_active_users = models.PositiveIntegerField(null=True, help_text="distinct users, the 30 days to `day`")
    new_users = models.PositiveIntegerField()
    verses_generated = models.PositiveIntegerField(help_text="verses delivered: users given the day's verse")
    fallbacks_used = models.PositiveIntegerField()
    pushes_sent = models.PositiveIntegerField(null=True, help_text="null: no push delivery records")
    pushes_opened = models.PositiveIntegerField(null=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "statistiques du jour"
        verbose_name_plural = "statistiques quotidiennes"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Statistiques {self.day.isoformat()}"
