"""What every log line of a request or a job run carries: `request_id` in the web process (from
the proxy's X-Request-ID, soulverse.middleware.RequestIdMiddleware), `run_id`, `job_id` and
`chunk_id` in the worker while a run or one of its chunks executes (scheduler.services).

A context variable holds them; `ContextFilter`, on the console handler, copies them onto each
record, where the JSON formatter (LOG_FORMAT=json) writes them as fields."""

import contextlib
import contextvars
import logging
import re
import uuid
from collections.abc import Iterator

CONTEXT_FIELDS = ("request_id", "run_id", "job_id", "chunk_id")

# nginx's $request_id is 32 hex digits; other proxies send a UUID. Anything else (too long,
# spaces, quotes: a forged header) is replaced, so that a log line cannot be made to lie.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(header: str) -> str:
    """The request's id: the proxy's X-Request-ID when it is one, else a new one."""
    return header if _REQUEST_ID.match(header) else uuid.uuid4().hex


_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("soulverse_log_context", default=None)


@contextlib.contextmanager
def log_context(**values) -> Iterator[None]:
    """Add `values` to the log context of the block (nested blocks add to the outer one's)."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_start(**values) -> None:
    """Start a new log context (a request's) that lasts until `log_context_clear`: unlike a
    `log_context` block it outlives the code that set it, for the lines logged after it returns
    (Django logs a 4xx response once the middleware chain has answered)."""
    _context.set(dict(values))


def log_context_clear() -> None:
    _context.set(None)


def log_context_update(**values) -> None:
    """Add `values` to the innermost `log_context` block; outside one, does nothing."""
    current = _context.get()
    if current is not None:
        current.update(values)


def log_context_get() -> dict:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Copy the log context onto the record (only the fields set: no nulls in every line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if name in CONTEXT_FIELDS and value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class AccessLogFilter(logging.Filter):
    """gunicorn's access lines (LOG_FORMAT=json, gunicorn.conf.py): the request id the response
    carries (RequestIdMiddleware's), as the field the application's lines have."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        request_id = atoms.get("{x-request-id}o")
        if request_id and request_id != "-":
            record.request_id = request_id
        return True


# The formatter of LOG_FORMAT=json, shared by the Django settings and gunicorn.conf.py.
JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    "json_ensure_ascii": False,
}
