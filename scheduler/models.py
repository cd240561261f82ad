import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class JobRun(models.Model):
    """One execution of a registered job, whatever started it."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Planification"
        MANUAL = "manual", "Manuel (API/admin)"
        COMMAND = "command", "Commande"

    class Status(models.TextChoices):
        RUNNING = "running", "En cours"
        SUCCEEDED = "succeeded", "Réussi"
        FAILED = "failed", "Échoué"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.CharField(max_length=64)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Keyword arguments of the job's function (empty for scheduled runs), e.g. a day to redo.
    params = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # Whose task runs the job's own part, "<cluster id>:<host>:<worker pid>" (cluster id "-" outside a cluster),
    # and until when: the watchdog hands it out again once the holder is gone (scheduler/watchdog.py).
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "exécution"
        verbose_name_plural = "historique des exécutions"
        ordering = ["-started_at"]
        # The scheduler's own permissions (scheduler/permissions.py), held by this model.
        permissions = [
            ("view_scheduler", "Peut consulter le planificateur"),
            ("operate_scheduler", "Peut piloter le planificateur"),
        ]
        constraints = [
            # The database, not a lock in Python, guarantees one running run per job.
            models.UniqueConstraint(fields=["job_id"], condition=Q(status="running"), name="one_running_run_per_job"),
        ]
        indexes = [models.Index(fields=["job_id", "-started_at"], name="jobrun_job_started_idx")]

    def __str__(self) -> str:
        return f"{self.job_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class JobChunk(models.Model):
    """One slice of a run whose job returned a FanOut plan: a task any worker of any cluster can take."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        SUCCEEDED = "succeeded", "Réussi"
        FAILED = "failed", "Échoué"

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    func = models.CharField(max_length=256)
    kwargs = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    counts = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who is doing it, "<cluster id>:<host>:<worker pid>" (cluster id "-" outside a cluster),
    # and until when: the watchdog hands it out again once the holder is gone (scheduler/watchdog.py).
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "tranche"
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_chunk_per_run_index")]
        indexes = [models.Index(fields=["run", "status"], name="jobchunk_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.index} {self.status}"


class ScheduleChange(models.Model):
    """The audit trail of schedule changes (cron, enabled): who, when, before and after."""

    class Source(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Commande"

    job_id = models.CharField(max_length=64)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    changed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(help_text="{cron, enabled} before the change.")
    after = models.JSONField(help_text="{cron, enabled} after the change.")

    class Meta:
        verbose_name = "modification de planification"
        verbose_name_plural = "journal des modifications de planification"
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["job_id", "-changed_at"], name="schedulechange_job_idx")]

    def __str__(self) -> str:
        return f"{self.job_id} {self.changed_at:%Y-%m-%d %H:%M}"

    @property
    def changed_fields(self) -> list[str]:
        return [field for field in ("cron", "enabled") if self.before.get(field) != self.after.get(field)]
