"""VERSES_REQUIRE_APPROVAL: the push of a pair's verse waits for an operator's approval
(verses/editorial); a held user is due again at every tick until it is given."""

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from verses.models import VerseOfTheDay
from verses.selectors import push_due_groups, users_push_due


def _held_verses(day: datetime.date) -> QuerySet[VerseOfTheDay]:
    return VerseOfTheDay.objects.filter(
        day=day, mood=OuterRef("mood"), language=OuterRef("language"), approved_at__isnull=True
    )


def users_push_unheld(users: QuerySet, *, day: datetime.date) -> QuerySet:
    """`users` but those whose pair's verse of `day` awaits approval (none when not required)."""
    if not settings.VERSES_REQUIRE_APPROVAL:
        return users
    return users.exclude(Exists(_held_verses(day)))


def pushes_held_count(*, at: datetime.datetime) -> int:
    """Users due at instant `at` whose push is held for approval (0 when not required)."""
    if not settings.VERSES_REQUIRE_APPROVAL:
        return 0
    return sum(
        users_push_due(day=group.day, zones=group.zones, local_time=group.local_time)
        .filter(Exists(_held_verses(group.day)))
        .count()
        for group in push_due_groups(at=at)
    )
