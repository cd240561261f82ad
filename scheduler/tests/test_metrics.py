"""/metrics: the token, run metrics after real runs (in-process and through a real qcluster),
scrape-time gauges, throttled requests, the alert rules (promtool) and a real Prometheus scrape."""

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.throttling import AnonRateThrottle

from console.apis import SchedulerViewSet
from scheduler.models import JobRun
from scheduler.tests.clusters import qcluster_running, wait_until
from soulverse.testing.gemini_stub import GeminiStub, good_answer
from users.tests.factories import UserFactory
from verses.models import DailyVerse

TOKEN = "metrics-test-token-0123456789"
DAILY = "daily_verses_generation"
ALERTS = Path(django_settings.BASE_DIR) / "deploy" / "prometheus" / "alerts.yml"


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted label pairs): value} of an exposition text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, metric: str, **labels) -> float:
    return found.get((metric, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_is_absent_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}", "Bearer", f"Basic {TOKEN}"])
def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"soulverse" not in response.content


def test_metrics_refuses_writes(client, metrics_token):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.django_db
def test_a_run_is_counted_once_with_its_report(client, metrics_token, staff_client, schedules, sync_tasks, settings):
    settings.GEMINI_API_KEY = ""  # curated verses: no AI call
    users = UserFactory.create_batch(7)
    before = scrape(client)

    response = staff_client.post("/api/v1/scheduler/trigger-daily-verses", {}, format="json")
    assert response.status_code == 200
    run = JobRun.objects.get()
    after = scrape(client)

    def delta(metric, **labels):
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert delta("soulverse_job_runs_total", job_id=DAILY, status="succeeded") == 1
    assert delta("soulverse_job_runs_total", job_id=DAILY, status="failed") == 0
    assert delta("soulverse_job_run_duration_seconds_count", job_id=DAILY, status="succeeded") == 1
    assert delta("soulverse_job_run_duration_seconds_sum", job_id=DAILY, status="succeeded") == pytest.approx(
        run.duration_seconds
    )
    assert delta("soulverse_users_processed_total", job_id=DAILY) == len(users)
    assert delta("soulverse_verses_created_total", job_id=DAILY) == len(users)
    assert delta("soulverse_ai_calls_total", job_id=DAILY) == 0
    assert delta("soulverse_job_run_count_total", job_id=DAILY, name="pairs") == run.counts["pairs"]
    assert delta("soulverse_job_run_count_total", job_id=DAILY, name="fallbacks") == run.counts["fallbacks"]
    # Scrape-time gauges, from the database.
    assert value(after, "soulverse_job_last_success_timestamp_seconds", job_id=DAILY) == pytest.approx(
        run.finished_at.timestamp()
    )
    assert ("soulverse_job_last_success_timestamp_seconds", (("job_id", "cache_cleanup"),)) not in after
    assert value(after, "soulverse_job_last_run_succeeded", job_id=DAILY) == 1
    assert value(after, "soulverse_job_last_run_count", job_id=DAILY, name="users_processed") == len(users)
    assert value(after, "soulverse_job_last_run_count", job_id=DAILY, name="verses_created") == len(users)
    assert value(after, "soulverse_clusters_alive") == 0
    assert value(after, "soulverse_scheduler_enabled") == 1

    # A rerun during the same day creates nothing, and says so.
    staff_client.post("/api/v1/scheduler/trigger-daily-verses", {}, format="json")
    again = scrape(client)
    assert (
        value(again, "soulverse_job_runs_total", job_id=DAILY, status="succeeded")
        - value(after, "soulverse_job_runs_total", job_id=DAILY, status="succeeded")
        == 1
    )
    assert value(again, "soulverse_verses_created_total", job_id=DAILY) == value(
        after, "soulverse_verses_created_total", job_id=DAILY
    )


@pytest.mark.django_db
def test_a_failed_run_is_counted_as_failed(client, metrics_token, monkeypatch):
    from scheduler.services import job_run_claim, job_run_execute

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("console.jobs.cache_cleanup", broken)
    before = scrape(client)
    run, _ = job_run_claim(job_id="cache_cleanup", trigger=JobRun.Trigger.COMMAND)
    with pytest.raises(RuntimeError):
        job_run_execute(run=run)
    after = scrape(client)
    assert (
        value(after, "soulverse_job_runs_total", job_id="cache_cleanup", status="failed")
        - value(before, "soulverse_job_runs_total", job_id="cache_cleanup", status="failed")
        == 1
    )
    assert value(after, "soulverse_job_runs_total", job_id="cache_cleanup", status="succeeded") == value(
        before, "soulverse_job_runs_total", job_id="cache_cleanup", status="succeeded"
    )
    assert value(after, "soulverse_job_last_run_succeeded", job_id="cache_cleanup") == 0
    assert ("soulverse_job_last_success_timestamp_seconds", (("job_id", "cache_cleanup"),)) not in after


@pytest.mark.django_db
def test_report_counts_are_exported_by_name(client, metrics_token):
    """Counts that other jobs add (push, AI tokens) reach their metrics; what is not an integer does not."""
    from scheduler.metrics import job_run_observe

    run = JobRun(
        job_id="push_delivery",
        trigger="schedule",
        status="succeeded",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        counts={
            "push_sent": 40,
            "push_invalid_tokens": 2,
            "push_failed": 1,
            "push_retried": 3,
            "ai_prompt_tokens": 900,
            "ai_output_tokens": 120,
            "ai_thinking_tokens": 33,
            "ai_failures": {"timeout": 2, "rate_limit": 1},
            "duration_seconds": 1.5,
            "flag": True,
            "label": "x",
            "new_count": 5,
        },
    )
    before = scrape(client)
    job_run_observe(run)
    after = scrape(client)
    expected = {
        ("soulverse_push_sent_total", (("job_id", "push_delivery"),)): 40,
        ("soulverse_push_invalid_tokens_total", (("job_id", "push_delivery"),)): 2,
        ("soulverse_push_failed_total", (("job_id", "push_delivery"),)): 1,
        ("soulverse_push_retried_total", (("job_id", "push_delivery"),)): 3,
        ("soulverse_ai_tokens_total", (("job_id", "push_delivery"), ("type", "prompt"))): 900,
        ("soulverse_ai_tokens_total", (("job_id", "push_delivery"), ("type", "output"))): 120,
        ("soulverse_ai_tokens_total", (("job_id", "push_delivery"), ("type", "thinking"))): 33,
        ("soulverse_ai_failures_total", (("job_id", "push_delivery"), ("kind", "timeout"))): 2,
        ("soulverse_ai_failures_total", (("job_id", "push_delivery"), ("kind", "rate_limit"))): 1,
        ("soulverse_job_run_count_total", (("job_id", "push_delivery"), ("name", "new_count"))): 5,
        ("soulverse_job_runs_total", (("job_id", "push_delivery"), ("status", "succeeded"))): 1,
    }
    changed = {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if after[key] != before.get(key, 0.0)
        and "push_delivery" in dict(key[1]).values()
        and not key[0].startswith("soulverse_job_run_duration")
    }
    assert changed == expected


@pytest.mark.django_db
def test_throttled_requests_are_counted(client, metrics_token, staff_client, monkeypatch):
    class OnePerMinute(AnonRateThrottle):
        rate = "1/min"

        def get_cache_key(self, request, view):
            return f"metrics-test-throttle:{self.get_ident(request)}"

    monkeypatch.setattr(SchedulerViewSet, "throttle_classes", [OnePerMinute])
    before = scrape(client)
    assert staff_client.get("/api/v1/scheduler/users-count").status_code == 200
    assert staff_client.get("/api/v1/scheduler/users-count").status_code == 429
    assert staff_client.get("/api/v1/scheduler/users-count").status_code == 429
    after = scrape(client)
    assert (
        value(after, "soulverse_http_throttled_requests_total", view="SchedulerViewSet")
        - value(before, "soulverse_http_throttled_requests_total", view="SchedulerViewSet")
        == 2
    )


@pytest.mark.django_db
def test_queued_tasks_are_read_at_scrape_time(client, metrics_token):
    from django_q.tasks import async_task

    before = value(scrape(client), "soulverse_queued_tasks")
    for _ in range(3):
        async_task("math.floor", 1.5)
    assert value(scrape(client), "soulverse_queued_tasks") - before == 3


def test_dead_processes_files_are_cleaned_and_live_ones_kept(tmp_path):
    from soulverse.metrics import metrics_dir_clean

    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        for name in (f"counter_{dead.pid}.db", f"histogram_{dead.pid}.db", f"counter_{live.pid}.db", "other.txt"):
            (tmp_path / name).write_bytes(b"x")
        assert metrics_dir_clean(path=str(tmp_path)) == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"counter_{live.pid}.db", "other.txt"])
    finally:
        live.kill()
        live.wait()


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_metrics_after_a_real_run_through_the_cluster(live_server, metrics_token, tmp_path, schedules):
    """The run happens in a qcluster worker process; the web process's /metrics sees it."""
    users = UserFactory.create_batch(12)
    url = f"{live_server.url}/metrics"

    def http_scrape() -> dict:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return samples(response.read().decode())

    with GeminiStub() as stub:
        stub.respond(good_answer)
        with qcluster_running(tmp_path, {"TEST_GEMINI_BASE_URL": stub.base_url}):
            # Read once the cluster is up: at its start it removes the files of dead processes (an
            # earlier test's cluster), which takes their runs out of the totals.
            before = alive = http_scrape()
            assert value(alive, "soulverse_clusters_alive") == 1
            from scheduler.services import job_run_enqueue

            job_run_enqueue(job_id=DAILY, trigger=JobRun.Trigger.MANUAL)
            wait_until(lambda: JobRun.objects.filter(status="succeeded").exists(), 90, "the run", tmp_path)
            run = JobRun.objects.get()
            wait_until(
                lambda: (
                    value(http_scrape(), "soulverse_job_runs_total", job_id=DAILY, status="succeeded")
                    > value(before, "soulverse_job_runs_total", job_id=DAILY, status="succeeded")
                ),
                10,
                "the run in /metrics",
            )
            after = http_scrape()
    assert DailyVerse.objects.count() == len(users)

    def delta(metric, **labels):
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert delta("soulverse_job_runs_total", job_id=DAILY, status="succeeded") == 1
    assert delta("soulverse_users_processed_total", job_id=DAILY) == len(users) == run.counts["users_processed"]
    assert delta("soulverse_verses_created_total", job_id=DAILY) == len(users)
    assert run.counts["ai_calls"] == stub.request_count > 0
    assert delta("soulverse_ai_calls_total", job_id=DAILY) == run.counts["ai_calls"]
    failures = run.counts.get("ai_failures", {})
    for kind, count in failures.items():
        assert delta("soulverse_ai_failures_total", job_id=DAILY, kind=kind) == count
    assert delta("soulverse_job_run_count_total", job_id=DAILY, name="chunks") == run.counts["chunks"]
    assert delta("soulverse_job_run_duration_seconds_count", job_id=DAILY, status="succeeded") == 1
    assert value(after, "soulverse_job_last_success_timestamp_seconds", job_id=DAILY) == pytest.approx(
        run.finished_at.timestamp()
    )


