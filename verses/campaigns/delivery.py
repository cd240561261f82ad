"""The campaigns tick (job deliver_campaigns, every quarter hour like the daily push): each due
campaign's users are sent it through the daily verse's pipeline (verses/push/delivery.py): a
chunk claims its deliveries in a transaction, sends outside any, records FCM's verdicts in one
statement; exactly once per (campaign, user), a delivery claimed by a chunk whose worker died
resent by that chunk's re-run (the in-flight set only).

A campaign begins at the first tick where it is due somewhere: its audience is then fixed, one
pending delivery per matching user (INSERT … SELECT); each tick sends the deliveries of the users
whose zone has reached the campaign's moment. Once none is left to send, it is `sent`.
"""

import datetime
import logging
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from verses.campaigns.counts import CAMPAIGNS_DUE, CAMPAIGNS_SENT, CAMPAIGNS_STARTED, DELIVER_CAMPAIGNS_COUNTS
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.campaigns.selectors import (
    campaign_audience,
    campaign_deliveries_open,
    campaign_due_everywhere,
    campaign_figures,
    campaign_get,
    campaign_zones_due,
    campaign_zones_expired,
    campaigns_in_progress,
)
from verses.campaigns.signals import campaign_sent
from verses.generation.daily import keyset_chunk_bounds
from verses.push import fcm
from verses.push.counts import PUSH_CHUNK_COUNTS, PUSH_CHUNKS, PUSH_DUE
from verses.push.delivery import deliveries_claim, device_pushes, pushes_send_record

logger = logging.getLogger(__name__)

# A campaign's message is kept by FCM this long for a device that is offline.
CAMPAIGN_TTL = datetime.timedelta(hours=24)
_ROW_FIELDS = ("user_id", "user__language", "user__is_active", "user__notifications_enabled")


