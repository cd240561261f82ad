from django import forms
from django.contrib import admin, messages
from django_q.admin import ScheduleAdmin as BaseScheduleAdmin
from django_q.models import Schedule
from rest_framework.exceptions import ValidationError as DRFValidationError

from scheduler.models import JobRun, ScheduleChange
from scheduler.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from scheduler.registry import JOBS_BY_ID
from scheduler.serializers import CronField
from scheduler.services import job_run_enqueue, job_schedule_change_record, schedule_next_run_refresh


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("job_id", "trigger", "status", "started_at", "finished_at", "duration_seconds")
    list_filter = ("job_id", "status", "trigger")
    readonly_fields = ("id", "job_id", "trigger", "status", "started_at", "finished_at", "counts", "error")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(Schedule)


class ScheduleForm(forms.ModelForm):
    """Only the cron and the on/off switch: the rest is the registry's (scheduler/guards.py)."""

    enabled = forms.BooleanField(
        label="Activée", required=False, help_text="Décochée : la tâche est en pause (comme POST stop)."
    )

    class Meta:
        model = Schedule
        fields = ["cron"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "cron" in self.fields:  # absent when shown read-only (viewers)
            self.fields["cron"].required = True
        if "enabled" in self.fields:
            self.fields["enabled"].initial = self.instance.repeats != 0

    def clean_cron(self):
        # The API's check (five fields, and a cron that fires: `0 0 30 2 *` never does).
        try:
            return CronField().to_internal_value(self.cleaned_data["cron"])
        except DRFValidationError as exc:
            raise forms.ValidationError(exc.detail[0]) from None

    def save(self, commit=True):
        self.instance.repeats = -1 if self.cleaned_data["enabled"] else 0
        return super().save(commit)


@admin.register(Schedule)
class ScheduleAdmin(BaseScheduleAdmin):
    """django-q2's schedule admin restricted to the registry's jobs: cron and on/off editable by
    operators (scheduler.operate_scheduler), read by viewers; no add, no delete; next_run
    recomputed on save; a "run now" action."""

    form = ScheduleForm
    fields = ("name", "func", "cron", "enabled", "next_run")
    readonly_fields = ("name", "func", "next_run")
    actions = ["run_now"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_change_permission(self, request, obj=None):
        allowed = request.user.is_active and request.user.has_perm(OPERATE_PERMISSION)
        return allowed and (obj is None or obj.name in JOBS_BY_ID)

    def has_add_permission(self, request):
        return False  # the registry's rows are made by setup_schedules

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        previous = Schedule.objects.filter(pk=obj.pk).first() if change else None
        schedule_next_run_refresh(obj)
        super().save_model(request, obj, form, change)
        if previous is not None and obj.name in JOBS_BY_ID:
            before = {"cron": previous.cron, "enabled": previous.repeats != 0}
            after = {"cron": obj.cron, "enabled": obj.repeats != 0}
            if before != after:  # a job's cron or switch: into the audit trail, like the API's changes
                job_schedule_change_record(
                    job_id=obj.name,
                    changed_by=request.user,
                    source=ScheduleChange.Source.ADMIN,
                    before=before,
                    after=after,
                )

    @admin.action(description="Lancer maintenant", permissions=["change"])
    def run_now(self, request, queryset):
        for schedule in queryset:
            if schedule.name not in JOBS_BY_ID:
                self.message_user(request, f"{schedule}: pas une tâche SoulVerse, ignorée.", messages.WARNING)
                continue
            run, created = job_run_enqueue(job_id=schedule.name, trigger="manual")
            if created:
                self.message_user(request, f"{schedule.name}: exécution {run.pk} lancée.", messages.SUCCESS)
            else:
                self.message_user(request, f"{schedule.name}: déjà en cours (exécution {run.pk}).", messages.INFO)


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(admin.ModelAdmin):
    """The audit trail of schedule changes: read only, for whoever may view the scheduler."""

    list_display = ("changed_at", "job_id", "changed_by", "source", "before", "after")
    list_filter = ("job_id", "source")
    readonly_fields = ("job_id", "changed_by", "source", "changed_at", "before", "after")
    date_hierarchy = "changed_at"

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
