"""Clean-up of the push delivery records: unconfirmed sends closed, old records purged."""

import datetime

from django.utils import timezone

from soulverse.db import rows_delete_before
from verses.models import Delivery

DELIVERY_UNCONFIRMED_ERROR = "unconfirmed: handed to FCM, its verdict never recorded; FCM may have delivered it"


def deliveries_unconfirmed_close(*, before: datetime.date, days: int = 7) -> int:
    """Close the pushes of the `days` local dates before `before` still `sending` after their claim
    expired: handed to FCM, their verdict never recorded (a worker died, or a database outage
    outlasted the record's retries), and no tick took them over: their user was no longer due for
    that date (notifications turned off, token cleared, account deactivated, another zone or
    `notify_at`), or the date ended first. They become `failed`, saying FCM may have delivered them;
    ticks only send a zone's current local date, so no tick takes them up again. One index seek
    per day on (day, state); rows older than the window (the job stopped for longer) stay as they
    are until the history purge."""
    window = [before - datetime.timedelta(days=n) for n in range(1, days + 1)]
    now = timezone.now()
    return Delivery.objects.filter(day__in=window, state=Delivery.State.SENDING, claimed_until__lt=now).update(
        state=Delivery.State.FAILED, error=DELIVERY_UNCONFIRMED_ERROR, claim="", claimed_until=None, updated_at=now
    )


def deliveries_purge(*, before: datetime.date, batch_size: int = 10_000) -> int:
    """Delete the push delivery records of the days before `before`, `batch_size` rows per statement."""
    return rows_delete_before(Delivery, day=before, batch_size=batch_size)