def campaign_audience_fix(*, campaign: Campaign) -> int:
    """Begin a scheduled campaign: a pending delivery for each user of its segment now (existing
    rows kept), the campaign `sending`. Returns the deliveries created; 0 if it was no longer
    scheduled (cancelled, or begun by another tick)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk, state=Campaign.State.SCHEDULED).first()
        if locked is None:
            return 0
        user_sql, user_params = campaign_audience(segment=locked.segment).values("id").query.sql_with_params()
        table = connection.ops.quote_name(CampaignDelivery._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (campaign_id, user_id, state, attempts, message_id, error, claim, "
                f"sent_devices, created_at, updated_at) SELECT %s, u.id, %s, 0, '', '', '', %s, %s, %s "
                f"FROM ({user_sql}) u WHERE 1=1 ON CONFLICT (campaign_id, user_id) DO NOTHING",
                [locked.pk, CampaignDelivery.State.PENDING, "[]", now, now, *user_params],
            )
            created = cursor.rowcount
        Campaign.objects.filter(pk=locked.pk).update(state=Campaign.State.SENDING, started_at=timezone.now())
    logger.info("event=campaign_started campaign=%s audience=%s", campaign.pk, created)
    return created


def campaign_tick_prepare(*, at: datetime.datetime, dry_run: bool = False) -> tuple[dict, list[dict]]:
    """Plan the tick at instant `at`: (its counts, the chunks' keyword arguments). A campaign's
    audience is fixed at its first due tick (not in a dry run: nothing is recorded)."""
    counts = Counter({count.name: 0 for count in DELIVER_CAMPAIGNS_COUNTS})
    chunks: list[dict] = []
    if fcm.fcm_app() is None:
        return {"at": at.isoformat(), "push_enabled": 0, **counts}, []
    counts[CAMPAIGNS_SENT.name] += campaigns_finish()
    for campaign in campaigns_in_progress():
        if campaign.state == Campaign.State.SCHEDULED:
            audience = campaign_audience(segment=campaign.segment)
            zones = list(audience.order_by().values_list("timezone", flat=True).distinct())
            # Due somewhere in its audience, or everywhere (an empty audience starts, then ends sent).
            due = campaign_zones_due(campaign=campaign, zones=zones, at=at) or campaign_due_everywhere(
                campaign=campaign, at=at
            )
            if not due or dry_run:
                continue
            campaign_audience_fix(campaign=campaign)
            counts[CAMPAIGNS_STARTED.name] += 1
        deliveries = campaign_deliveries_open(campaign_id=campaign.pk)
        zones = list(deliveries.order_by().values_list("user__timezone", flat=True).distinct())
        if not dry_run:
            campaign_deliveries_expire(campaign=campaign, zones=zones, at=at)
        due_zones = campaign_zones_due(campaign=campaign, zones=zones, at=at)
        if not due_zones:
            continue
        counts[CAMPAIGNS_DUE.name] += 1
        due = deliveries.filter(user__timezone__in=due_zones)
        for after, upto in keyset_chunk_bounds(due, chunk_size=settings.PUSH_CHUNK_SIZE):
            chunks.append(
                {
                    "at": at.isoformat(),
                    "campaign_id": campaign.pk,
                    "zones": due_zones,
                    "after": after,
                    "upto": upto,
                    "dry_run": dry_run,
                }
            )
    counts[PUSH_CHUNKS.name] = len(chunks)
    logger.info(
        "event=campaign_tick_planned at=%s campaigns=%s chunks=%s dry_run=%s",
        at.isoformat(),
        counts[CAMPAIGNS_DUE.name],
        len(chunks),
        dry_run,
    )
    return {"at": at.isoformat(), "push_enabled": 1, **counts}, chunks


def campaign_deliveries_expire(*, campaign: Campaign, zones: list[str], at: datetime.datetime) -> int:
    """Close as failed the deliveries not sent in the zones whose clock has passed a `local_time`
    campaign's date (not those a live chunk holds): the campaign can then end. Returns how many."""
    expired = campaign_zones_expired(campaign=campaign, zones=zones, at=at)
    if not expired:
        return 0
    now = timezone.now()
    closable = Q(state__in=[CampaignDelivery.State.PENDING, CampaignDelivery.State.FAILED]) | Q(
        state=CampaignDelivery.State.SENDING, claimed_until__lt=now
    )
    closed = (
        CampaignDelivery.objects.filter(campaign_id=campaign.pk, user__timezone__in=expired, sent_at__isnull=True)
        .filter(closable)
        .update(
            state=CampaignDelivery.State.FAILED,
            attempts=settings.PUSH_MAX_TICKS,
            error="expired: the local date has passed",
            claim="",
            claimed_until=None,
            updated_at=now,
        )
    )
    if closed:
        logger.info("event=campaign_deliveries_expired campaign=%s deliveries=%s", campaign.pk, closed)
    return closed


def campaign_push(campaign: Campaign, *, language: str, expires_at: datetime.datetime, **device) -> fcm.Push:
    """The campaign's message to one device (`device`: key, kind, target, confirmed); one
    `expires_at` for a whole chunk, so that its message body is built once (fcm.PushBodies)."""
    return fcm.Push(
        **device,
        language=language,
        day=timezone.localdate(),
        reference="",
        text="",
        verse_id=0,
        expires_at=expires_at,
        label=campaign.label,
        title=campaign.title,
        body=campaign.body,
    )


def campaign_chunk_deliver(
    *,
    chunk_id: int,
    at: datetime.datetime,
    campaign_id: int,
    zones: list[str],
    after: int | None,
    upto: int | None,
    dry_run: bool = False,
) -> dict:
    """Send the campaign to the users of its open deliveries with after < delivery id <= upto in `zones`, to
    each of their devices: claim, send, record (verses/push/delivery.py); idempotent. A user no
    longer active or with notifications off is not sent it (recorded as without device)."""
    counts = Counter({count.name: 0 for count in PUSH_CHUNK_COUNTS})
    dry_run = dry_run or settings.FCM_DRY_RUN
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.state != Campaign.State.SENDING:
        return dict(counts)  # cancelled (or deleted) since the tick planned it
    claim = f"chunk:{chunk_id}"
    deliveries = CampaignDelivery.objects.filter(campaign_id=campaign_id)
    due = campaign_deliveries_open(campaign_id=campaign_id).filter(user__timezone__in=zones)
    if after is not None:
        due = due.filter(id__gt=after)
    if upto is not None:
        due = due.filter(id__lte=upto)
    user_ids = list(due.values_list("user_id", flat=True))
    if not user_ids:
        rows = []
    elif dry_run:  # validate_only: nothing is claimed nor recorded
        rows = list(deliveries.filter(user_id__in=user_ids).values("id", "attempts", "sent_devices", *_ROW_FIELDS))
    else:
        with transaction.atomic():
            # A cancel commits under this row's lock: once it has, no chunk claims anything more.
            if Campaign.objects.select_for_update().filter(pk=campaign_id, state=Campaign.State.SENDING).exists():
                rows = deliveries_claim(deliveries=deliveries, user_ids=user_ids, claim=claim, fields=_ROW_FIELDS)
            else:
                rows = []
    for row in rows:
        row["day"] = at.date()  # for the push pipeline's log lines
    counts[PUSH_DUE.name] = len(rows)
    reachable = [row for row in rows if row["user__is_active"] and row["user__notifications_enabled"]]
    pushes_by_user = {row["user_id"]: [] for row in rows}
    expires_at = timezone.now() + CAMPAIGN_TTL
    pushes_by_user.update(
        device_pushes(
            reachable,
            lambda row, **device: campaign_push(
                campaign, language=row["user__language"], expires_at=expires_at, **device
            ),
        )
    )
    pushes_send_record(
        rows=rows,
        pushes_by_user=pushes_by_user,
        claim=claim,
        counts=counts,
        at=at,
        dry_run=dry_run,
        model=CampaignDelivery,
    )
    logger.info(
        "event=campaign_chunk campaign=%s due=%s sent=%s devices_sent=%s failed=%s dry_run=%s",
        campaign_id,
        counts[PUSH_DUE.name],
        counts["push_sent"],
        counts["push_devices_sent"],
        counts["push_failed"],
        dry_run,
    )
    return dict(counts)


def campaigns_finish() -> int:
    """Mark `sent` the campaigns being sent with no delivery left to send, each announced once
    (`campaign_sent`). Returns how many."""
    finished = 0
    for campaign in Campaign.objects.filter(state=Campaign.State.SENDING).order_by("pk"):
        if campaign_deliveries_open(campaign_id=campaign.pk).exists():
            continue
        with transaction.atomic():
            if not Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.SENDING).update(
                state=Campaign.State.SENT, finished_at=timezone.now()
            ):
                continue
            done = campaign_get(campaign_id=campaign.pk)
            figures = campaign_figures(campaign=done)
            campaign_sent.send(sender=Campaign, campaign=done, figures=figures)
        finished += 1
        logger.info(
            "event=campaign_sent campaign=%s audience=%s sent=%s failed=%s",
            campaign.pk,
            figures["audience"],
            figures["sent"],
            figures["failed"],
        )
    return finished
