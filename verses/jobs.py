"""Job functions of the verses app, run by scheduler (see scheduler/registry.py)."""

import datetime
import uuid

from django.utils import timezone

from scheduler.plan import FanOut, own_transactions
from verses.campaigns.delivery import campaign_chunk_deliver, campaign_tick_prepare, campaigns_finish
from verses.editorial.services import review_day_prepare
from verses.generation.daily import daily_verses_assign_chunk, daily_verses_prepare
from verses.generation.on_demand import verse_of_the_day_make as verse_of_the_day_make_service
from verses.history import daily_verses_table_analyze
from verses.push.delivery import push_chunk_deliver, push_chunk_prepare, push_tick_prepare


def daily_verses_generation(day: str | None = None) -> FanOut:
    """Make the pairs' verses, then give the users theirs in chunk tasks (`day`: ISO date, default today)."""
    counts, chunks = daily_verses_prepare(day=datetime.date.fromisoformat(day) if day else timezone.localdate())
    return FanOut(func="verses.jobs.daily_verses_chunk", chunks=chunks, counts=counts)


def daily_verses_review_prepare(day: str | None = None) -> dict:
    """The verse of every pair of `day` (ISO date, default tomorrow), made the evening before for
    the operators' review."""
    target = datetime.date.fromisoformat(day) if day else timezone.localdate() + datetime.timedelta(days=1)
    return review_day_prepare(day=target)


def daily_verses_chunk(*, day: str, after: str | None, upto: str | None) -> dict:
    """One chunk of the daily run: users with after < id <= upto get their pair's verse."""
    return daily_verses_assign_chunk(
        day=datetime.date.fromisoformat(day),
        after=uuid.UUID(after) if after else None,
        upto=uuid.UUID(upto) if upto else None,
    )


def daily_verses_finished(counts: dict) -> None:
    """After a run: fresh planner statistics for the day just written."""
    daily_verses_table_analyze()


def verse_of_the_day_make(*, day: str, mood: str, language: str) -> dict:
    """The on-demand task of one (day, mood, language) pair: its verse, the AI asked once
    (enqueued by verses.generation.on_demand.daily_verse_for_user, never run in a request)."""
    return verse_of_the_day_make_service(day=datetime.date.fromisoformat(day), mood=mood, language=language)


def deliver_verses(at: str | None = None, dry_run: bool = False) -> FanOut:
    """One push tick: the users whose local time has reached their `notify_at` are sent the
    verse of their local date, in chunk tasks (`at`: ISO instant, default now)."""
    instant = datetime.datetime.fromisoformat(at) if at else timezone.now()
    counts, chunks = push_tick_prepare(at=instant, dry_run=dry_run)
    return FanOut(func="verses.jobs.deliver_verses_chunk", chunks=chunks, counts=counts)


@own_transactions  # a push is claimed, sent, then recorded: each step committed (verses/push/delivery.py)
def deliver_verses_chunk(
    *,
    chunk_id: int,
    at: str,
    day: str,
    zones: list[str],
    local_time: str,
    after: str | None,
    upto: str | None,
    dry_run: bool = False,
    prepare: bool = False,
    since: str | None = None,
) -> dict:
    """One chunk of a tick: at most one FCM batch of users sent their verse, or (`prepare`) users
    of the next slot prepared for it."""
    if prepare:
        return push_chunk_prepare(
            day=datetime.date.fromisoformat(day),
            zones=zones,
            local_time=datetime.time.fromisoformat(local_time),
            since=datetime.time.fromisoformat(since) if since else None,
            after=uuid.UUID(after) if after else None,
            upto=uuid.UUID(upto) if upto else None,
        )
    return push_chunk_deliver(
        chunk_id=chunk_id,
        at=datetime.datetime.fromisoformat(at),
        day=datetime.date.fromisoformat(day),
        zones=zones,
        local_time=datetime.time.fromisoformat(local_time),
        after=uuid.UUID(after) if after else None,
        upto=uuid.UUID(upto) if upto else None,
        dry_run=dry_run,
    )


def deliver_campaigns(at: str | None = None, dry_run: bool = False) -> FanOut:
    """One campaigns tick: the due campaigns' users (an instant passed, or their local clock at the
    campaign's time) are sent it, in chunk tasks (`at`: ISO instant, default now)."""
    instant = datetime.datetime.fromisoformat(at) if at else timezone.now()
    counts, chunks = campaign_tick_prepare(at=instant, dry_run=dry_run)
    return FanOut(func="verses.jobs.deliver_campaigns_chunk", chunks=chunks, counts=counts)


@own_transactions  # claimed, sent, then recorded, as the daily push (verses/push/delivery.py)
def deliver_campaigns_chunk(
    *,
    chunk_id: int,
    at: str,
    campaign_id: int,
    zones: list[str],
    after: int | None,
    upto: int | None,
    dry_run: bool = False,
) -> dict:
    """One chunk of a campaigns tick (at most one FCM batch of users)."""
    return campaign_chunk_deliver(
        chunk_id=chunk_id,
        at=datetime.datetime.fromisoformat(at),
        campaign_id=campaign_id,
        zones=zones,
        after=after,
        upto=upto,
        dry_run=dry_run,
    )


def deliver_campaigns_finished(counts: dict) -> None:
    """After a tick: the campaigns with nothing left to send are sent (announced `campaign.sent`)."""
    campaigns_finish()
