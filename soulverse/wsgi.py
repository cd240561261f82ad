import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soulverse.settings")

application = get_wsgi_application()


def _answers_replayed(django_application):
    """Django's application behind soulverse.replay, for the fast routes (soulverse.hotpath)."""
    from django.utils.module_loading import import_string

    from soulverse.hotpath import FAST_ROUTES
    from soulverse.replay import AnswerReplay

    return AnswerReplay(
        django_application,
        routes={
            path: (import_string(route.variant), route.body and import_string(route.body))
            for route in FAST_ROUTES
            for path in route.paths()
        },
    )


application = _answers_replayed(application)
