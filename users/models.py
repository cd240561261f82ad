import datetime
import uuid
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
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


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
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
            # language in the index, a chunk reads the index only (no heap page per user), and
            # probes the devices' user index for each (active_user_q's EXISTS).
            models.Index(
                fields=["id"],
                include=["mood", "language"],
                name="users_active_id_mood_lang_idx",
                condition=Q(is_active=True),
            ),
            # The push tick looks up due users by zone and local time.
            models.Index(
                fields=["timezone", "notify_at"],
                name="users_push_due_idx",
                condition=Q(is_active=True, notifications_enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def short_id(self) -> str:
        """The id as logged: first 8 hex digits only."""
        return self.id.hex[:8]


def identifier_short(identifier: str) -> str:
    """A device identifier as logged and shown to staff: its first 8 characters only."""
    return f"{identifier[:8]}…" if len(identifier) > 8 else identifier


class Device(models.Model):
    """One app installation that push reaches: an FCM registration token (the old way) or a
    Firebase Installation ID (FID, what FCM asks for now). A user has up to DEVICES_PER_USER."""

    class Kind(models.TextChoices):
        FID = "fid", "Firebase Installation ID"
        TOKEN = "token", "Jeton FCM (ancien)"

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    identifier = models.CharField(max_length=512, unique=True)
    # "" for devices registered without one (PATCH users/me fcm_token, the migrated tokens).
    platform = models.CharField(max_length=8, choices=Platform.choices, blank=True, default="")
    app_version = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=django_timezone.now)
    last_seen_at = models.DateTimeField(default=django_timezone.now)
    # When FCM first accepted a message for it (null: never yet): an FID that FCM calls
    # UNREGISTERED before it ever accepted one was never registered for messaging (the app has
    # not opted in to FID registration), a failure of its own kind.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "appareil"
        indexes = [
            # A user's devices (push, the API) and the EXISTS behind "active user" (index only).
            models.Index(fields=["user", "created_at"], name="users_device_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {identifier_short(self.identifier)}"


def active_user_q() -> Q:
    """The filter behind "active user": `is_active` and at least one device (the original
    service's "non-empty FCM token"); one EXISTS probe of the devices' user index per user."""
    return Q(is_active=True) & Q(Exists(Device.objects.filter(user_id=OuterRef("pk"))))


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
