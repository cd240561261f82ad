"""Schedule rows run only the registry's jobs, however they are saved (admin, API, shell).

django-q2 runs a Schedule's `func` as given: a row saved with `func=os.system` would have a
worker run a shell command. Every save of a Schedule goes through schedule_guard."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django_q.models import Schedule

from scheduler.registry import JOBS_BY_ID

TASK_FUNC = "scheduler.tasks.job_run"
# The project's own one-off schedules: a webhook delivery's retry (webhooks/services.py).
INTERNAL_FUNCS = frozenset({"webhooks.tasks.webhook_delivery_attempt"})


def schedule_registry_fields(job_id: str) -> dict:
    """What the registry fixes in the Schedule row of job `job_id` (everything but cron and on/off)."""
    return {"func": TASK_FUNC, "args": repr(job_id), "kwargs": "trigger='schedule'", "schedule_type": Schedule.CRON}


def schedule_guard(sender, instance, **kwargs) -> None:
    """pre_save of django_q.Schedule: refuse a row that is not a registry job's as the registry says."""
    if instance.func in settings.SCHEDULER_EXTRA_SCHEDULE_FUNCS or instance.func in INTERNAL_FUNCS:
        return
    if instance.name not in JOBS_BY_ID:
        raise ValidationError(f"name: « {instance.name[:50]} » n'est pas une tâche du planificateur.")
    for field, value in schedule_registry_fields(instance.name).items():
        if getattr(instance, field) != value:
            raise ValidationError(f"{field}: non modifiable (seuls cron et l'activation le sont).")
