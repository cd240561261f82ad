from django.apps import AppConfig


class VersesConfig(AppConfig):
    name = "verses"
    verbose_name = "Versets"
