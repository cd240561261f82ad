"""Job functions of the verses app, run by scheduler (see scheduler/registry.py)."""

from verses.services import daily_verses_generate


def daily_verses_generation(progress=None) -> dict:
    return daily_verses_generate(progress=progress)
