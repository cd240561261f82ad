"""The scheduler's dashboard in the Django admin: state, controls, last runs and charts.

Thin views: the buttons call the services the API calls, behind a confirmation page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import include, path, reverse
from django.views.decorators.http import require_GET, require_POST

from console.charts import dashboard_charts
from console.selectors import dashboard_series, scheduler_status
from scheduler.counts import counts_phrase
from scheduler.models import JobRun, ScheduleChange
from scheduler.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from scheduler.registry import DELIVER_VERSES_JOB_ID, JOBS_BY_ID
from scheduler.selectors import job_runs
from scheduler.services import job_run_enqueue, scheduler_start, scheduler_stop
from verses.push.counts import PUSH_OUTCOME_COUNTS
from verses.push.fcm import push_project_id

RECENT_RUNS = 10
AI_STATUS_LABELS = {
    "ok": "Active",
    "disabled": "Désactivée (versets de secours)",
    "misconfigured": "Mal configurée",
    "unverified": "Non vérifiée",
    "off": "Coupée (AI_ENABLED=false)",
}
PUSH_STATUS_LABELS = {
    "enabled": "Actif",
    "disabled": "Désactivé (aucun identifiant FCM)",
    "off": "Coupé (PUSH_ENABLED=false)",
}
CHART_DAYS = 30

SWITCHES = {
    "stop": {
        "service": scheduler_stop,
        "question": "Arrêter le planificateur ?",
        "detail": "Les tâches planifiées ne se lanceront plus jusqu'au redémarrage ; "
        "une exécution en cours se termine.",
        "button": "Oui, arrêter",
        "done": "Planificateur arrêté.",
    },
    "start": {
        "service": scheduler_start,
        "question": "Démarrer le planificateur ?",
        "detail": "Les tâches reprennent ; une échéance manquée pendant l'arrêt s'exécute une seule fois.",
        "button": "Oui, démarrer",
        "done": "Planificateur démarré.",
    },
}


def _require(request, *permissions: str) -> None:
    if not all(request.user.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def counts_items(counts: dict) -> list[tuple[str, str]]:
    """A run's counts as (key, text) pairs for display; nested counts flattened ("kind: n")."""
    items = []
    for key, value in counts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} : {v}" for k, v in value.items()) or "0"
        items.append((key, str(value)))
    return items


def push_overview(push: dict, jobs: list[dict]) -> dict:
    """Push as the dashboard shows it: on or not (and why), the Firebase project, the last tick."""
    # With the PUSH_ENABLED switch, push_state() gives a status: enabled, disabled (no credentials)
    # or off (switched off on purpose); without it, `enabled` alone.
    status = push.get("status") or ("enabled" if push["enabled"] else "disabled")
    tick = next((job["last_run"] for job in jobs if job["id"] == DELIVER_VERSES_JOB_ID), None)
    return {
        "status": status,
        "label": PUSH_STATUS_LABELS.get(status, status),
        "dry_run": push["dry_run"],
        "project_id": push_project_id(),
        "tick": tick,
        "tick_summary": counts_phrase(tick.counts, PUSH_OUTCOME_COUNTS) if tick else "",
    }


@require_GET
def dashboard_view(request):
    _require(request, VIEW_PERMISSION)
    status = scheduler_status()
    runs = list(job_runs()[:RECENT_RUNS])
    for run in runs:
        run.counts_items = counts_items(run.counts)
        run.job_name = JOBS_BY_ID[run.job_id].name if run.job_id in JOBS_BY_ID else run.job_id
    return TemplateResponse(
        request,
        "admin/scheduler/dashboard.html",
        _context(
            request,
            title="Tableau de bord du planificateur",
            enabled=status["enabled"],
            cluster=status["cluster"],
            timezone_name=status["timezone"],
            ai=status["ai"],
            ai_label=AI_STATUS_LABELS.get(status["ai"]["status"], status["ai"]["status"]),
            editions=status["editions"].values(),
            push=push_overview(status["push"], status["jobs"]),
            jobs=status["jobs"],
            runs=runs,
            charts=dashboard_charts(dashboard_series(days=CHART_DAYS)),
            chart_days=CHART_DAYS,
            can_operate=request.user.has_perm(OPERATE_PERMISSION),
        ),
    )


def _confirm(request, *, question: str, detail: str, button: str, action_url: str):
    return TemplateResponse(
        request,
        "admin/scheduler/dashboard_confirm.html",
        _context(request, title=question, detail=detail, button=button, action_url=action_url),
    )


@require_POST
def scheduler_switch_view(request, action: str):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    switch = SWITCHES[action]
    if request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            question=switch["question"],
            detail=switch["detail"],
            button=switch["button"],
            action_url=reverse(f"scheduler-dashboard-{action}"),
        )
    switch["service"](changed_by=request.user, source=ScheduleChange.Source.ADMIN)
    messages.success(request, switch["done"])
    return redirect("scheduler-dashboard")


@require_POST
def job_run_now_view(request, job_id: str):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    job = JOBS_BY_ID.get(job_id)
    if job is None:
        raise Http404(f"Tâche inconnue : {job_id}")
    if request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            question=f"Lancer « {job.name} » maintenant ?",
            detail="L'exécution passe par les workers, comme une exécution planifiée ; "
            "si une exécution de cette tâche est en cours, aucune autre n'est lancée.",
            button="Oui, lancer",
            action_url=reverse("scheduler-dashboard-run", args=[job_id]),
        )
    run, created = job_run_enqueue(job_id=job_id, trigger=JobRun.Trigger.MANUAL)
    if created:
        messages.success(request, f"« {job.name} » : exécution lancée.")
    else:
        messages.info(request, f"« {job.name} » : une exécution est déjà en cours.")
    return redirect(reverse("scheduler-dashboard") + "#runs")


urlpatterns = [
    path("", admin.site.admin_view(dashboard_view), name="scheduler-dashboard"),
    path("stop/", admin.site.admin_view(scheduler_switch_view), {"action": "stop"}, name="scheduler-dashboard-stop"),
    path("start/", admin.site.admin_view(scheduler_switch_view), {"action": "start"}, name="scheduler-dashboard-start"),
    path("run/<str:job_id>/", admin.site.admin_view(job_run_now_view), name="scheduler-dashboard-run"),
    path("editorial/", include("console.editorial_dashboard")),
    path("campaigns/", include("console.campaign_dashboard")),
]
