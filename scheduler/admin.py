from django.contrib import admin, messages
from django_q.admin import ScheduleAdmin as BaseScheduleAdmin
from django_q.models import Schedule

from scheduler.models import JobRun
from scheduler.registry import JOBS_BY_ID
from scheduler.services import job_run_enqueue, schedule_next_run_refresh

# The admin's home leads to the scheduler's dashboard (scheduler/dashboard.py) first.
admin.site.index_template = "admin/scheduler/index.html"


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


@admin.register(Schedule)
class ScheduleAdmin(BaseScheduleAdmin):
    """django-q2's schedule admin, plus next_run recomputed on save and a "run now" action."""

    actions = ["run_now"]

    def save_model(self, request, obj, form, change):
        schedule_next_run_refresh(obj)
        super().save_model(request, obj, form, change)

    @admin.action(description="Lancer maintenant")
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
