from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Planificateur"

    def ready(self):
        from django.db.models.signals import pre_save
        from django_q.models import Schedule

        from scheduler import checks  # noqa: F401  (registers the settings checks)
        from scheduler.guards import schedule_guard

        pre_save.connect(schedule_guard, sender=Schedule, dispatch_uid="scheduler.schedule_guard")
