import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soulverse.settings")

application = get_wsgi_application()

# The paths anonymous clients can hammer, each with the function (by dotted path: the apps stay
# above this configuration) that computes a request's variant for soulverse.replay.
REPLAYED_ROUTES = {
    "/api/v1/scheduler/health": "console.views.health_replay_variant",
    "/api/v1/scheduler/health/": "console.views.health_replay_variant",
    "/api/schema/": "soulverse.views.schema_replay_variant",
    "/api/v1/verses/today": "verses.views.verse_today_replay_variant",
    "/api/v1/verses/today/": "verses.views.verse_today_replay_variant",
}


def _answers_replayed(django_application):
    """Django's application behind soulverse.replay, for REPLAYED_ROUTES."""
    from django.utils.module_loading import import_string

    from soulverse.replay import AnswerReplay

    return AnswerReplay(
        django_application, routes={path: import_string(dotted) for path, dotted in REPLAYED_ROUTES.items()}
    )


application = _answers_replayed(application)
