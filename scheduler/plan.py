"""What a job function may return instead of its counts: a plan of chunk tasks."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FanOut:
    """Split the rest of a run into chunk tasks that any worker of any cluster may take.

    Each chunk calls `func(**kwargs)` (a dotted path), which returns its counts; it must be
    idempotent and short (seconds). The run closes when the last chunk is done, with `counts`
    (the job's own) plus the chunks' counts summed.
    """

    func: str
    chunks: list[dict]
    counts: dict = field(default_factory=dict)
