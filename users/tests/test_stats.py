import datetime

import pytest
from django.utils import timezone

from scheduler.tests.runs import daily_run
from users.jobs import user_stats_update
from users.models import DailyStats, User
from users.selectors import users_active
from users.services import daily_stats_update, demo_users_seed
from users.tests.factories import UserFactory


pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def test_daily_stats_for_the_day_that_just_ended():
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    UserFactory(date_joined=at(yesterday, 10), last_active_at=at(yesterday, 23))
    UserFactory(date_joined=at(yesterday, 0), last_active_at=at(yesterday - datetime.timedelta(days=1), 23))
    UserFactory(date_joined=at(yesterday - datetime.timedelta(days=5), 9), last_active_at=at(yesterday, 0))
    UserFactory(fcm_token="", date_joined=at(yesterday + datetime.timedelta(days=1), 0))
    daily_run(day=yesterday)

    report = user_stats_update()

    assert report == {"day": yesterday.isoformat(), "active_users": 3, "daily_active_users": 2,
                      "new_users": 2, "verses_generated": 3, "fallbacks_used": 3}
    UserFactory()
    daily_stats_update(day=yesterday)  # recomputed in place
    assert DailyStats.objects.count() == 1
    assert DailyStats.objects.get().active_users == 4


def test_seed_demo_users_makes_realistic_users():
    assert demo_users_seed(count=500, seed=7, chunk_size=120) == 500
    assert User.objects.count() == 500
    # The seed fixes every draw: 12 inactive, 18 without a token (one both).
    assert users_active().count() == 471
    assert (User.objects.filter(is_active=False).count(), User.objects.filter(fcm_token="").count()) == (12, 18)
    assert (User.objects.filter(language="fr").count(), User.objects.filter(language="en").count()) == (397, 103)
    assert User.objects.values("mood").distinct().count() == 9
    assert not User.objects.first().has_usable_password()
