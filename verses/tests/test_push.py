"""The push tick against the local FCM stub, through firebase-admin's own code: the message,
FCM's verdicts, retries, giving up, dry runs, and the command."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from scheduler.models import JobRun
from soulverse.tests.settings_process import django_setup_run
from users.models import Device
from users.selectors import users_active
from users.services import device_register
from users.tests.factories import UserFactory
from verses.models import DailyVerse, Delivery

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=UTC)  # 06:00 in Lomé (UTC+0)


def deliveries():
    return sorted((d.user.email, d.state, d.attempts, d.error) for d in Delivery.objects.select_related("user"))


def test_the_message_is_localized_collapses_and_expires_with_the_local_day(push_tick, fcm_stub):
    marie = UserFactory(email="marie@example.org", language="fr", mood="sad")
    john = UserFactory(email="john@example.org", language="en", mood="sad")
    # Tomorrow 06:00 in Lomé (UTC+0): the message lives until the end of that local day, 18 h.
    at = (timezone.now() + datetime.timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    counts = push_tick(at)
    assert (counts["push_due"], counts["push_sent"], counts["push_failed"]) == (2, 2, 0)
    messages = dict(fcm_stub.delivered)
    day = at.date().isoformat()
    for user, title in ((marie, "Ton verset du jour"), (john, "Your verse of the day")):
        daily = DailyVerse.objects.select_related("verse").get(user=user, day=at.date())
        message = messages[user.fcm_token]
        words = daily.verse.text.split()
        assert message["notification"] == {
            "title": title,
            "body": f"{daily.verse.reference} — {' '.join(words[:12])}" + ("…" if len(words) > 12 else ""),
        }
        assert message["data"] == {"day": day, "reference": daily.verse.reference, "verse_id": str(daily.verse_id)}
        assert message["android"] == {"collapse_key": f"verse-{day}", "priority": "normal", "ttl": "64800s"}
        end_of_day = datetime.datetime.combine(at.date() + datetime.timedelta(days=1), datetime.time.min, tzinfo=UTC)
        assert message["apns"] == {
            "headers": {
                "apns-collapse-id": f"verse-{day}",
                "apns-expiration": str(int(end_of_day.timestamp())),
                "apns-priority": "5",
            },
            "payload": {"aps": {"thread-id": "daily-verse"}},
        }
    assert fcm_stub.token_requests == 1  # one OAuth token for the whole tick, from the file's token_uri


@pytest.mark.parametrize("prefix", ["unregistered", "mismatch", "invalid"])
def test_a_dead_token_is_cleared_and_counted_and_the_history_stays(push_tick, fcm_stub, prefix):
    dead = UserFactory(email="dead@example.org", fcm_token=f"{prefix}-token:APA91bxyz")
    alive = UserFactory(email="alive@example.org")
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_invalid_tokens"], counts["push_failed"]) == (1, 1, 0)
    assert list(Device.objects.filter(user=dead)) == []
    assert list(users_active()) == [alive]
    assert list(Device.objects.filter(user=alive).values_list("identifier", flat=True)) == [alive.fcm_token]
    code = {
        "unregistered": "UNREGISTERED (HTTP 404)",
        "mismatch": "SENDER_ID_MISMATCH (HTTP 403)",
        "invalid": "INVALID_ARGUMENT (HTTP 400)",
    }[prefix]
    assert deliveries() == [("alive@example.org", "sent", 1, ""), ("dead@example.org", "invalid_token", 1, code)]
    assert DailyVerse.objects.filter(user=dead).count() == 1  # their verse stays
    # The next tick does not try them again (no token), and sends nobody twice.
    assert push_tick(AT + datetime.timedelta(minutes=15))["push_due"] == 0
    assert len(fcm_stub.delivered) == 1


def test_a_user_who_registers_a_new_token_the_same_day_is_sent_then(push_tick, fcm_stub):
    user = UserFactory(fcm_token="unregistered-old")
    push_tick(AT)
    device_register(user=user, kind="token", identifier="new-token:APA91bnew")
    counts = push_tick(AT + datetime.timedelta(minutes=15))
    assert counts["push_sent"] == 1
    assert [token for token, _ in fcm_stub.delivered] == ["new-token:APA91bnew"]
    assert Delivery.objects.get(user=user).state == "sent"


def test_quota_exceeded_is_retried_within_the_tick(push_tick, fcm_stub):
    users = [UserFactory() for _ in range(3)]
    fcm_stub.fail_next(2, status=429)  # no Retry-After: firebase-admin leaves the retry to us
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_retried"], counts["push_failed"]) == (3, 2, 0)
    assert fcm_stub.errors == {"QUOTA_EXCEEDED": 2}
    assert fcm_stub.delivered_tokens() == {user.fcm_token: 1 for user in users}


def test_retry_after_is_honoured(push_tick, fcm_stub, settings):
    UserFactory()
    settings.FCM_BACKOFF_SECONDS = 0.0
    fcm_stub.fail_next(1, status=429, retry_after=1)  # firebase-admin's own retry honours it too
    started = timezone.now()
    counts = push_tick(AT)
    assert counts["push_sent"] == 1
    assert fcm_stub.received_at[0] - started.timestamp() >= 1.0


def test_an_outage_longer_than_the_tick_leaves_the_rest_to_the_next_tick(push_tick, fcm_stub, settings):
    users = [UserFactory(email=f"u{i}@example.org") for i in range(3)]
    settings.FCM_RETRIES = 1
    fcm_stub.outage(status=503, seconds=3600)
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_failed"], counts["push_retried"]) == (0, 3, 3)
    assert deliveries() == [(u.email, "failed", 1, "UNAVAILABLE (HTTP 503)") for u in users]
    fcm_stub.reset()  # FCM is back
    counts = push_tick(AT + datetime.timedelta(minutes=15))
    assert (counts["push_due"], counts["push_sent"], counts["push_failed"]) == (3, 3, 0)
    assert deliveries() == [(u.email, "sent", 2, "") for u in users]
    assert fcm_stub.delivered_tokens() == {user.fcm_token: 1 for user in users}


def test_internal_errors_are_retried(push_tick, fcm_stub):
    UserFactory()
    fcm_stub.fail_next(6, status=500)  # firebase-admin retries 500 four times, then we do
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_failed"]) == (1, 0)
    assert fcm_stub.errors == {"INTERNAL": 6}


def test_a_user_is_given_up_on_for_the_day_after_push_max_ticks(push_tick, fcm_stub, settings):
    user = UserFactory(email="u@example.org")
    settings.PUSH_MAX_TICKS, settings.FCM_RETRIES = 2, 0
    fcm_stub.outage(status=429, seconds=3600)  # no Retry-After: firebase-admin does not retry it
    assert push_tick(AT)["push_gave_up"] == 0
    assert push_tick(AT + datetime.timedelta(minutes=15))["push_gave_up"] == 1
    requests = fcm_stub.requests
    counts = push_tick(AT + datetime.timedelta(minutes=30))
    assert (counts["push_due"], fcm_stub.requests) == (0, requests)
    assert deliveries() == [("u@example.org", "failed", 2, "QUOTA_EXCEEDED (HTTP 429)")]
    # The next local day is a new day.
    fcm_stub.reset()
    assert push_tick(AT + datetime.timedelta(days=1))["push_sent"] == 1
    assert fcm_stub.delivered_tokens() == {user.fcm_token: 1}


def test_dry_run_validates_only_and_records_nothing(push_tick, fcm_stub):
    UserFactory()
    UserFactory(fcm_token="unregistered-1")
    counts = push_tick(AT, dry_run=True)
    # Validated, not sent: the metrics and the dashboard count no push for it.
    assert (counts["push_validated"], counts["push_sent"], counts["push_invalid_tokens"]) == (1, 0, 1)
    assert (len(fcm_stub.validated), fcm_stub.delivered) == (1, [])
    assert Delivery.objects.count() == 0
    assert Device.objects.filter(identifier="unregistered-1").count() == 1


def test_fcm_dry_run_setting_validates_only(push_tick, fcm_stub, settings):
    UserFactory()
    settings.FCM_DRY_RUN = True
    counts = push_tick(AT)
    assert (counts["push_validated"], counts["push_sent"]) == (1, 0)
    assert (len(fcm_stub.validated), fcm_stub.delivered, Delivery.objects.count()) == (1, [], 0)


def test_the_rate_limit_is_never_exceeded(push_tick, fcm_stub, settings):
    settings.PUSH_RATE_PER_MINUTE = 120  # 2 a second
    for _ in range(5):
        UserFactory()
    assert push_tick(AT)["push_sent"] == 5
    seconds = [int(t) for t in fcm_stub.received_at]
    assert max(seconds.count(second) for second in set(seconds)) <= 2
    assert len(set(seconds)) >= 3


def test_the_command_is_idempotent_and_prints_its_counts(push_tick, fcm_stub):
    UserFactory()
    out = io.StringIO()
    call_command("deliver_verses", "--at", "2026-01-10T06:00:00Z", stdout=out)
    assert "push_due=1 push_sent=1 push_invalid_tokens=0 push_failed=0 push_retried=0" in out.getvalue()
    call_command("deliver_verses", "--at", "2026-01-10T06:00:00Z", stdout=out)
    assert len(fcm_stub.delivered) == 1
    runs = JobRun.objects.filter(job_id="deliver_verses")
    assert [(run.trigger, run.status, run.params, run.counts["push_sent"]) for run in runs.order_by("started_at")] == [
        ("command", "succeeded", {"at": "2026-01-10T06:00:00+00:00"}, 1),
        ("command", "succeeded", {"at": "2026-01-10T06:00:00+00:00"}, 0),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "tomorrow"], "--at: not an ISO-8601 instant: 'tomorrow'"),
        (["--at", "2026-01-10T06:00:00"], "--at: the instant needs an offset (Z or +HH:MM): '2026-01-10T06:00:00'"),
    ],
)
def test_the_command_refuses_a_bad_instant_and_changes_nothing(fcm_stub, args, message):
    UserFactory()
    with pytest.raises(CommandError) as error:
        call_command("deliver_verses", *args)
    assert str(error.value) == message
    assert (JobRun.objects.count(), Delivery.objects.count(), fcm_stub.requests) == (0, 0, 0)


def test_without_credentials_push_is_disabled_and_the_tick_does_nothing(settings, no_ai):
    from verses.jobs import deliver_verses
    from verses.push.fcm import fcm_reset

    settings.FCM_CREDENTIALS_FILE = ""
    fcm_reset()
    UserFactory()
    with pytest.raises(CommandError) as error:
        call_command("deliver_verses")
    assert str(error.value) == "Push is disabled: set FCM_CREDENTIALS_FILE (or application-default credentials)."
    plan = deliver_verses(at="2026-01-10T06:00:00+00:00")
    assert (plan.chunks, plan.counts["push_enabled"]) == ([], 0)
    assert (JobRun.objects.count(), Delivery.objects.count(), DailyVerse.objects.count()) == (0, 0, 0)


def test_fcm_base_url_accepts_loopback_only():
    result = django_setup_run(FCM_BASE_URL="https://fcm.example.com")
    assert result.returncode != 0
    assert "FCM_BASE_URL accepts loopback URLs only" in result.stderr
    assert django_setup_run(FCM_BASE_URL="http://127.0.0.1:9").returncode == 0


@pytest.mark.parametrize(("size", "accepted"), [("0", False), ("1", True), ("5000", True), ("5001", False)])
def test_push_chunk_size_is_bounded_at_start(size, accepted):
    result = django_setup_run(PUSH_CHUNK_SIZE=size)
    assert (result.returncode == 0) is accepted
    assert ("PUSH_CHUNK_SIZE must be between 1 and 5000." in result.stderr) is not accepted


def test_health_and_status_show_push_and_the_last_tick(push_tick, fcm_stub, viewer_client, schedules):
    UserFactory()
    UserFactory(fcm_token="unregistered-1")
    push_tick(AT)
    run = JobRun.objects.get(job_id="deliver_verses")
    push = viewer_client.get("/api/v1/scheduler/health").json()["checks"]["push"]
    assert push == {
        "status": "enabled",
        "dry_run": False,
        "last_tick": {
            "run_id": str(run.pk),
            "status": "succeeded",
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat(),
            "push_due": 2,
            "push_sent": 1,
            "push_devices_sent": 1,
            "push_invalid_tokens": 1,
            "push_fid_not_registered": 0,
            "push_failed": 0,
            "push_retried": 0,
        },
    }
    assert viewer_client.get("/api/v1/scheduler/status").json()["push"] == {
        "enabled": True,
        "status": "enabled",
        "dry_run": False,
    }


def test_the_admin_lists_deliveries_with_filters(push_tick, fcm_stub, admin_client):
    UserFactory(email="sent@example.org")
    UserFactory(email="dead@example.org", fcm_token="unregistered-1", timezone="Africa/Lome")
    push_tick(AT)
    url = "/admin/verses/delivery/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert sorted(str(d.user) for d in response.context["cl"].result_list) == ["dead@example.org", "sent@example.org"]
    response = admin_client.get(url, {"state__exact": "invalid_token"})
    assert [str(d.user) for d in response.context["cl"].result_list] == ["dead@example.org"]
    response = admin_client.get(url, {"user__timezone": "Europe/Paris"})
    assert list(response.context["cl"].result_list) == []
    assert admin_client.get(url + "add/").status_code == 403
    delivery = Delivery.objects.get(state="sent")
    admin_client.post(f"{url}{delivery.pk}/change/", {"state": "pending"})
    delivery.refresh_from_db()
    assert delivery.state == "sent"
