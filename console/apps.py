from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator's room, on the top floor: status and health over every app, the admin
    dashboard and its charts, the stats and users-count endpoints, the maintenance and statistics
    jobs. It may import every app; none imports it (the registry names its jobs by dotted path)."""

    name = "console"
    verbose_name = "Console"