# --- Alert rules and a real Prometheus server ------------------------------------------------

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus not installed (apt-get install prometheus)"
)


@needs_promtool
def test_alert_rules_pass_promtool():
    result = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


@needs_promtool
def test_alert_rules_fire_as_intended(tmp_path):
    """promtool's rule unit tests (deploy/prometheus/alerts_test.yml): each alert fires on its
    condition and stays quiet otherwise."""
    tests = ALERTS.with_name("alerts_test.yml")
    result = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_prometheus
@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scrapes_the_service(live_server, metrics_token, tmp_path, sync_tasks, schedules, settings):
    settings.GEMINI_API_KEY = ""
    UserFactory.create_batch(4)
    from scheduler.services import job_run_enqueue

    job_run_enqueue(job_id=DAILY, trigger=JobRun.Trigger.MANUAL)  # runs here (sync): one succeeded run
    assert JobRun.objects.get().status == "succeeded"
    (tmp_path / "token").write_text(TOKEN)
    target = urllib.parse.urlsplit(live_server.url).netloc
    (tmp_path / "prometheus.yml").write_text(
        json.dumps(
            {  # YAML is a superset of JSON
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(ALERTS)],
                "scrape_configs": [
                    {
                        "job_name": "soulverse",
                        "metrics_path": "/metrics",
                        "static_configs": [{"targets": [target]}],
                        "authorization": {"type": "Bearer", "credentials_file": str(tmp_path / "token")},
                    }
                ],
            }
        )
    )
    port = _free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    query = urllib.parse.urlencode({"query": "soulverse_job_last_success_timestamp_seconds"})

    def answer():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as response:
                return json.load(response)["data"]["result"]
        except OSError:
            return []

    try:
        deadline = time.monotonic() + 60
        result = answer()
        while not result and time.monotonic() < deadline:
            time.sleep(0.5)
            result = answer()
        assert result, (tmp_path / "prometheus.log").read_text()[-3000:]
        assert [sample["metric"] for sample in result] == [
            {
                "__name__": "soulverse_job_last_success_timestamp_seconds",
                "instance": target,
                "job": "soulverse",
                "job_id": DAILY,
            }
        ]
        assert float(result[0]["value"][1]) == pytest.approx(JobRun.objects.get().finished_at.timestamp())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as response:
            targets = json.load(response)["data"]["activeTargets"]
        assert [(t["health"], t["labels"]["job"]) for t in targets] == [("up", "soulverse")]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5) as response:
            groups = json.load(response)["data"]["groups"]
        assert sorted(rule["name"] for group in groups for rule in group["rules"]) == sorted(ALERT_NAMES)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


ALERT_NAMES = [
    "SoulverseDailyRunFailed",
    "SoulverseDailyRunLate",
    "SoulverseNoClusterAlive",
    "SoulverseAIFallbackRateHigh",
    "SoulversePushFailuresHigh",
    "SoulverseTaskBacklog",
    "SoulversePushTickLate",
    "SoulverseJobOverdue",
    "SoulverseTargetDown",
    "SoulverseTargetAbsent",
]


def test_gunicorn_hooks_clean_at_start_and_mark_dead_workers(tmp_path, monkeypatch):
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    hooks = runpy.run_path(str(Path(django_settings.BASE_DIR) / "gunicorn.conf.py"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name in (f"counter_{dead.pid}.db", f"gauge_livesum_{dead.pid}.db"):
        (tmp_path / name).write_bytes(b"x")
    hooks["on_starting"](None)
    assert list(tmp_path.iterdir()) == []

    class Worker:
        pid = 4242

    for name in ("counter_4242.db", "gauge_livesum_4242.db", "gauge_all_4242.db"):
        (tmp_path / name).write_bytes(b"x")
    hooks["child_exit"](None, Worker())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db", "gauge_all_4242.db"]
