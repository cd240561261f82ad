"""Writes of the campaigns room: create, cancel, a test send to one account, an open recorded."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from users.models import Device, User
from verses.campaigns.delivery import campaign_push
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.push import fcm
from verses.push.delivery import device_pushes

logger = logging.getLogger(__name__)
TEST_TTL = datetime.timedelta(hours=1)  # a test message not delivered within the hour is not wanted


class CampaignNotCancellable(Exception):
    """The campaign is sent already (or cancelled)."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


class PushDisabled(Exception):
    """No FCM credentials (or PUSH_ENABLED=false): nothing can be sent."""


@transaction.atomic
def campaign_create(
    *,
    title: str,
    body: str,
    segment: dict,
    send_at: datetime.datetime | None = None,
    local_time: datetime.time | None = None,
    date: datetime.date | None = None,
    created_by: User | None = None,
) -> Campaign:
    """A scheduled campaign (its input validated by the caller: console's serializer); sent by
    the deliver_campaigns tick once due."""
    campaign = Campaign.objects.create(
        title=title,
        body=body,
        segment=segment,
        send_at=send_at,
        local_time=local_time,
        date=date,
        created_by=created_by,
    )
    logger.info(
        "event=campaign_created campaign=%s mode=%s", campaign.pk, "send_at" if send_at is not None else "local_time"
    )
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, by: User | None) -> Campaign:
    """Cancel a campaign not sent yet: nothing more of it goes out (a chunk already handing its
    users to FCM finishes). CampaignNotCancellable once it is sent or cancelled."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.state not in (Campaign.State.SCHEDULED, Campaign.State.SENDING):
        raise CampaignNotCancellable(locked.state)
    locked.state, locked.cancelled_by, locked.finished_at = Campaign.State.CANCELLED, by, timezone.now()
    locked.save(update_fields=["state", "cancelled_by", "finished_at", "updated_at"])
    logger.info("event=campaign_cancelled campaign=%s", locked.pk)
    return locked


def campaign_test_send(*, campaign: Campaign, user: User) -> list[dict]:
    """Send the campaign now to each device of `user` (not one of its deliveries, not counted);
    a device FCM calls dead is removed as the tick would. One {device, kind, outcome, error} each."""
    if fcm.fcm_app() is None:
        raise PushDisabled
    row = {"user_id": user.pk, "sent_devices": []}
    now = timezone.now()

    def push_for(row: dict, **device) -> fcm.Push:
        return campaign_push(campaign, language=user.language, expires_at=now + TEST_TTL, **device)

    pushes = device_pushes([row], push_for)[user.pk]
    dry_run = settings.FCM_DRY_RUN  # validate_only: nothing sent, nothing recorded
    results, _ = fcm.pushes_send(pushes, now=now, dry_run=dry_run) if pushes else ([], 0)
    dead = [r.key for r in results if r.outcome in (fcm.Outcome.INVALID_TOKEN, fcm.Outcome.FID_NOT_REGISTERED)]
    if dead and not dry_run:
        Device.objects.filter(id__in=dead).delete()
    kinds = {push.key: push.kind for push in pushes}
    logger.info(
        "event=campaign_test_sent campaign=%s user=%s devices=%s sent=%s",
        campaign.pk,
        user.short_id,
        len(results),
        sum(r.outcome == fcm.Outcome.SENT for r in results),
    )
    return [{"device": r.key, "kind": kinds[r.key], "outcome": r.outcome, "error": r.error} for r in results]


def campaign_open_record(*, campaign_id: int, user: User) -> CampaignDelivery:
    """Record that `user` opened the campaign's push; idempotent (the first open is kept).
    CampaignDelivery.DoesNotExist when it was not sent to the user."""
    delivery = CampaignDelivery.objects.get(campaign_id=campaign_id, user=user, sent_at__isnull=False)
    if delivery.opened_at is None:
        now = timezone.now()
        if CampaignDelivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(opened_at=now):
            logger.info("event=campaign_opened campaign=%s user=%s", campaign_id, user.short_id)
        delivery.refresh_from_db(fields=["opened_at"])
    return delivery
