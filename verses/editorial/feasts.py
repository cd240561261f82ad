"""The feast calendar: movable feasts from Easter (the Gregorian computus, python-dateutil's
`dateutil.easter`) and fixed ones, each with a default reference and reflection per language
(data/feasts.tsv)."""

import csv
import datetime
import functools
from dataclasses import dataclass
from pathlib import Path

from dateutil.easter import EASTER_WESTERN, easter

DATA = Path(__file__).parent / "data" / "feasts.tsv"


@dataclass(frozen=True)
class Feast:
    key: str
    rule: str  # "easter+N" / "easter-N" (days from Easter Sunday) or "MM-DD"
    names: dict[str, str]
    references: dict[str, str]  # the default reference per language
    reflections: dict[str, str]  # the default reflection per language

    def date_in(self, year: int) -> datetime.date:
        if self.rule.startswith("easter"):
            return easter(year, EASTER_WESTERN) + datetime.timedelta(days=int(self.rule[len("easter") :]))
        month, day = (int(part) for part in self.rule.split("-"))
        return datetime.date(year, month, day)


@functools.cache
def feasts() -> tuple[Feast, ...]:
    with DATA.open(encoding="utf-8", newline="") as data:
        return tuple(
            Feast(
                key=row["key"],
                rule=row["rule"],
                names={"fr": row["name_fr"], "en": row["name_en"]},
                references={"fr": row["reference_fr"], "en": row["reference_en"]},
                reflections={"fr": row["reflection_fr"], "en": row["reflection_en"]},
            )
            for row in csv.DictReader(data, delimiter="\t")
        )


FEASTS_BY_KEY = {feast.key: feast for feast in feasts()}


def feasts_between(*, start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, Feast]]:
    """The feasts falling in [start, end], by date."""
    found = [
        (date, feast)
        for year in range(start.year, end.year + 1)
        for feast in feasts()
        if start <= (date := feast.date_in(year)) <= end
    ]
    return sorted(found, key=lambda item: item[0])


def feast_on(day: datetime.date) -> Feast | None:
    return next((feast for date, feast in feasts_between(start=day, end=day)), None)
