import datetime
import re

import pytest
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from console.jobs import user_stats_update
from console.stats import daily_stats_update
from scheduler.tests.runs import daily_run
from users.models import DailyStats, Device, User, UserActivity
from users.selectors import users_active
from users.serializers import FID_PATTERN
from users.services import demo_users_seed, user_activity_record
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def test_daily_stats_for_the_day_that_just_ended():
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    joined_yesterday = UserFactory(date_joined=at(yesterday, 10))
    active_before = UserFactory(date_joined=at(yesterday, 0))
    joined_earlier = UserFactory(date_joined=at(yesterday - datetime.timedelta(days=5), 9))
    UserFactory(fcm_token="", date_joined=at(yesterday + datetime.timedelta(days=1), 0))
    for user, day in [
        (joined_yesterday, yesterday),
        (active_before, yesterday - datetime.timedelta(days=1)),
        (joined_earlier, yesterday),
    ]:
        user_activity_record(user_id=user.pk, day=day)
    daily_run(day=yesterday)

    report = user_stats_update()

    assert report == {
        "day": yesterday.isoformat(),
        "active_users": 3,
        "daily_active_users": 2,
        "weekly_active_users": 3,
        "monthly_active_users": 3,
        "new_users": 2,
        "verses_generated": 3,
        "fallbacks_used": 3,
        "pushes_sent": 0,
        "pushes_opened": 0,
    }
    UserFactory()
    daily_stats_update(day=yesterday)  # recomputed in place
    assert DailyStats.objects.count() == 1
    assert DailyStats.objects.get().active_users == 3  # the first computation's snapshot


def test_seed_demo_users_makes_realistic_users():
    assert demo_users_seed(count=500, seed=7, chunk_size=120) == 500
    assert User.objects.count() == 500
    # The seed fixes every draw: 10 inactive, 24 without a device (none both).
    assert users_active().count() == 466
    assert (User.objects.filter(is_active=False).count(), User.objects.filter(devices__isnull=True).count()) == (10, 24)
    # 1 to 3 devices each (1.3 on average), a mix of FIDs and registration tokens.
    assert dict(Device.objects.values_list("kind").annotate(n=Count("id"))) == {"fid": 254, "token": 367}
    per_user = User.objects.filter(devices__isnull=False).annotate(n=Count("devices")).values_list("n", flat=True)
    assert set(per_user) == {1, 2, 3}
    assert all(
        re.fullmatch(FID_PATTERN, fid) for fid in Device.objects.filter(kind="fid").values_list("identifier", flat=True)
    )
    assert (User.objects.filter(language="fr").count(), User.objects.filter(language="en").count()) == (399, 101)
    assert User.objects.values("mood").distinct().count() == 9
    assert not User.objects.first().has_usable_password()
    # 60 % of them have a day of activity in the last three days, never before they joined.
    assert UserActivity.objects.count() == 313
    assert set(UserActivity.objects.values_list("day", flat=True)) <= {
        timezone.localdate() - datetime.timedelta(days=n) for n in range(4)
    }
    assert not UserActivity.objects.filter(day__lt=TruncDate("user__date_joined")).exists()
