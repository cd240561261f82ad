"""DRF throttles on the default cache (Redis when REDIS_URL is set), rates read at each request.

DRF's own classes copy the rates once, when the class is defined; these read
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] when they run, so that a changed setting applies.

DRF's SimpleRateThrottle keeps every request time of the window in one cache value, read and
written back whole (a get and a set: two round trips, a list of up to `rate` floats pickled each
time, and two processes can both pass between the get and the set). Here each key holds one
number, the generic cell rate algorithm's "theoretical arrival time" (GCRA: `n` requests at once,
then one every period/n), updated atomically by one Lua script on Redis (one round trip), or by a
get and a set on another cache (the embedded default's database cache).

Redis down: the throttles do not let everything through. Each process counts on its own, with the
same rates, until Redis answers again (tried again at most every THROTTLE_STORE_RETRY_SECONDS);
a client may then get up to the rate times the number of web processes. The change of state is
logged once per process (`event=throttle_store_unavailable`, then `event=throttle_store_restored`).
"""

import datetime
import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from rest_framework import throttling
from rest_framework.settings import api_settings

from soulverse.memos import Memo
from soulverse.middleware import client_ip

logger = logging.getLogger(__name__)

# The GCRA step as a Lua function, for the scripts that count a request with other work in the same
# round trip (verses.today_cache): `gcra(key, now, interval, tolerance)` returns '0' when the request
# is allowed (and counts it), else the seconds to wait (as a string: Lua numbers become integers).
GCRA_LUA_FUNCTION = """
local function gcra(key, now, interval, tolerance)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now or tat > now + interval + tolerance then tat = now end
  if tat - now > tolerance then return tostring(tat - now - tolerance) end
  -- %.17g: the time whole (tostring keeps 14 digits, a tenth of a millisecond at today's epoch, so a
  -- burst's last request at the same instant could be refused by the rounding).
  redis.call('SET', key, string.format('%.17g', tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
  return '0'
end
"""
# KEYS[1]: the key; ARGV: now, emission interval, burst tolerance (seconds).
_GCRA_LUA = GCRA_LUA_FUNCTION + "return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))"

_local_lock = threading.Lock()
local_counts = Memo("throttles.local")  # key -> theoretical arrival time, while Redis is unreachable
# The Redis store: its Lua scripts (keyed by their source, registered once), "down" (found
# unreachable, until it answers again: logged once each way), "retry_later" (kept
# THROTTLE_STORE_RETRY_SECONDS: not tried).
redis_store = Memo("throttles.redis")


def rate_hit(*, key: str, limit: int, period: float, now: float | None = None) -> float | None:
    """Count one request against `key` (at most `limit` per `period` seconds). None when it is
    allowed, else how many seconds to wait before the next one is."""
    now = time.time() if now is None else now
    interval, tolerance = gcra_arguments(limit=limit, period=period)
    client = _redis_client()
    if client is not None:
        wait = _redis_hit(client, cache.make_key(key), now, interval, tolerance)
        if wait is not STORE_UNAVAILABLE:
            return wait
        client = None
    if not hasattr(cache, "client"):  # not Redis: the cache's own get and set (the database cache)
        tat = _tat_checked(cache.get(key, now), now, period)
        if tat - now > tolerance:
            return tat - now - tolerance
        cache.set(key, tat + interval, timeout=period)  # as DRF's: an expired row costs a DELETE at the next get
        return None
    return _local_hit(key, now, interval, tolerance)


STORE_UNAVAILABLE = object()


def _tat_checked(tat: float, now: float, period: float) -> float:
    """The stored arrival time, or now if it is past or further ahead than a whole period can be
    (the clock went back: a request must not be refused for days)."""
    return now if tat < now or tat > now + period else tat


def _redis_client():
    if not hasattr(cache, "client") or not hasattr(cache.client, "get_client"):
        return None  # not django-redis
    if "retry_later" in redis_store:
        return None
    return cache.client.get_client(write=True)


def store_script_run(source: str, *, keys: list[str], args: list):
    """Run the Lua script `source` on the throttles' Redis store: its result, or STORE_UNAVAILABLE
    when the default cache is not Redis or Redis does not answer (then not tried again for
    THROTTLE_STORE_RETRY_SECONDS, and the change of state logged once, as for the throttles)."""
    client = _redis_client()
    if client is None:
        return STORE_UNAVAILABLE
    return _redis_script_run(client, source, keys, args)


