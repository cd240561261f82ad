import datetime
import io
import logging
import random
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS

from soulverse.db import rows_delete_before
from soulverse.memos import Memo
from soulverse.secret_rules import secret_problem
from users.models import DailyStats, Device, Language, Mood, User, UserActivity, identifier_short
from users.selectors import devices_of_user, user_activity_counts, users_active

logger = logging.getLogger(__name__)


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    return start, datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


@transaction.atomic
def daily_stats_record(
    *, day: datetime.date, verses_generated: int, fallbacks_used: int, pushes_sent: int, pushes_opened: int
) -> DailyStats:
    """Store the figures of `day`: the users' own, counted here, with those of the verses and
    pushes given by the caller (console.stats.daily_stats_update counts them).

    Every figure but `active_users` is recounted from rows kept per user and day, so a recomputed
    day gives the same numbers; `active_users` is a snapshot of the first computation (who is
    active is not kept per day) and a recomputation keeps it."""
    start, end = _day_bounds(day)
    activity = user_activity_counts(day=day)
    figures = {
        "daily_active_users": activity["daily"],
        "weekly_active_users": activity["weekly"],
        "monthly_active_users": activity["monthly"],
        "new_users": User.objects.filter(date_joined__gte=start, date_joined__lt=end).count(),
        "verses_generated": verses_generated,
        "fallbacks_used": fallbacks_used,
        "pushes_sent": pushes_sent,
        "pushes_opened": pushes_opened,
    }
    stats, _ = DailyStats.objects.update_or_create(
        day=day,
        defaults=figures,
        create_defaults={**figures, "active_users": users_active().count()},
    )
    return stats


# Users whose activity of the day this process has written (or found written), with the day: later
# requests of theirs that day skip the INSERT.
_activity_recorded = Memo("users.activity_recorded")


def user_activity_record(*, user_id: uuid.UUID, day: datetime.date | None = None, known_missing: bool = False) -> bool:
    """Record that the user used the app on `day` (default: today in the scheduler's time zone).

    At most one write per user and day: one INSERT that does nothing when the row exists, not even
    tried again by this process that day (`known_missing`: the caller has just read that the row
    does not exist). True when a row was written."""
    day = day or timezone.localdate()
    if not known_missing and _activity_recorded.get(user_id) == day:
        return False
    table = connection.ops.quote_name(UserActivity._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, day) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [User._meta.pk.get_db_prep_value(user_id, connection), connection.ops.adapt_datefield_value(day)],
        )
        created = cursor.rowcount == 1
    _activity_recorded.set(user_id, day)
    return created


def user_activity_purge(*, before: datetime.date, batch_size: int = 10_000) -> int:
    """Delete the activity of the days before `before`, `batch_size` rows per statement."""
    return rows_delete_before(UserActivity, day=before, batch_size=batch_size)


# Rough shape of the app's audience: mostly French speakers in Togo.
_MOOD_WEIGHTS = {
    Mood.JOYFUL: 14,
    Mood.SAD: 9,
    Mood.ANXIOUS: 12,
    Mood.GRATEFUL: 15,
    Mood.LONELY: 7,
    Mood.STRESSED: 12,
    Mood.ANGRY: 4,
    Mood.HOPEFUL: 15,
    "": 12,
}
_TIMEZONE_WEIGHTS = {
    "Africa/Lome": 80,
    "Africa/Abidjan": 5,
    "Africa/Lagos": 4,
    "Europe/Paris": 6,
    "America/New_York": 3,
    "America/Montreal": 2,
}
_SEED_COLUMNS = (
    "id",
    "email",
    "password",
    "is_active",
    "is_staff",
    "is_superuser",
    "mood",
    "language",
    "timezone",
    "date_joined",
)


_DEVICE_COLUMNS = ("user_id", "kind", "identifier", "platform", "app_version", "created_at", "last_seen_at")
# Devices per user with at least one (mean 1.3), and the share of FIDs (apps updated since FCM
# moved to installation IDs) among them.
_DEVICE_COUNT_WEIGHTS = {1: 75, 2: 20, 3: 5}
_FID_SHARE = 0.4
_PLATFORM_WEIGHTS = {Device.Platform.ANDROID: 85, Device.Platform.IOS: 10, Device.Platform.WEB: 5}


def demo_device_identifier(rng: random.Random, kind: str) -> str:
    """A realistic identifier: an FID is 22 URL-safe base64 characters starting with c, d, e or f;
    an FCM registration token looks like "<22 chars>:APA91b<130 chars>"."""
    if kind == Device.Kind.FID:
        return rng.choice("cdef") + secrets.token_urlsafe(16)[:21]
    return f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(98)}"


