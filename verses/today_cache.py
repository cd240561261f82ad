"""verses/today's answers on Redis: the token's answer and the user's throttle in one round trip.

A token whose answer this process kept in the last VERSES_TODAY_CACHE_SECONDS (the process memo
`kept_tokens`) is answered by one Lua script, TODAY_HIT_LUA, called with the digest of its key: the
script reads the token's entry (a hash: the user's id, the answer's bytes, until when they hold,
the day of activity already recorded, the verses' epoch it was made in) and, when the entry holds
for this request, counts the request against the user's throttle (UserThrottle's counter and rate:
the GCRA step of soulverse.throttles) and returns the bytes. Any other request (a miss, or a token
this process has not kept: a phone's first request after the push) is answered from PostgreSQL as
before, and TODAY_STORE_LUA counts the request and keeps the answer, again in one round trip: a
miss costs what the request cost without the cache, plus the hit script's round trip only when
this process believed it had kept the answer.

An entry is made only from what PostgreSQL has just said (a live token of an active user, the
verse of their local date made, their activity of the day recorded or not) and holds until the
first of:
- VERSES_TODAY_CACHE_SECONDS (the guard: a change no signal announces, say a raw UPDATE of
  `is_active`, is seen within that time; default one second);
- the token's expiry and the end of the user's local date (the script compares them with now);
- another day of activity (the first request of the day goes to PostgreSQL and records it);
- an invalidation: the token deleted (sign-out of a device or of all, a password change, the user
  deleted: knox's rows go through the ORM), the user's `is_active` or `timezone` saved: the
  entries of the user's tokens are deleted; a pair's verse saved again (an edit in the admin, the
  editorial room) or deleted, a user's verse of a day saved again: the verses' epoch changes and
  every entry made before is a miss. A writer that changes or deletes verses already given
  without the ORM's signals (a raw or queryset UPDATE, DELETE) calls
  `verses_today_cache_invalidate`; rows added (the daily run, the push, on demand) change nothing
  kept: only a verse that was made is kept.
Invalidations run at once and again when the writer's transaction commits. An entry takes about
0.7 KB of Redis plus the answer's bytes (MEMORY USAGE: 1,040 bytes for a 318-byte answer); there is
one per token used in the last VERSES_TODAY_CACHE_SECONDS.

Not Redis (the embedded default's database cache), or Redis not answering: every function here
says so (STORE_UNAVAILABLE) and the view answers from PostgreSQL with the throttles' own fallback,
as before.
"""

import logging
import secrets
import time
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from soulverse.memos import Memo
from soulverse.throttles import (
    GCRA_LUA_FUNCTION,
    STORE_UNAVAILABLE,
    gcra_arguments,
    store_script_run,
    user_throttle_key,
    user_throttle_rate,
)

logger = logging.getLogger(__name__)

# KEYS[1]: the token's entry, KEYS[2]: the verses' epoch.
# ARGV: now, the day of activity (service's date), an epoch to start with when there is none, the
# prefix of the user's throttle key ('' when users are not throttled), emission interval, tolerance.
# Returns {0, epoch} (a miss), {1, answer's bytes} or {2, seconds to wait} (throttled).
TODAY_HIT_LUA = (
    GCRA_LUA_FUNCTION
    + """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
end
local entry = redis.call('HMGET', KEYS[1], 'u', 'v', 'a', 'e', 'b')
local now = tonumber(ARGV[1])
if not entry[1] or entry[4] ~= epoch or entry[3] ~= ARGV[2] or tonumber(entry[2]) <= now then
  return {0, epoch}
end
if ARGV[4] ~= '' then
  local wait = gcra(ARGV[4] .. entry[1], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
  if wait ~= '0' then return {2, wait} end
end
return {1, entry[5]}
"""
)

# KEYS[1]: the token's entry, KEYS[2]: the verses' epoch. ARGV: now, the user's throttle key (''
# when users are not throttled), emission interval, tolerance, then the entry (user id, valid until,
# day of activity recorded or '', the epoch read before PostgreSQL was, answer's bytes), its time to
# live in milliseconds, an epoch to start with when there is none. Counts the request; keeps the
# entry when the request is allowed and the epoch has not changed since. Returns {'0' (allowed) or
# the seconds to wait, the epoch, 1 when kept else 0}.
TODAY_STORE_LUA = (
    GCRA_LUA_FUNCTION
    + """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[11]
  redis.call('SET', KEYS[2], epoch)
end
if ARGV[2] ~= '' then
  local wait = gcra(ARGV[2], tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4]))
  if wait ~= '0' then return {wait, epoch, 0} end
end
if ARGV[8] ~= epoch then return {'0', epoch, 0} end
redis.call('HSET', KEYS[1], 'u', ARGV[5], 'v', ARGV[6], 'a', ARGV[7], 'e', ARGV[8], 'b', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[10])
return {'0', epoch, 1}
"""
)

EPOCH_KEY = "verses_today_epoch"
MISS, HIT, THROTTLED = 0, 1, 2

# Tokens whose answer this process kept on Redis, for VERSES_TODAY_CACHE_SECONDS: only their
# requests ask Redis first. Another token's request (a phone's first of the day, most of the
# morning's) goes to PostgreSQL at once, its throttle counted by the script that keeps its answer:
# one round trip to Redis, as without the cache.
kept_tokens = Memo("verses.today_kept")
# The verses' epoch last read by this process: an answer read from PostgreSQL is kept only if the
# epoch has not changed since (one read before the query, never after).
epoch_seen = Memo("verses.today_epoch")