def _redis_script_run(client, source: str, keys: list[str], args: list):
    from redis.exceptions import RedisError

    try:
        script = redis_store.get(source)
        if script is None:
            script = client.register_script(source)
            redis_store.set(source, script)
        result = script(keys=keys, args=args, client=client)
    except (RedisError, OSError) as exc:
        redis_store.set("retry_later", True, ttl=settings.THROTTLE_STORE_RETRY_SECONDS)
        if "down" not in redis_store:
            redis_store.set("down", True)
            logger.warning("event=throttle_store_unavailable error=%s fallback=per_process", type(exc).__name__)
        return STORE_UNAVAILABLE
    if "down" in redis_store:
        redis_store.pop("down")
        logger.info("event=throttle_store_restored")
    return result


def _redis_hit(client, key: str, now: float, interval: float, tolerance: float):
    result = _redis_script_run(client, _GCRA_LUA, [key], [repr(now), repr(interval), repr(tolerance)])
    if result is STORE_UNAVAILABLE:
        return STORE_UNAVAILABLE
    return float(result) or None


def _local_hit(key: str, now: float, interval: float, tolerance: float) -> float | None:
    with _local_lock:
        tat = _tat_checked(local_counts.get(key, now), now, interval + tolerance)
        if tat - now > tolerance:
            return tat - now - tolerance
        local_counts.set(key, tat + interval)
        return None


class _GcraRate:
    """SimpleRateThrottle's interface (scope, rate, cache key, wait) on rate_hit."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self._wait = rate_hit(key=self.key, limit=self.num_requests, period=self.duration)
        return self._wait is None

    def wait(self):
        return self._wait

    def get_ident(self, request):
        return client_ip(request)  # X-Forwarded-For from a trusted proxy only


class AnonThrottle(_GcraRate, throttling.AnonRateThrottle):
    """Anonymous callers, by client address."""


class UserThrottle(_GcraRate, throttling.UserRateThrottle):
    """Signed-in users, by user."""


def user_throttle_rate() -> tuple[int, float] | None:
    """UserThrottle's rate now (requests, period in seconds), or None when users are not throttled."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(UserThrottle.scope)
    return None if rate is None else UserThrottle.parse_rate(None, rate)


def user_throttle_key(*, user_id) -> str:
    """UserThrottle's counter of `user_id` (its cache key, before the cache's prefix)."""
    return UserThrottle.cache_format % {"scope": UserThrottle.scope, "ident": user_id}


def gcra_arguments(*, limit: int, period: float) -> tuple[float, float]:
    """The GCRA's emission interval and burst tolerance for `limit` requests per `period` seconds."""
    interval = period / limit
    return interval, period - interval


def user_throttle_wait(*, user_id) -> float | None:
    """UserThrottle's verdict for a request of `user_id` outside DRF (verses/today's one-query path):
    the same rate and the same key, so both paths count against one budget. None: allowed."""
    rate = user_throttle_rate()
    if rate is None:
        return None
    limit, period = rate
    return rate_hit(key=user_throttle_key(user_id=user_id), limit=limit, period=period)


class ScopedThrottle(_GcraRate, throttling.ScopedRateThrottle):
    """Views with a `throttle_scope` (login, trigger), by user or client address."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope or self.scope not in api_settings.DEFAULT_THROTTLE_RATES:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


ADMIN_LOGIN_SCOPE = "admin_login"


class AdminLoginThrottleMiddleware:
    """Sign-in attempts on the admin (POST /admin/login/) per client address, at the `admin_login`
    rate: password spraying (one attempt per username, which axes' per-account lockout never sees)
    is refused with 429 and a page that says when to try again, before the password is hashed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path_info == reverse("admin:login"):
            rate = api_settings.DEFAULT_THROTTLE_RATES.get(ADMIN_LOGIN_SCOPE)
            if rate is not None:
                limit, period = throttling.SimpleRateThrottle.parse_rate(None, rate)
                wait = rate_hit(key=f"throttle_{ADMIN_LOGIN_SCOPE}_{client_ip(request)}", limit=limit, period=period)
                if wait is not None:
                    return _admin_login_throttled(request, wait)
        return self.get_response(request)


def _admin_login_throttled(request, wait: float):
    from django.contrib import admin

    seconds = math.ceil(wait)
    response = TemplateResponse(
        request,
        "admin/login_throttled.html",
        {
            **admin.site.each_context(request),
            "minutes": math.ceil(seconds / 60),
            "retry_at": timezone.localtime() + datetime.timedelta(seconds=seconds),
            "time_zone": settings.TIME_ZONE,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response.render()
