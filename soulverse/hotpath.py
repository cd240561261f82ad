"""The hot path, decided here: the fast routes and how their views mark an answer.

Three requests are made far more often than the others, most of them by clients that get a
refusal or a one-word answer: the public health (load balancers, probes), the API schema without
credentials (401) and verses/today (every app each morning; with a wrong key, 401). Each has:

- a plain Django view that answers the common case without DRF's machinery and hands anything
  else to the DRF view the API schema documents (the view's own module says how);
- a variant function of the WSGI environ for soulverse.replay: the answer's variant when the
  view's memo already knows it (the health state, "anonymous", "invalid key", "kept answer"),
  else None;
- for verses/today, a body function of the WSGI environ: the bytes of the token's kept answer
  (one Redis script call that also counts the request against the user's throttle), or None. Its
  answers differ per user, so soulverse.replay keeps only their status and headers and asks the
  body function for each request's bytes.

FAST_ROUTES lists them; soulverse.urls routes their paths to the views (before the apps' routers)
and soulverse.wsgi hands their paths and variant functions to soulverse.replay. Views and variant
functions are named by dotted path: the apps stay above this floor.

A view marks its response with `answer_expected` (an answer, not an error: no log line per
request) and `replayable` (soulverse.replay may keep these bytes, or with `body_per_request` only
the status and headers, for the variant).
"""

from typing import NamedTuple


class FastRoute(NamedTuple):
    path: str  # without the leading slash, as in the URLconf
    view: str  # dotted path of the plain view
    variant: str  # dotted path of the replay's variant function (of a WSGI environ)
    name: str  # URL name
    slash_optional: bool  # also answered without (with) its trailing slash
    body: str | None = None  # dotted path of the replay's body function (of a WSGI environ), if any

    def paths(self) -> tuple[str, ...]:
        """The PATH_INFOs this route answers."""
        path = "/" + self.path
        if not self.slash_optional:
            return (path,)
        bare = path.rstrip("/")
        return (bare, bare + "/")

    def regex(self) -> str:
        """The route's URLconf pattern (re_path)."""
        return rf"^{self.path.rstrip('/')}/?$" if self.slash_optional else rf"^{self.path}$"


FAST_ROUTES = (
    FastRoute(
        path="api/v1/scheduler/health",
        view="console.views.health",
        variant="console.views.health_replay_variant",
        name="scheduler-health-fast",
        slash_optional=True,
    ),
    FastRoute(
        path="api/schema/",
        view="soulverse.views.schema",
        variant="soulverse.views.schema_replay_variant",
        name="schema",
        slash_optional=False,
    ),
    FastRoute(
        path="api/v1/verses/today",
        view="verses.views.verse_today",
        variant="verses.views.verse_today_replay_variant",
        name="verses-today-fast",
        slash_optional=True,
        body="verses.views.verse_today_replay_body",
    ),
)


def answer_expected(response):
    """Mark `response` (a refusal such as a 401 or 429, a 503 health answer) as an expected answer:
    django.request logs no WARNING/ERROR line for it (one per request would let anyone flood the
    logs; gunicorn's access log still has each request)."""
    # django.utils.log.log_response skips a response with this attribute set: Django's own (private)
    # way of saying "already logged". The only place the project sets it; soulverse.tests.test_hotpath
    # fails if Django stops honouring it.
    response._has_been_logged = True
    return response


def replayable(response, variant: str, *, body_per_request: bool = False):
    """Mark `response` as the answer to every request of `variant` (the route's variant function's
    value for the request): soulverse.replay may keep its bytes and send them for the same request
    again without entering Django. With `body_per_request`, only its status and headers are the
    same for every such request: the route's body function gives each request's bytes."""
    response.replay_variant = variant
    response.replay_body_per_request = body_per_request
    return response


def replay_variant(response) -> str | None:
    """The variant `response` was marked replayable for, or None."""
    return getattr(response, "replay_variant", None)


def replay_body_per_request(response) -> bool:
    """Whether `response` was marked replayable with a body of each request's own."""
    return getattr(response, "replay_body_per_request", False)