def _demo_devices(rng: random.Random, user_id: uuid.UUID, joined: datetime.datetime) -> list[tuple]:
    counts, count_weights = zip(*_DEVICE_COUNT_WEIGHTS.items())
    platforms, platform_weights = zip(*_PLATFORM_WEIGHTS.items())
    devices = []
    for _ in range(rng.choices(counts, count_weights)[0]):
        kind = Device.Kind.FID if rng.random() < _FID_SHARE else Device.Kind.TOKEN
        devices.append(
            (
                user_id,
                kind,
                demo_device_identifier(rng, kind),
                rng.choices(platforms, platform_weights)[0],
                f"2.{rng.randrange(4)}.{rng.randrange(10)}",
                joined,
                joined,
            )
        )
    return devices


def _demo_user_rows(count: int, seed: int | None, all_active: bool = False):
    """(user row in _SEED_COLUMNS order, its device rows in _DEVICE_COLUMNS order, a recent day of
    activity or None) per demo user."""
    rng = random.Random(seed)
    moods, mood_weights = zip(*_MOOD_WEIGHTS.items())
    zones, zone_weights = zip(*_TIMEZONE_WEIGHTS.items())
    now = timezone.now()
    password = make_password(None)  # unusable: demo users cannot log in
    for _ in range(count):
        user_id = uuid.uuid4()  # unique even when a --seed is reused
        joined = now - datetime.timedelta(seconds=rng.randrange(400 * 86400))
        active_recently = rng.random() < 0.6
        row = (
            user_id,
            f"demo-{user_id.hex[:12]}@example.invalid",
            password,
            all_active or rng.random() < 0.97,
            False,
            False,
            rng.choices(moods, mood_weights)[0],
            Language.FRENCH if rng.random() < 0.8 else Language.ENGLISH,
            rng.choices(zones, zone_weights)[0],
            joined,
        )
        devices = [] if not all_active and rng.random() < 0.05 else _demo_devices(rng, user_id, joined)
        active_at = now - datetime.timedelta(seconds=rng.randrange(3 * 86400)) if active_recently else None
        yield row, devices, active_at and max(timezone.localdate(active_at), timezone.localdate(joined))


def demo_users_seed(*, count: int, seed: int | None = None, chunk_size: int = 50_000, all_active: bool = False) -> int:
    """Create `count` realistic demo users (`all_active`: every one active), 95 % of them with 1 to
    3 devices (1.3 on average, 40 % of them FIDs), 60 % with a day of activity in the last three
    days; COPY on PostgreSQL, bulk inserts elsewhere."""
    if count < 0:
        raise ValueError("count must be zero or more")
    rows = _demo_user_rows(count, seed, all_active)
    created = 0
    while chunk := [row for _, row in zip(range(chunk_size), rows)]:
        users = [user for user, _, _ in chunk]
        devices = [device for _, user_devices, _ in chunk for device in user_devices]
        activity = [(user[0], day) for user, _, day in chunk if day]
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy_rows(User, _SEED_COLUMNS, users)
                _copy_rows(Device, _DEVICE_COLUMNS, devices)
                _copy_rows(UserActivity, ("user_id", "day"), activity)
            else:
                User.objects.bulk_create([User(**dict(zip(_SEED_COLUMNS, row))) for row in users])
                Device.objects.bulk_create([Device(**dict(zip(_DEVICE_COLUMNS, row))) for row in devices])
                UserActivity.objects.bulk_create([UserActivity(user_id=pk, day=day) for pk, day in activity])
        created += len(chunk)
    logger.info("event=demo_users_seeded count=%s", created)
    return created


def _copy_rows(model, columns: tuple[str, ...], chunk: list[tuple]) -> None:
    def field(value) -> str:
        if value is None:
            return r"\N"
        if isinstance(value, (datetime.datetime, datetime.date)):
            return value.isoformat()
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value)

    buffer = io.StringIO("".join("\t".join(field(v) for v in row) + "\n" for row in chunk))
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN", buffer)


@transaction.atomic
def user_profile_update(*, user: User, fcm_token: str | None = None, **fields) -> User:
    """Save the given profile fields (already validated) and nothing else. `fcm_token`, the old way
    of registering a phone: a token device (see user_fcm_token_set)."""
    for name, value in fields.items():
        setattr(user, name, value)
    if fields:
        user.save(update_fields=list(fields))
    if fcm_token is not None:
        user_fcm_token_set(user=user, token=fcm_token)
    return user


