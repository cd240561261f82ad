"""The campaigns page of the dashboard (/admin/dashboard/campaigns/): the campaigns with their
audience, sent, failed and opened; a form that previews a campaign's audience, then creates it;
cancel. Thin views: the form goes through the API's serializer and the same services
(console/campaign_apis.py); no JavaScript."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from console.campaign_apis import not_cancellable_message
from console.campaign_serializers import CampaignCreateSerializer, errors_flat
from console.editorial_dashboard import LANGUAGE_LABELS, MOOD_LABELS
from scheduler.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from verses.campaigns.models import Campaign
from verses.campaigns.selectors import campaign_audience, campaign_figures, campaign_get, campaigns_with_figures
from verses.campaigns.services import CampaignNotCancellable, campaign_cancel, campaign_create

CAMPAIGNS_SHOWN = 50


def _require(request, *permissions: str) -> None:
    if not all(request.user.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def _segment_text(segment: dict) -> str:
    parts = []
    if segment.get("languages"):
        parts.append("langues : " + ", ".join(LANGUAGE_LABELS.get(v, v) for v in segment["languages"]))
    if segment.get("moods"):
        parts.append("humeurs : " + ", ".join(MOOD_LABELS.get(v, v) for v in segment["moods"]))
    if segment.get("timezones"):
        parts.append("fuseaux : " + ", ".join(segment["timezones"]))
    if segment.get("active_within_days"):
        parts.append(f"actifs depuis {segment['active_within_days']} j")
    return " ; ".join(parts) or "Tous les utilisateurs (push activé)"


def _page(request, *, form: dict | None = None, preview: int | None = None):
    campaigns = list(campaigns_with_figures()[:CAMPAIGNS_SHOWN])
    for campaign in campaigns:
        campaign.figures = campaign_figures(campaign=campaign)
        campaign.segment_text = _segment_text(campaign.segment)
        campaign.cancellable = campaign.state in (Campaign.State.SCHEDULED, Campaign.State.SENDING)
    form = form or {"mode": "local_time", "local_time": "09:00"}
    return TemplateResponse(
        request,
        "admin/scheduler/campaigns.html",
        {
            **admin.site.each_context(request),
            "title": "Campagnes : annonces aux utilisateurs",
            "campaigns": campaigns,
            "form": form,
            "preview": preview,
            "moods": MOOD_LABELS.items(),
            "languages": LANGUAGE_LABELS.items(),
            "can_operate": request.user.has_perm(OPERATE_PERMISSION),
        },
    )


@require_GET
def campaigns_view(request):
    _require(request, VIEW_PERMISSION)
    return _page(request)


def _form_data(post) -> tuple[dict, dict]:
    """The form as the page shows it again, and as the API's serializer reads it."""
    form = {
        "title": post.get("title", ""),
        "body": post.get("body", ""),
        "languages": post.getlist("languages"),
        "moods": post.getlist("moods"),
        "timezones": post.get("timezones", ""),
        "active_within_days": post.get("active_within_days", ""),
        "mode": post.get("mode", "local_time"),
        "send_at": post.get("send_at", ""),
        "local_time": post.get("local_time", ""),
        "date": post.get("date", ""),
    }
    segment = {"languages": form["languages"], "moods": form["moods"]}
    segment["timezones"] = [zone.strip() for zone in form["timezones"].replace(",", " ").split() if zone.strip()]
    if form["active_within_days"].strip():
        segment["active_within_days"] = form["active_within_days"].strip()
    data = {"title": form["title"], "body": form["body"], "segment": segment}
    if form["mode"] == "send_at":
        data["send_at"] = form["send_at"] or None
    else:
        data["local_time"], data["date"] = form["local_time"] or None, form["date"] or None
    return form, data


@require_POST
def campaign_form_view(request):
    """Preview the audience (nothing stored), or create the campaign."""
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    form, data = _form_data(request.POST)
    body = CampaignCreateSerializer(data=data)
    if not body.is_valid():
        for field, errors in errors_flat(body.errors).items():
            for error in errors:
                messages.error(request, f"« {field} » : {error} — rien n'a été enregistré.")
        return _page(request, form=form)  # shown again with what was typed, as Django's admin does
    values = dict(body.validated_data)
    values.pop("dry_run")
    if request.POST.get("action") != "create":
        return _page(request, form=form, preview=campaign_audience(segment=values["segment"]).count())
    campaign = campaign_create(**values, created_by=request.user)
    messages.success(request, f"Campagne « {campaign.title} » planifiée.")
    return redirect(reverse("campaigns-dashboard") + f"#campaign-{campaign.pk}")


@require_POST
def campaign_cancel_view(request, campaign_id: int):
    _require(request, VIEW_PERMISSION, OPERATE_PERMISSION)
    campaign = campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404("Campagne introuvable.")
    try:
        campaign_cancel(campaign=campaign, by=request.user)
    except CampaignNotCancellable as exc:
        messages.error(request, not_cancellable_message(exc.state))
    else:
        messages.success(request, f"Campagne « {campaign.title} » annulée.")
    return redirect(reverse("campaigns-dashboard") + f"#campaign-{campaign.pk}")


urlpatterns = [
    path("", admin.site.admin_view(campaigns_view), name="campaigns-dashboard"),
    path("new/", admin.site.admin_view(campaign_form_view), name="campaigns-dashboard-form"),
    path("<int:campaign_id>/cancel/", admin.site.admin_view(campaign_cancel_view), name="campaigns-dashboard-cancel"),
]
