import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soulverse.settings")

application = get_wsgi_application()


def _answers_replayed(django_application):
    """Django's application behind soulverse.replay, for the paths anonymous clients can hammer."""
    from scheduler.views import health_replay_variant
    from soulverse.replay import AnswerReplay
    from soulverse.views import schema_replay_variant
    from verses.views import verse_today_replay_variant

    return AnswerReplay(
        django_application,
        routes={
            "/api/v1/scheduler/health": health_replay_variant,
            "/api/v1/scheduler/health/": health_replay_variant,
            "/api/schema/": schema_replay_variant,
            "/api/v1/verses/today": verse_today_replay_variant,
            "/api/v1/verses/today/": verse_today_replay_variant,
        },
    )


application = _answers_replayed(application)
