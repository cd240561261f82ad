"""Reads of the campaigns room: a segment's audience, the campaigns with their figures."""

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from users.models import User, UserActivity
from users.selectors import users_push_eligible
from verses.campaigns.models import Campaign, CampaignDelivery

State = CampaignDelivery.State


def campaign_audience(*, segment: dict) -> QuerySet[User]:
    """The push-eligible users (active, a device, notifications on) matching `segment`: each of
    its keys narrows (languages, timezones, moods; active_within_days: an activity recorded on one
    of the last n days, today included)."""
    users = users_push_eligible()
    if segment.get("languages"):
        users = users.filter(language__in=segment["languages"])
    if segment.get("timezones"):
        users = users.filter(timezone__in=segment["timezones"])
    if segment.get("moods"):
        users = users.filter(mood__in=segment["moods"])
    if segment.get("active_within_days"):
        since = timezone.localdate() - datetime.timedelta(days=segment["active_within_days"] - 1)
        users = users.filter(Exists(UserActivity.objects.filter(user_id=OuterRef("pk"), day__gte=since)))
    return users


def deliveries_open_q() -> Q:
    """Deliveries a later tick may still send: pending, being sent (a claim that may have expired),
    failed on fewer than PUSH_MAX_TICKS ticks."""
    return Q(state__in=[State.PENDING, State.SENDING]) | Q(state=State.FAILED, attempts__lt=settings.PUSH_MAX_TICKS)


def _figures() -> dict:
    deliveries = "deliveries"
    return {
        "audience_count": Count(deliveries),
        "sent_count": Count(deliveries, filter=Q(deliveries__sent_at__isnull=False)),
        "failed_count": Count(
            deliveries,
            filter=Q(deliveries__sent_at__isnull=True)
            & (
                Q(deliveries__state=State.INVALID_TOKEN)
                | Q(deliveries__state=State.FAILED, deliveries__attempts__gte=settings.PUSH_MAX_TICKS)
            ),
        ),
        "opened_count": Count(deliveries, filter=Q(deliveries__opened_at__isnull=False)),
    }


def campaigns_with_figures() -> QuerySet[Campaign]:
    """Every campaign, newest first, with its audience (its deliveries once its sending began),
    sent (users a device of theirs accepted it), failed (given up or no device) and opened counts."""
    return Campaign.objects.select_related("created_by").annotate(**_figures()).order_by("-created_at", "-pk")


def campaign_get(*, campaign_id: int) -> Campaign | None:
    return campaigns_with_figures().filter(pk=campaign_id).first()


def campaign_figures(*, campaign: Campaign) -> dict:
    """Audience, sent, failed, opened of an annotated campaign; the audience of one not begun yet
    is its segment's size now."""
    audience = campaign.audience_count
    if campaign.state == Campaign.State.SCHEDULED:
        audience = campaign_audience(segment=campaign.segment).count()
    return {
        "audience": audience,
        "sent": campaign.sent_count,
        "failed": campaign.failed_count,
        "opened": campaign.opened_count,
    }


# The last time zone to reach a date and time (UTC-12; Etc/GMT+12 is UTC-12 in POSIX's sign).
LAST_ZONE = zoneinfo.ZoneInfo("Etc/GMT+12")


def _local(at: datetime.datetime, name: str) -> datetime.datetime:
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return at.astimezone(zone)


def campaign_zones_due(*, campaign: Campaign, zones: list[str], at: datetime.datetime) -> list[str]:
    """Those of `zones` where the campaign is due at instant `at`: every zone once `send_at` has
    passed; for `local_time`, the zones whose clock reads `date`, at `local_time` or later (the
    wall-clock comparison of the daily push, verses.selectors.push_due_groups), never the day
    after (an announcement at 09:00 does not arrive at 01:00 the next night)."""
    if campaign.send_at is not None:
        return list(zones) if campaign.send_at <= at else []
    due = []
    for name in zones:
        local = _local(at, name)
        if local.date() == campaign.date and local.time().replace(microsecond=0) >= campaign.local_time:
            due.append(name)
    return due


def campaign_zones_expired(*, campaign: Campaign, zones: list[str], at: datetime.datetime) -> list[str]:
    """Those of `zones` whose clock has passed a `local_time` campaign's date: its users there can
    no longer be sent it on time."""
    if campaign.send_at is not None:
        return []
    return [name for name in zones if _local(at, name).date() > campaign.date]


def campaign_due_everywhere(*, campaign: Campaign, at: datetime.datetime) -> bool:
    """Whether the campaign's moment has come in every time zone at `at` (an audience, even an
    empty one, is then fixed and the campaign can end)."""
    if campaign.send_at is not None:
        return campaign.send_at <= at
    return datetime.datetime.combine(campaign.date, campaign.local_time, tzinfo=LAST_ZONE) <= at


def campaigns_in_progress() -> QuerySet[Campaign]:
    return Campaign.objects.filter(state__in=[Campaign.State.SCHEDULED, Campaign.State.SENDING]).order_by("pk")


def campaign_deliveries_open(*, campaign_id: int) -> QuerySet[CampaignDelivery]:
    return CampaignDelivery.objects.filter(campaign_id=campaign_id).filter(deliveries_open_q())
