"""The scheduler's Prometheus metrics.

Run metrics come from one place, `job_run_observe`, called once when a run closes: its status,
duration and every integer count of its report. What the database knows (last success per
job, queued tasks, live clusters) is read when /metrics is scraped (`SchedulerCollector`).
"""

import logging

from django.db import DatabaseError
from django.db.models import Max
from django_q.brokers import get_broker
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from scheduler.counts import counts_declared
from scheduler.models import JobRun

logger = logging.getLogger(__name__)

RUNS = Counter("soulverse_job_runs_total", "Closed job runs by job and status.", ["job_id", "status"])
RUN_DURATION = Histogram(
    "soulverse_job_run_duration_seconds",
    "Duration of closed job runs.",
    ["job_id", "status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)


def _counters() -> tuple[dict[str, Counter], dict[str, Counter]]:
    """The counters of the counts the registered jobs declare (scheduler.counts): one per metric,
    by count name; the second dict holds those labelled by job_id alone."""
    by_metric: dict[str, Counter] = {}
    by_name: dict[str, Counter] = {}
    for count in counts_declared().values():
        if not count.metric:
            continue
        if count.metric not in by_metric:
            extra = count.by or (count.metric_label[0] if count.metric_label else "")
            by_metric[count.metric] = Counter(count.metric, count.help, ["job_id", extra] if extra else ["job_id"])
        by_name[count.name] = by_metric[count.metric]
    plain = {
        count.name: by_name[count.name]
        for count in counts_declared().values()
        if count.metric and not count.by and not count.metric_label
    }
    return by_name, plain


COUNTERS, JOB_COUNTERS = _counters()
# Any integer count of a run's report without a counter of its own (pairs, fallbacks, chunks, ...).
RUN_COUNTS = Counter(
    "soulverse_job_run_count_total", "Other integer counts of job run reports, by name.", ["job_id", "name"]
)


def _series_init() -> None:
    """Every registered job's counters exist from the start at 0, so that the first run is an
    increase (rate() and increase() see nothing when a series appears with its first value)."""
    from scheduler.registry import JOBS

    for job in JOBS:
        for status in (JobRun.Status.SUCCEEDED, JobRun.Status.FAILED):
            RUNS.labels(job.id, status)
        for counter in JOB_COUNTERS.values():
            counter.labels(job.id)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def job_run_observe(run: JobRun) -> None:
    """Count a closed run; call once per run, when it closes."""
    job = run.job_id
    RUNS.labels(job, run.status).inc()
    if run.duration_seconds is not None:
        RUN_DURATION.labels(job, run.status).observe(run.duration_seconds)
    declared = counts_declared()
    for name, value in (run.counts or {}).items():
        count = declared.get(name)
        if count is not None and count.by and isinstance(value, dict):
            for key, n in value.items():
                if _is_count(n):
                    COUNTERS[name].labels(job, key).inc(n)
        elif not _is_count(value):
            continue
        elif name in COUNTERS:
            labels = (job, count.metric_label[1]) if count.metric_label else (job,)
            COUNTERS[name].labels(*labels).inc(value)
        else:
            RUN_COUNTS.labels(job, name).inc(value)


def _flat_counts(counts: dict) -> dict[str, int]:
    """The integer counts, a dict count (declared with `by`) summed."""
    flat = {name: value for name, value in counts.items() if _is_count(value)}
    for count in counts_declared().values():
        if count.by and isinstance(counts.get(count.name), dict):
            flat[count.name] = sum(value for value in counts[count.name].values() if _is_count(value))
    return flat


class SchedulerCollector:
    """Gauges read at scrape time (from the database, so they survive restarts): each job's last
    success and last closed run, the scheduler switch, queued tasks, live clusters."""

    def collect(self):
        from scheduler.selectors import cluster_state

        try:
            yield from self._from_database()
        except DatabaseError:  # a scrape during an outage still gets the processes' metrics
            logger.warning("event=metrics_database_unavailable", exc_info=True)

        queued = GaugeMetricFamily("soulverse_queued_tasks", "Tasks waiting in the django-q2 broker's queue.")
        try:
            queued.add_metric([], get_broker().queue_size())
        except Exception:  # the broker (Redis, or the database) may be down: no sample
            logger.warning("event=metrics_queue_size_unavailable", exc_info=True)
        yield queued

        clusters = GaugeMetricFamily("soulverse_clusters_alive", "qcluster processes with a fresh heartbeat.")
        clusters.add_metric([], cluster_state()["count"])
        yield clusters

    def _from_database(self) -> list[GaugeMetricFamily]:
        from scheduler.registry import JOBS
        from scheduler.selectors import scheduler_enabled

        last_success = GaugeMetricFamily(
            "soulverse_job_last_success_timestamp_seconds",
            "When the job's last successful run finished (Unix time); absent before the first.",
            labels=["job_id"],
        )
        succeeded = GaugeMetricFamily(
            "soulverse_job_last_run_succeeded",
            "1 if the job's last closed run succeeded, 0 if it failed.",
            labels=["job_id"],
        )
        last_counts = GaugeMetricFamily(
            "soulverse_job_last_run_count",
            "Integer counts of the job's last closed run, by name.",
            labels=["job_id", "name"],
        )
        finished = dict(
            JobRun.objects.filter(status=JobRun.Status.SUCCEEDED)
            .values("job_id")
            .annotate(last=Max("finished_at"))
            .values_list("job_id", "last")
        )
        for job in JOBS:
            if finished.get(job.id):
                last_success.add_metric([job.id], finished[job.id].timestamp())
            last = (
                JobRun.objects.filter(job_id=job.id)
                .exclude(status=JobRun.Status.RUNNING)
                .order_by("-started_at")
                .only("status", "counts")
                .first()
            )
            if last is not None:
                succeeded.add_metric([job.id], int(last.status == JobRun.Status.SUCCEEDED))
                for name, count in sorted(_flat_counts(last.counts or {}).items()):
                    last_counts.add_metric([job.id, name], count)
        enabled = GaugeMetricFamily(
            "soulverse_scheduler_enabled", "1 when every job's schedule is active (not stopped)."
        )
        enabled.add_metric([], int(scheduler_enabled()))
        return [last_success, succeeded, last_counts, enabled]


_series_init()
