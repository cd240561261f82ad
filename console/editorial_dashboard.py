"""The editorial page of the dashboard (/admin/dashboard/editorial/): a day's verses for review
(default tomorrow, made the evening before), the verse plans and the feast calendar. Thin views:
each form calls the service its API endpoint calls (console/editorial_apis.py); no JavaScript."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from console.editorial_apis import CALENDAR_DAYS, REVIEW_MESSAGES, plan_saved_message
from scheduler.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from users.models import Language, Mood
from verses.editorial.selectors import (
    approval_required,
    feast_calendar,
    pair_verse_get,
    review_pairs,
    verse_plan_get,
    verse_plans,
    verse_reviews,
)
from verses.editorial.services import (
    AIAgainFailed,
    AlreadyReceived,
    EditorialInvalid,
    feast_setting_update,
    pair_verse_approve,
    pair_verse_reflection_edit,
    pair_verse_regenerate,
    pair_verse_replace,
    verse_plan_create,
    verse_plan_delete,
)

PLANS_DAYS = 90
MOOD_LABELS = {"": "Sans humeur", **dict(Mood.choices)}
LANGUAGE_LABELS = dict(Language.choices)
SOURCE_LABELS = {"ai": "IA", "fallback": "Secours", "plan": "Planifié"}
FEAST_STATES = {"default": "Par défaut", "accepted": "Accepté", "changed": "Modifié", "off": "Désactivé"}


def _require(request, *permissions: str) -> None:
    if not all(request.user.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def _day(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else timezone.localdate() + datetime.timedelta(days=1)
    except ValueError:
        raise Http404("Date invalide : le format attendu est AAAA-MM-JJ.") from None


def _back(day: datetime.date, anchor: str = "review") -> str:
    return f"{reverse('editorial-dashboard')}?day={day.isoformat()}#{anchor}"


@require_GET
def editorial_view(request):
    _require(request, VIEW_PERMISSION)
    day = _day(request.GET.get("day"))
    pairs = review_pairs(day=day)
    for verse in pairs:
        verse.mood_label = MOOD_LABELS.get(verse.mood, verse.mood)
        verse.source_label = SOURCE_LABELS.get(verse.source, verse.source)
    calendar = feast_calendar(start=timezone.localdate(), days=CALENDAR_DAYS)
    for feast in calendar:
        feast["rows"] = [
            {"language": language, "label": LANGUAGE_LABELS[language], "state_label": FEAST_STATES[v["state"]], **v}
            for language, v in feast["languages"].items()
        ]
    today = timezone.localdate()
    return TemplateResponse(
        request,
        "admin/scheduler/editorial.html",
        {
            **admin.site.each_context(request),
            "title": "Éditorial : relecture, plans et fêtes",
            "day": day,
            "previous_day": day - datetime.timedelta(days=1),
            "next_day": day + datetime.timedelta(days=1),
            "pairs": pairs,
            "pending": sum(1 for verse in pairs if verse.approved_at is None),
            "approval_required": approval_required(),
            "reviews": list(verse_reviews(day=day)[:20]),
            "plans": list(verse_plans(start=today, end=today + datetime.timedelta(days=PLANS_DAYS))),
            "plans_days": PLANS_DAYS,
            "calendar": calendar,
            "moods": MOOD_LABELS.items(),
            "languages": LANGUAGE_LABELS.items(),
            "can_operate": request.user.has_perm(OPERATE_PERMISSION),
        },
    )


@require_POST
def review_action_view(request, verse_id: int, action: str):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    if action not in REVIEW_MESSAGES:
        raise Http404("Action inconnue.")
    verse = pair_verse_get(verse_id=verse_id)
    if verse is None:
        raise Http404("Verset du jour introuvable (remplacé entre-temps ?).")
    try:
        if action == "approve":
            pair_verse_approve(verse=verse, by=request.user)
        elif action == "edit":
            pair_verse_reflection_edit(verse=verse, reflection=request.POST.get("reflection", ""), by=request.user)
        elif action == "replace":
            pair_verse_replace(
                verse=verse,
                reference=request.POST.get("reference", ""),
                reflection=request.POST.get("reflection", ""),
                by=request.user,
            )
        else:
            pair_verse_regenerate(verse=verse, by=request.user)
    except EditorialInvalid as exc:
        messages.error(request, f"{exc.message} Rien n'a changé.")
    except AIAgainFailed as exc:
        messages.error(request, f"L'IA n'a pas donné de verset utilisable ({exc.kind}) : le verset est inchangé.")
    else:
        label = f"{MOOD_LABELS.get(verse.mood, verse.mood)} / {verse.language}"
        messages.success(request, f"{label} : {REVIEW_MESSAGES[action]}")
    return redirect(_back(verse.day, f"pair-{verse.mood or 'none'}-{verse.language}"))


@require_POST
def plan_create_view(request):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    try:
        day = datetime.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, "Date invalide : le format attendu est AAAA-MM-JJ. Rien n'a changé.")
        return redirect(reverse("editorial-dashboard") + "#plans")
    language, mood = request.POST.get("language", ""), request.POST.get("mood", "*")
    if language not in LANGUAGE_LABELS or (mood != "*" and mood not in MOOD_LABELS):
        messages.error(request, "Langue ou humeur inconnue. Rien n'a changé.")
        return redirect(reverse("editorial-dashboard") + "#plans")
    try:
        _, outcome = verse_plan_create(
            day=day,
            language=language,
            mood=None if mood == "*" else mood,
            reference=request.POST.get("reference", ""),
            reflection=request.POST.get("reflection", ""),
            replace=request.POST.get("replace") == "yes",
            created_by=request.user,
        )
    except EditorialInvalid as exc:
        messages.error(request, f"{exc.message} Rien n'a changé.")
    except AlreadyReceived as exc:
        messages.error(
            request,
            f"{exc.users} utilisateur(s) ont déjà reçu le verset de ce jour : rien n'a changé. Cochez "
            "« remplacer » : ils le gardent et seuls les autres reçoivent le verset planifié.",
        )
    else:
        messages.success(request, plan_saved_message(outcome))
    return redirect(reverse("editorial-dashboard") + "#plans")


@require_POST
def plan_delete_view(request, plan_id: int):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    plan = verse_plan_get(plan_id=plan_id)
    if plan is None:
        raise Http404("Plan introuvable.")
    verse_plan_delete(plan=plan)
    messages.success(request, f"Plan du {plan.day:%d/%m/%Y} ({plan.reference}) supprimé.")
    return redirect(reverse("editorial-dashboard") + "#plans")


@require_POST
def feast_update_view(request, feast: str, language: str):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    choice = request.POST.get("choice")
    if language not in LANGUAGE_LABELS or choice not in ("accept", "change", "off"):
        raise Http404("Choix inconnu.")
    try:
        feast_setting_update(
            feast=feast,
            language=language,
            enabled=choice != "off",
            reference=request.POST.get("reference", "") if choice == "change" else "",
            updated_by=request.user,
        )
    except EditorialInvalid as exc:
        messages.error(request, f"{exc.message} Rien n'a changé.")
    else:
        messages.success(request, "Choix de la fête enregistré.")
    return redirect(reverse("editorial-dashboard") + f"#feast-{feast}")


urlpatterns = [
    path("", admin.site.admin_view(editorial_view), name="editorial-dashboard"),
    path(
        "verse/<int:verse_id>/<str:action>/",
        admin.site.admin_view(review_action_view),
        name="editorial-dashboard-review",
    ),
    path("plans/", admin.site.admin_view(plan_create_view), name="editorial-dashboard-plan-create"),
    path(
        "plans/<int:plan_id>/delete/", admin.site.admin_view(plan_delete_view), name="editorial-dashboard-plan-delete"
    ),
    path(
        "feasts/<str:feast>/<str:language>/",
        admin.site.admin_view(feast_update_view),
        name="editorial-dashboard-feast",
    ),
]
