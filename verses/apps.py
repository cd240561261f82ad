from django.apps import AppConfig


class VersesConfig(AppConfig):
    name = "verses"
    verbose_name = "Versets"

    def ready(self):
        from verses import checks  # noqa: F401  (registers the deploy checks)
