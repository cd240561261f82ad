"""Process memos: what one process remembers between requests to answer the next one cheaply.

Every memo is a `Memo`: named, bounded by its entry in SIZES (the one place that says how much a
process may keep: a full memo drops its oldest entry for a new one), each entry with an optional
time to live, and registered so that `memos_reset()` forgets them all at once (the tests' root
conftest calls it around each test: no test reaches into a module's private state).

What is not a memo stays out: pools of connections (closed, not forgotten: verses.push.fcm_sdk),
per-connection bookkeeping of server state (soulverse.db's prepared statements, which must live
exactly as long as their connection), locks, thread and context variables, and functions cached
once per process over static data or settings (`functools.cache` on data files, the AI provider).
"""

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator

# The most entries each memo keeps in a process. A memo fed by requests is bounded by what a
# process can spare (junk input drops old entries, never grows the process); the others by what
# they can hold.
SIZES = {
    # soulverse.throttles: throttle counts (key -> theoretical arrival time) while Redis is down.
    "throttles.local": 100_000,
    # soulverse.throttles: the Redis store's state (its Lua scripts: the throttle's, verses/today's
    # two; whether it was found down, when to try it again).
    "throttles.redis": 8,
    # soulverse.views: the schema per language (LANGUAGES: two) and its refusal per Accept header.
    "schema.generated": 8,
    "schema.refusals": 64,
    # soulverse.replay: answers kept at the WSGI level, whole or their status and headers only
    # (about 1 KB each).
    "replay.answers": 256,
    # scheduler.watchdog: this process as a lease owner (per pid: a forked worker is another).
    "watchdog.owners": 8,
    # users.services: users whose activity of the day is written (user id -> day).
    "users.activity_recorded": 100_000,
    # verses.views: digests of keys that no live token has (until API_TOKEN_INVALID_MEMO_SECONDS).
    "verses.invalid_keys": 10_000,
    # verses.today_cache: digests of the tokens whose answer this process kept on Redis (for
    # VERSES_TODAY_CACHE_SECONDS: a second's requests), and the verses' epoch it last read.
    "verses.today_kept": 20_000,
    "verses.today_epoch": 1,
    # console.selectors: the public health answer (HEALTH_PUBLIC_CACHE_SECONDS), the state last logged.
    "health.public": 1,
    "health.logged_state": 1,
}

_registry: "weakref.WeakSet[Memo]" = weakref.WeakSet()


class Memo:
    """A bounded mapping with optional per-entry expiry. Reads take no lock (one dict lookup);
    writes do, so that two threads cannot both make room."""

    __slots__ = ("name", "_entries", "_lock", "__weakref__")

    def __init__(self, name: str):
        if name not in SIZES:
            raise KeyError(f"memo {name!r} has no size in soulverse.memos.SIZES")
        self.name = name
        self._entries: OrderedDict[Hashable, tuple[object, float | None]] = OrderedDict()
        self._lock = threading.Lock()
        _registry.add(self)

    def get(self, key: Hashable, default=None):
        """The value kept for `key`, or `default` when there is none or it has expired."""
        entry = self._entries.get(key)
        if entry is None or (entry[1] is not None and entry[1] <= time.monotonic()):
            return default
        return entry[0]

    def set(self, key: Hashable, value, *, ttl: float | None = None) -> None:
        """Keep `value` for `key` (for `ttl` seconds when given), dropping the oldest entries when full."""
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._entries.pop(key, None)  # a new value is the newest entry
            while len(self._entries) >= SIZES[self.name]:
                self._entries.popitem(last=False)
            self._entries[key] = (value, expires)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def keys(self) -> Iterator[Hashable]:
        """The keys whose value has not expired, oldest first."""
        now = time.monotonic()
        return iter([key for key, (_, expires) in list(self._entries.items()) if expires is None or expires > now])

    def __len__(self) -> int:
        return sum(1 for _ in self.keys())

    def __contains__(self, key: Hashable) -> bool:
        entry = self._entries.get(key)  # as get(), inline: `key in memo` is on the hot path
        return entry is not None and (entry[1] is None or entry[1] > time.monotonic())

    def __repr__(self) -> str:
        return f"<Memo {self.name}: {len(self)}/{SIZES[self.name]}>"


def memos_reset() -> None:
    """Forget what every memo of this process keeps (tests: each starts with a fresh process's memory)."""
    for memo in list(_registry):
        memo.clear()
