"""Answers replayed at the WSGI level, before Django handles the request.

Clients send a few requests far more often than any other: anonymous ones in a loop (the public
health: `ok`, `degraded` or `down`; the API schema, refused: 401; verses/today with a key no live
token has: 401) and every phone's verses/today each morning. Their views already answer from a
memo or one Redis call without DRF, but each request still went through Django's handler and the
whole middleware stack (sessions, CSRF, messages, axes, whitenoise…), about as much Python as the
answer itself. Here the first such request of a kind goes through Django as any other; its answer
(status, headers, body: every middleware's headers included) is kept, and the same request again
gets those bytes without entering Django.

"The same request" is: the same method, path, script name, scheme, server name and port, and the
same headers (all of them but those listed in IGNORED_HEADERS, which nothing on these paths
reads), with no query string, no body and no cookie; and the same variant, which the path's own
function computes from the request at each request (the health state now; "invalid key" only while
the view's memo of that key says so; "kept answer" while this process kept the token's answer on
Redis, which the body function below checks). An answer is kept only when the view marked its
response as replayable for that variant (soulverse.hotpath.replayable), so a refusal for another
reason (a disallowed host: 400; plain HTTP under SECURE_SSL_REDIRECT: 301; an inactive user) is
never kept.
The answers are a process memo ("replay.answers" in soulverse.memos.SIZES: the oldest is dropped
for a new one), kept only for requests whose headers add up to at most MAX_KEY_BYTES: junk
headers cannot fill the memory.

A route may also have a body function of the WSGI environ (verses/today: the token's kept answer,
the request counted against the user's throttle, in one Redis script call). An answer its view
marked replayable with `body_per_request` is kept without its body (nor its Content-Length): the
same request again gets the kept status and headers with the bytes the body function gives for
this request, or goes through Django when it gives None (a miss, a throttled user, Redis not
answering) or raises (logged). The body function is called only when the status and headers are
kept: a request whose answer is not kept yet goes through Django alone, and is counted once. Such
an answer is sent to other users: it is kept only when every header it has is in SHARED_HEADERS
(what kind of answer it is and the site's policies); one with any other header (a cookie, an ETag,
a language, an encoding, a middleware's header of the user's) goes through Django every time.
"""

import logging
from collections.abc import Callable

from soulverse.hotpath import replay_body_per_request, replay_variant
from soulverse.logs import request_id_from
from soulverse.memos import Memo

logger = logging.getLogger(__name__)

# Request headers that no middleware or view reads on the replayed paths (client identification,
# connection handling, the per-request ids and trace contexts proxies and load balancers add) or
# that the path's variant and body functions check (Authorization). All others are part of the
# request's identity: a header that differed at every request would keep every answer from being
# replayed.
IGNORED_HEADERS = frozenset(
    {
        "HTTP_USER_AGENT",
        "HTTP_CONNECTION",
        "HTTP_AUTHORIZATION",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_REAL_IP",
        "HTTP_FORWARDED",
        "HTTP_X_REQUEST_ID",
        "HTTP_X_CORRELATION_ID",
        "HTTP_TRACEPARENT",
        "HTTP_TRACESTATE",
        "HTTP_X_AMZN_TRACE_ID",
        "HTTP_X_CLOUD_TRACE_CONTEXT",
    }
)
MAX_KEY_BYTES = 4096
# The response headers (lower case) an answer whose body is each request's own may be kept with.
SHARED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",  # each request's own: replaced
        "x-request-id",  # each request's own: replaced
        "allow",
        "vary",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "strict-transport-security",
    }
)


def _request_id_own(headers: list, environ) -> list:
    """The kept headers, with this request's id (RequestIdMiddleware's) for the kept answer's."""
    return [
        (name, request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))) if name == "X-Request-ID" else (name, value)
        for name, value in headers
    ]


Variant = Callable[[dict], str | None]
Body = Callable[[dict], bytes | None]


class AnswerReplay:
    """WSGI middleware: `routes` maps a PATH_INFO to a pair: a function of the WSGI environ
    returning the request's variant (a string), or None when the request must go through Django;
    and the route's body function, or None."""

    def __init__(self, application, routes: dict[str, tuple[Variant, Body | None]]):
        self.application = application
        self.routes = routes
        self.answers = Memo("replay.answers")  # key -> (status, headers, body)

    def __call__(self, environ, start_response):
        variant_of, body_of = self.routes.get(environ.get("PATH_INFO"), (None, None))
        if (
            variant_of is None
            or environ.get("QUERY_STRING")
            or "HTTP_COOKIE" in environ
            or environ.get("CONTENT_LENGTH", "") not in ("", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return self.application(environ, start_response)
        variant = variant_of(environ)
        if variant is None:
            return self.application(environ, start_response)
        headers = sorted(
            (name, value) for name, value in environ.items() if name.startswith("HTTP_") and name not in IGNORED_HEADERS
        )
        if sum(len(name) + len(value) for name, value in headers) > MAX_KEY_BYTES:
            return self.application(environ, start_response)
        key = (
            variant,
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            environ.get("SCRIPT_NAME"),
            environ.get("wsgi.url_scheme"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            *headers,
        )
        answer = self.answers.get(key)
        if answer is None:
            return self._answer_and_keep(key, variant, body_of, environ, start_response)
        status, headers, body = answer
        if body is None:  # kept without its body: this request's own
            try:
                body = body_of(environ)
            except Exception:
                logger.exception("event=replay_body_failed path=%s", environ.get("PATH_INFO"))
            if body is None:
                return self.application(environ, start_response)
            headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(status, _request_id_own(headers, environ))
        return [body]

    def _answer_and_keep(self, key: tuple, variant: str, body_of: Body | None, environ, start_response):
        started = []

        def start_response_noted(status, headers, exc_info=None):
            started.append((status, list(headers)))
            return start_response(status, headers, exc_info)

        response = self.application(environ, start_response_noted)
        if (
            replay_variant(response) != variant
            or getattr(response, "streaming", True)
            or any(name.lower() == "set-cookie" for name, _ in started[-1][1])
        ):
            return response
        try:
            body = b"".join(response)
        finally:
            response.close()  # Django's request_finished, as the WSGI server would have called it
        status, headers = started[-1]
        if replay_body_per_request(response):
            if body_of is not None and all(name.lower() in SHARED_HEADERS for name, _ in headers):
                headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
                self.answers.set(key, (status, headers, None))
        else:
            self.answers.set(key, (status, headers, body))
        return [body]
