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


def own_transactions(func):
    """Mark a chunk function that commits its own steps, for work that must be recorded as
    begun before it reaches the outside world (a push is claimed, then sent, then its verdict
    recorded). The scheduler then calls it outside the chunk's transaction, with `chunk_id`; the
    chunk's lease (scheduler.watchdog) keeps a second worker out while the holder lives, and a
    re-run of the chunk after its holder died must resume what the holder had claimed."""
    func.own_transactions = True
    return func
