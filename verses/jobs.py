"""Job functions of the verses app, run by scheduler (see scheduler/registry.py)."""

import datetime
import uuid

from verses.services import daily_verses_assign_chunk, daily_verses_generate, daily_verses_table_analyze


def daily_verses_generation(context) -> dict:
    """Make the pairs' verses, then fan the users out over chunk tasks."""
    return daily_verses_generate(fan_out=context.fan_out)


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