class Cached(NamedTuple):
    state: int  # MISS, HIT or THROTTLED
    value: bytes  # MISS: the epoch to keep the answer in; HIT: the answer's bytes; THROTTLED: the wait


def entry_key(digest: str) -> str:
    return cache.make_key(f"verses_today:{digest}")


def _throttle_arguments() -> tuple[float, float] | None:
    rate = user_throttle_rate()
    return None if rate is None else gcra_arguments(limit=rate[0], period=rate[1])


def verse_today_cached(*, digest: str, activity_day: str, now: float | None = None):
    """The kept answer to the token of `digest` for a request now, the request counted against its
    user's throttle (HIT); THROTTLED (nothing counted: the DRF view refuses it); MISS with the epoch
    to keep the answer in (without asking Redis when this process kept no answer for the token in
    the last VERSES_TODAY_CACHE_SECONDS); or STORE_UNAVAILABLE (not Redis, Redis not answering, or
    the cache off: VERSES_TODAY_CACHE_SECONDS = 0)."""
    if settings.VERSES_TODAY_CACHE_SECONDS <= 0 or not hasattr(cache, "client"):
        return STORE_UNAVAILABLE
    if digest not in kept_tokens:
        return Cached(MISS, epoch_seen.get("epoch", b""))
    now = time.time() if now is None else now
    throttle = _throttle_arguments()
    result = store_script_run(
        TODAY_HIT_LUA,
        keys=[entry_key(digest), cache.make_key(EPOCH_KEY)],
        args=[
            repr(now),
            activity_day,
            secrets.token_hex(8),
            cache.make_key(user_throttle_key(user_id="")) if throttle else "",
            *(map(repr, throttle) if throttle else ("", "")),
        ],
    )
    if result is STORE_UNAVAILABLE:
        return STORE_UNAVAILABLE
    if result[0] == MISS:
        epoch_seen.set("epoch", result[1])
    return Cached(int(result[0]), result[1])


def verse_today_cache_store(
    *,
    digest: str,
    user_id,
    body: bytes,
    valid_until: float,
    activity_day: str,
    epoch: bytes,
    now: float | None = None,
):
    """Count the request of `user_id` against their throttle and, when it is allowed and the verses'
    `epoch` (read before PostgreSQL was) is still the current one, keep `body` as the answer to the
    token of `digest` (see the module). None: allowed; else the seconds to wait, or
    STORE_UNAVAILABLE. `activity_day`: the day whose activity PostgreSQL has recorded, or ''."""
    now = time.time() if now is None else now
    throttle = _throttle_arguments()
    ttl = settings.VERSES_TODAY_CACHE_SECONDS
    result = store_script_run(
        TODAY_STORE_LUA,
        keys=[entry_key(digest), cache.make_key(EPOCH_KEY)],
        args=[
            repr(now),
            cache.make_key(user_throttle_key(user_id=user_id)) if throttle else "",
            *(map(repr, throttle) if throttle else ("", "")),
            str(user_id),
            repr(valid_until),
            activity_day,
            epoch,
            body,
            max(1, round(ttl * 1000)),
            secrets.token_hex(8),
        ],
    )
    if result is STORE_UNAVAILABLE:
        return STORE_UNAVAILABLE
    wait, current, stored = result
    epoch_seen.set("epoch", current)
    if stored:
        kept_tokens.set(digest, True, ttl=ttl)
    return float(wait) or None


def _client():
    if not hasattr(cache, "client") or not hasattr(cache.client, "get_client"):
        return None  # not django-redis: nothing is kept
    return cache.client.get_client(write=True)


def _now_and_on_commit(action, *args) -> None:
    """Run `action` now and, inside a transaction, again once it commits: a request that read the
    rows before the commit may have kept their old answer in between."""

    def run():
        client = _client()
        if client is None:
            return
        from redis.exceptions import RedisError

        try:
            action(client, *args)
        except (RedisError, OSError) as exc:  # the entries end by their time to live
            logger.warning("event=verses_today_cache_invalidation_failed error=%s", type(exc).__name__)

    run()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(run)


def verses_today_cache_forget(*, digests: list[str]) -> None:
    """Forget the answers kept for these tokens (now, and once the current transaction commits)."""
    if digests:
        _now_and_on_commit(lambda client, keys: client.delete(*keys), [entry_key(digest) for digest in digests])


def verses_today_cache_invalidate() -> None:
    """Forget every kept answer (a new epoch, now and once the current transaction commits): for a writer
    that changes or deletes verses already given without the ORM's signals."""
    _now_and_on_commit(lambda client: client.set(cache.make_key(EPOCH_KEY), secrets.token_hex(8)))


# --- What ends an entry (connected in VersesConfig.ready) ------------------------------------

# A user's fields that change their answer to verses/today: refused when inactive; their local date.
USER_FIELDS = frozenset({"is_active", "timezone"})


def token_deleted(sender, instance, **kwargs) -> None:
    verses_today_cache_forget(digests=[instance.digest])


def user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and not USER_FIELDS & set(update_fields)):
        return
    from knox.models import AuthToken

    verses_today_cache_forget(
        digests=list(AuthToken.objects.filter(user_id=instance.pk).values_list("digest", flat=True))
    )


def verse_changed(sender, instance, created=False, **kwargs) -> None:
    """A pair's verse saved again or deleted, a user's verse of a day saved again. A new row
    changes no kept answer (only a verse that was made is kept)."""
    if not created:
        verses_today_cache_invalidate()