def user_fcm_token_set(*, user: User, token: str) -> None:
    """PATCH users/me {"fcm_token"} (the old way, kept for apps not updated): a token device, or,
    with "", no token devices any more (the user's FIDs are kept)."""
    if token:
        device_register(user=user, kind=Device.Kind.TOKEN, identifier=token)
        return
    deleted, _ = Device.objects.filter(user=user, kind=Device.Kind.TOKEN).delete()
    logger.info("event=device_tokens_cleared user=%s count=%s", user.short_id, deleted)


@transaction.atomic
def device_register(
    *,
    user: User,
    kind: str,
    identifier: str,
    platform: str = "",
    app_version: str = "",
    replaces: str = "",
    limit: int | None = None,
) -> tuple[Device, bool]:
    """Register the app installation `identifier` for `user`, or refresh it (last seen, platform,
    app version): idempotent on the identifier. Returns (device, created).

    - An identifier registered by another account moves to `user` (the phone signed in again).
    - `replaces`: the token this FID supersedes on the same phone; that device of `user` goes.
    - At most `limit` devices (DEVICES_PER_USER): the least recently seen beyond it are dropped.

    The user's row is locked (SELECT … FOR UPDATE): registrations of one user take turns."""
    limit = limit or settings.DEVICES_PER_USER
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    now = timezone.now()
    device = Device.objects.select_for_update().filter(identifier=identifier).first()
    created = device is None
    if created:
        device = Device.objects.create(
            user=user,
            kind=kind,
            identifier=identifier,
            platform=platform,
            app_version=app_version,
            created_at=now,
            last_seen_at=now,
        )
    else:
        if device.user_id != user.pk:  # the same installation, another account: new to this user
            device.created_at = now
        device.user, device.kind, device.last_seen_at = user, kind, now
        device.platform = platform or device.platform
        device.app_version = app_version or device.app_version
        device.save()
    replaced = 0
    if replaces and replaces != identifier:
        replaced, _ = Device.objects.filter(user=user, identifier=replaces).delete()
    surplus = list(devices_of_user(user=user).values_list("id", flat=True)[limit:])
    if surplus:
        Device.objects.filter(id__in=surplus).delete()
    logger.info(
        "event=device_registered user=%s kind=%s device=%s created=%s replaced=%s dropped=%s",
        user.short_id,
        kind,
        identifier_short(identifier),
        created,
        replaced,
        len(surplus),
    )
    return device, created


def device_remove(*, user: User, identifier: str) -> bool:
    """Forget the device `identifier` of `user` (signed out, push turned off on that phone)."""
    deleted, _ = Device.objects.filter(user=user, identifier=identifier).delete()
    if deleted:
        logger.info("event=device_removed user=%s device=%s", user.short_id, identifier_short(identifier))
    return bool(deleted)


def api_token_key_problem(key: str) -> str | None:
    """Why `key` (SOULVERSE_ADMIN_TOKEN, api_token --key) is too weak to be an API token, or None."""
    return secret_problem(key)


def api_token_create(
    *, user: User, key: str | None = None, ttl: datetime.timedelta | None = None
) -> tuple[AuthToken, str]:
    """A new token for one device of `user` (django-rest-knox: only its SHA-512 digest is stored,
    with its first characters for lookup). Returns the token and its key, to be shown once.
    `ttl` defaults to REST_KNOX["TOKEN_TTL"]; `key` (checked by api_token_key_problem) to a random one."""
    ttl = ttl or settings.REST_KNOX["TOKEN_TTL"]
    if key is None:
        return AuthToken.objects.create(user=user, expiry=ttl)
    problem = api_token_key_problem(key)
    if problem:
        raise ValueError(f"weak token key: {problem}")
    token = AuthToken(
        digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=timezone.now() + ttl
    )
    token.save(force_insert=True)
    return token, key


class TooManyDevices(Exception):
    """The user already has as many live tokens as REST_KNOX["TOKEN_LIMIT_PER_USER"] allows."""


@transaction.atomic
def api_token_device_create(*, user: User, limit: int) -> tuple[AuthToken, str]:
    """A new token for one more device of `user`, unless they already have `limit` live ones
    (TooManyDevices). The user's row is locked (SELECT … FOR UPDATE) for the count and the insert:
    concurrent logins of one user take turns, so they never end with more than `limit` tokens."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    live = AuthToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
    if live.count() >= limit:
        raise TooManyDevices
    return api_token_create(user=user)


def api_tokens_revoke(*, user: User, reason: str = "signed_out") -> int:
    """Delete every token of `user` (all devices); how many there were."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    if deleted or reason == "signed_out":
        logger.info("event=api_tokens_revoked user=%s count=%s reason=%s", user.short_id, deleted, reason)
    return deleted
