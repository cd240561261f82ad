"""The counts a run reports, each declared once by the domain module that produces it.

A job function returns its counts as a plain dict (stored in JobRun.counts); a `Count` names one
key of that dict, its Prometheus counter and its French label. A job's registry entry points at
its tuple of counts by dotted path (the engine imports no domain app); metrics, health, charts
and stats all read the same declarations.
"""

from dataclasses import dataclass
from functools import cache

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Count:
    name: str  # the key in JobRun.counts
    # Its own Prometheus counter, `<metric>_total` labelled by job_id (plus metric_label or `by`);
    # "" -> soulverse_job_run_count_total{job_id, name} like any undeclared integer count.
    metric: str = ""
    help: str = ""  # the counter's help text (the same for every count that shares a counter)
    label: str = ""  # shown to operators (French)
    metric_label: tuple[str, str] | None = None  # (label, value): several counts share one counter
    by: str = ""  # the count is a dict {key: n}; the counter's label that carries the key
    summary: bool = True  # in the commands' one-line summary, in declaration order
    # (singular, plural), lower case, for a sentence such as "7 envoyées, 2 échouées" (French)
    noun: tuple[str, str] = ()
    doc: str = ""  # its description in the API schema, where a response carries it as a field

    def __str__(self) -> str:
        return self.name


def counts_phrase(counts: dict, declared: tuple[Count, ...]) -> str:
    """`counts` as a French phrase: the first declared count always, the others when not zero."""
    parts = []
    for index, count in enumerate(declared):
        n = counts.get(count.name, 0)
        if n or index == 0:
            singular, plural = count.noun or (count.label.lower(), count.label.lower())
            parts.append(f"{n} {singular if abs(n) < 2 else plural}")
    return ", ".join(parts)


@cache
def job_counts(job_id: str) -> tuple[Count, ...]:
    """The counts a job's runs report, from its registry entry (none for an unknown job)."""
    from scheduler.registry import JOBS_BY_ID

    job = JOBS_BY_ID.get(job_id)
    return tuple(import_string(job.counts)) if job is not None and job.counts else ()


@cache
def counts_declared() -> dict[str, Count]:
    """Every registered job's counts by name, in registry then declaration order."""
    from scheduler.registry import JOBS

    declared: dict[str, Count] = {}
    for job in JOBS:
        for count in job_counts(job.id):
            if declared.setdefault(count.name, count) != count:
                raise ValueError(f"count {count.name!r} is declared twice, differently")
    return declared
