"""Issue 12's findings, each through the API: who may do what, tokens, throttles, lockout, input
limits, health's disclosure, the proxy header. Each failed before its fix."""

import json
import logging

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django_q.models import Schedule
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from scheduler.models import JobRun
from soulverse.tests.settings_process import django_setup_run
from users.models import User
from users.tests.factories import UserFactory, token_key_for

pytestmark = pytest.mark.django_db
SCHEDULER = "/api/v1/scheduler/"
LOGIN = "/api/v1/auth/login"


def schedules_state() -> list:
    return list(Schedule.objects.order_by("name").values_list("name", "func", "cron", "repeats", "next_run"))


def rates(settings, **changed) -> None:
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changed},
    }


# --- 2. permissions, not is_staff -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "stop"),
        ("post", "start"),
        ("post", "trigger-daily-verses"),
        ("get", "status"),
        ("get", "runs"),
        ("get", "users-count"),
    ],
)
def test_staff_without_permissions_gets_403_and_changes_nothing(bare_staff_client, schedules, method, path):
    before = schedules_state()
    response = getattr(bare_staff_client, method)(SCHEDULER + path)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Permission requise : « Peut consulter le planificateur »."
        if method == "get"
        else "Permission requise : « Peut piloter le planificateur »."
    }
    assert schedules_state() == before and JobRun.objects.count() == 0


@pytest.mark.parametrize("path", ["stop", "start", "trigger-daily-verses"])
def test_viewers_read_but_cannot_operate(viewer_client, schedules, path):
    assert viewer_client.get(SCHEDULER + "status").status_code == 200
    assert viewer_client.get(SCHEDULER + "runs").status_code == 200
    before = schedules_state()
    assert viewer_client.post(SCHEDULER + path).status_code == 403
    assert schedules_state() == before and JobRun.objects.count() == 0


def test_operators_and_superusers_operate(staff_client, schedules):
    assert staff_client.post(SCHEDULER + "stop").status_code == 200
    assert Schedule.objects.filter(repeats=0).count() == 6
    root = User.objects.create_superuser("root@example.org", "Un-mot-de-passe-solide-42")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(root)}")
    assert client.post(SCHEDULER + "start").status_code == 200
    assert Schedule.objects.filter(repeats=-1).count() == 6


def test_the_groups_exist_with_their_permissions():
    """Made by the data migration (and setup_schedules, for a flushed database)."""
    from django.core.management import call_command

    call_command("setup_schedules", stdout=open("/dev/null", "w"))
    groups = {g.name: sorted(p.codename for p in g.permissions.all()) for g in Group.objects.all()}
    assert groups == {
        "Scheduler viewers": ["view_scheduler"],
        "Scheduler operators": ["operate_scheduler", "view_scheduler"],
    }


# --- 3. tokens: hashed, expiring, one per device, revocable -----------------------------------


def login(client, email="marie@example.org", password="Un-mot-de-passe-solide-42", **extra):
    return client.post(LOGIN, {"email": email, "password": password, **extra}, content_type="application/json")


def test_login_gives_a_token_per_device_shown_once_and_stored_as_a_digest(client):
    user = UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    phone, tablet = login(client), login(client)
    assert (phone.status_code, tablet.status_code) == (200, 200)
    keys = [phone.json()["token"], tablet.json()["token"]]
    assert set(phone.json()) == {"token", "expiry"} and keys[0] != keys[1]
    rows = list(AuthToken.objects.filter(user=user).values())
    assert len(rows) == 2
    for key in keys:  # the key itself is nowhere in the table: its SHA-512 and its first 15 characters
        assert not any(key == str(value) for row in rows for value in row.values())
        assert hash_token(key) in {row["digest"] for row in rows}
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {keys[0]}")
    listed = api.get("/api/v1/auth/tokens").json()
    assert sorted(t["current"] for t in listed) == [False, True]
    assert all(set(t) == {"prefix", "created", "expiry", "current"} for t in listed)

    # Signing the phone out leaves the tablet signed in; signing out everywhere ends both.
    assert api.delete("/api/v1/auth/tokens/current").status_code == 204
    assert api.get("/api/v1/users/me").status_code == 401
    tablet_api = APIClient()
    tablet_api.credentials(HTTP_AUTHORIZATION=f"Token {keys[1]}")
    assert tablet_api.get("/api/v1/users/me").status_code == 200
    assert tablet_api.delete("/api/v1/auth/tokens").status_code == 204
    assert tablet_api.get("/api/v1/verses/today").status_code == 401
    assert AuthToken.objects.count() == 0


def test_an_expired_token_is_refused_on_both_paths_of_verses_today():
    from django.utils import timezone

    user = UserFactory()
    key = token_key_for(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/verses/today").status_code == 200  # made, then served by the one-query path
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timezone.timedelta(seconds=1))
    assert api.get("/api/v1/verses/today").status_code == 401
    assert api.get("/api/v1/verses/today?via=drf").status_code == 401


def test_wrong_credentials_get_400_and_no_token(client):
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    response = login(client, password="wrong")
    assert (response.status_code, response.json()) == (401, {"detail": "Email ou mot de passe incorrect."})
    assert AuthToken.objects.count() == 0


def test_the_token_admin_lists_devices_without_any_part_of_their_keys(client):
    """Finding 3: the admin listed the plaintext keys. Now only who, since when, until when (the
    digest stays the row's id in its URLs: it cannot be turned back into the key)."""
    root = User.objects.create_superuser("root@example.org", "Un-mot-de-passe-solide-42")
    key = token_key_for(root)
    client.force_login(root)
    response = client.get("/admin/knox/authtoken/")
    page = response.content.decode()
    assert list(response.context["cl"].list_display) == ["action_checkbox", "user", "created", "expiry"]
    assert "root@example.org" in page and key[:8] not in page


# --- 4. throttles, lockout, password validators -------------------------------------------------


def test_logins_are_throttled_with_retry_after(client, settings):
    rates(settings, login="3/minute")
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    assert [login(client, password=f"wrong{n}").status_code for n in range(3)] == [401, 401, 401]
    refused = login(client)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert AuthToken.objects.count() == 0


def test_users_are_throttled_per_user(settings, member_client):
    rates(settings, user="2/minute")
    assert [member_client.get("/api/v1/users/me").status_code for _ in range(3)] == [200, 200, 429]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(UserFactory())}")
    assert other.get("/api/v1/users/me").status_code == 200  # per user, not global


def test_admin_login_locks_out_after_five_failures_even_with_the_right_password(client):
    """Finding 4: 30 wrong admin passwords, then the right one succeeded."""
    User.objects.create_superuser("root@example.org", "Un-mot-de-passe-solide-42")
    for n in range(4):
        response = client.post("/admin/login/", {"username": "root@example.org", "password": f"wrong{n}"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post("/admin/login/", {"username": "root@example.org", "password": "wrong4"})
    assert response.status_code == 429  # the fifth failure locks the account out from this address
    response = client.post("/admin/login/", {"username": "root@example.org", "password": "Un-mot-de-passe-solide-42"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert "root@example.org" not in response.content.decode()
    assert client.get("/admin/").status_code == 302  # not signed in


def test_api_login_locks_out_too_and_hands_out_no_token(client):
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    assert [login(client, password=f"wrong{n}").status_code for n in range(5)] == [401] * 4 + [429]
    assert login(client).status_code == 429
    assert AuthToken.objects.count() == 0


def test_the_admin_refuses_a_weak_password(client):
    root = User.objects.create_superuser("root@example.org", "Un-mot-de-passe-solide-42")
    client.force_login(root)
    response = client.post(
        "/admin/users/user/add/",
        {"email": "new@example.org", "password1": "a", "password2": "a", "usable_password": "true"},
    )
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="new@example.org").exists()


# --- 8, 13. bad bodies: deep nesting, unknown fields, capped errors ----------------------------

NESTED = "[" * 1000 + "]" * 1000


def test_deeply_nested_json_is_a_400_and_changes_nothing(member_client, staff_client, schedules):
    me = member_client.get("/api/v1/users/me").json()
    response = member_client.patch("/api/v1/users/me", NESTED, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON invalide : imbrication de plus de 32 niveaux."}
    assert member_client.get("/api/v1/users/me").json() == me
    response = staff_client.post(
        SCHEDULER + "trigger-daily-verses", '{"wait": ' + NESTED + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert JobRun.objects.count() == 0


def test_trigger_refuses_unknown_fields_and_starts_nothing(staff_client, schedules):
    response = staff_client.post(SCHEDULER + "trigger-daily-verses", {"wiat": 5}, format="json")
    assert (response.status_code, response.json()) == (400, {"wiat": ["Champ inconnu."]})
    assert JobRun.objects.count() == 0


def test_an_error_body_does_not_echo_a_large_body(member_client):
    body = {f"unknown_field_{n:05d}_" + "x" * 30: 1 for n in range(1000)}
    raw = json.dumps(body)
    assert len(raw) > 50_000
    me = member_client.get("/api/v1/users/me").json()
    response = member_client.patch("/api/v1/users/me", raw, content_type="application/json")
    assert response.status_code == 400
    assert len(response.content) < 1024
    assert response.json()["non_field_errors"] == ["1000 champs inconnus au total."]
    assert member_client.get("/api/v1/users/me").json() == me


# --- 11. health: the public answer, no writes, logs on change only -----------------------------


def test_health_writes_nothing_and_logs_state_changes_only(client, schedules, caplog):
    from django.core.cache import caches

    from verses.ai.gemini import provider_get

    def cache_keys():
        cache = caches["default"]
        if hasattr(cache, "keys"):
            return sorted(cache.keys("*"))
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT cache_key FROM soulverse_cache ORDER BY cache_key")
            return [row[0] for row in cursor.fetchall()]

    provider_get()  # its "AI off" line is said once per process: out of the way, whatever ran first
    caplog.clear()
    before = cache_keys()
    with caplog.at_level(logging.INFO):
        answers = [client.get(SCHEDULER + "health") for _ in range(5)]
    assert [(a.status_code, a.json()) for a in answers] == [(503, {"status": "down"})] * 5
    assert cache_keys() == before
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == ["event=health_state_changed from=unknown to=down failing=cluster"]


def test_the_public_health_answer_is_memoised_per_process(client, schedules, settings, django_assert_num_queries):

    settings.HEALTH_PUBLIC_CACHE_SECONDS = 60
    assert client.get(SCHEDULER + "health").json() == {"status": "down"}
    with django_assert_num_queries(0):
        assert client.get(SCHEDULER + "health").json() == {"status": "down"}


# --- 12. the proxy header ------------------------------------------------------------------------


def _setting(name: str, **env) -> str:
    done = django_setup_run(f"from django.conf import settings; print(repr(getattr(settings, {name!r}, None)))", **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_proxy_header_is_trusted_only_when_a_setting_says_a_proxy_sets_it():
    assert _setting("SECURE_PROXY_SSL_HEADER") == "None"
    assert _setting("SECURE_PROXY_SSL_HEADER", DJANGO_BEHIND_PROXY="true") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_throttle(client, settings):
    rates(settings, login="2/minute")
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    codes = [
        client.post(
            LOGIN,
            {"email": "marie@example.org", "password": "x"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]
    assert not client.get("/livez", HTTP_X_FORWARDED_PROTO="https").wsgi_request.is_secure()


def test_a_user_has_at_most_the_allowed_devices(settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    client = APIClient()
    assert [login(client).status_code for _ in range(3)] == [200, 200, 403]
    assert AuthToken.objects.count() == 2


@pytest.mark.django_db(transaction=True)  # the live server's threads see the committed user
def test_concurrent_logins_never_exceed_the_device_limit(live_server, settings):
    """Six logins of one user at once, with a limit of two devices: each counted the user's tokens
    before any of them created one (count-then-create), and all six got a token. A connection of
    the test's own holds a SHARE ROW EXCLUSIVE lock on the token table, so that every login that
    gets as far as its INSERT waits there; once all six wait (on that lock, or on the user's row),
    the lock goes and they finish."""
    import concurrent.futures
    import time
    import urllib.error
    import urllib.request

    import psycopg2
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent logins with row locks: PostgreSQL (SQLite serialises its write transactions)")
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    body = json.dumps({"email": "marie@example.org", "password": "Un-mot-de-passe-solide-42"}).encode()

    def post_login() -> int:
        request = urllib.request.Request(
            live_server.url + LOGIN, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    params = connection.get_connection_params()
    holder = psycopg2.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    )
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {AuthToken._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                answers = [pool.submit(post_login) for _ in range(6)]
                deadline = time.monotonic() + 60
                waiting = 0
                while waiting < 6 and time.monotonic() < deadline:
                    time.sleep(0.1)
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot per transaction
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                    waiting = cursor.fetchone()[0]
                holder.rollback()  # the lock goes
                codes = sorted(answer.result(timeout=60) for answer in answers)
    finally:
        holder.close()
    assert waiting == 6
    assert codes == [200, 200, 403, 403, 403, 403]
    assert AuthToken.objects.count() == 2


def test_with_redis_down_the_throttles_still_count_per_process_and_say_so_once(settings, member_client, caplog):
    """Redis unreachable (nothing listens on its port): DRF's throttles read an empty history and let
    every request through. Now each process counts on its own, at the same rates, and logs the
    change of state once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections to it are refused
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    rates(settings, user="2/minute")
    with caplog.at_level(logging.INFO, logger="soulverse.throttles"):
        codes = [member_client.get("/api/v1/users/me").status_code for _ in range(3)]
        codes += [member_client.get("/api/v1/verses/today").status_code]  # the one-query path counts too
    assert codes == [200, 200, 429, 429]
    assert [r.getMessage() for r in caplog.records if r.name == "soulverse.throttles"] == [
        "event=throttle_store_unavailable error=ConnectionError fallback=per_process"
    ]


def test_the_throttles_count_on_redis_again_once_it_answers(settings, member_client, caplog):
    from django.core.cache import cache

    from soulverse import throttles

    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs REDIS_URL")
    rates(settings, user="2/minute")
    throttles.redis_store.set("down", True)  # as after an outage, retry time reached
    with caplog.at_level(logging.INFO, logger="soulverse.throttles"):
        codes = [member_client.get("/api/v1/users/me").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert [r.getMessage() for r in caplog.records if r.name == "soulverse.throttles"] == [
        "event=throttle_store_restored"
    ]
    assert len(cache.keys("throttle_user_*")) == 1  # counted on Redis, not in the process
    assert len(throttles.local_counts) == 0


# --- the cheap refusals: health, the schema -----------------------------------------------------


def test_anonymous_health_gets_the_drf_bytes_without_drf(client, schedules, settings, django_assert_num_queries):

    settings.HEALTH_PUBLIC_CACHE_SECONDS = 60
    fast = client.get(SCHEDULER + "health")
    drf = client.get(SCHEDULER + "health?via=drf")
    with django_assert_num_queries(0):
        again = client.get(SCHEDULER + "health")
    answers = [(r.status_code, r.content, r["Content-Type"], r.get("Vary"), r.get("Allow")) for r in (fast, drf, again)]
    assert answers == [(503, b'{"status":"down"}', "application/json", "Cookie", "GET, HEAD, OPTIONS")] * 3


@pytest.mark.parametrize("accept", ["", "application/json", "application/vnd.oai.openapi"])
def test_anonymous_schema_requests_get_the_views_401_replayed(client, accept, caplog):
    from soulverse import views

    headers = {"HTTP_ACCEPT": accept} if accept else {}
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answers = [client.get("/api/schema/", **headers) for _ in range(3)]
    assert list(views.anonymous_refusals.keys()) == [accept]
    first = answers[0]
    assert first.status_code == 401 and first["WWW-Authenticate"] == "Token"
    assert b"Informations d'authentification non fournies." in first.content
    assert all(
        (a.status_code, a.content, a["Content-Type"], a["Vary"], a["Allow"])
        == (first.status_code, first.content, first["Content-Type"], first["Vary"], first["Allow"])
        for a in answers
    )
    assert caplog.records == []  # an expected refusal: no WARNING line per request


def test_the_schema_still_serves_those_allowed(client, viewer_client):
    assert client.get("/api/schema/").status_code == 401
    response = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and "paths" in response.json()


def test_a_whole_burst_at_one_instant_is_let_through_then_the_next_waits_one_interval():
    """GCRA: `limit` requests at the same instant pass, the next waits period/limit. On Redis the
    theoretical arrival time is kept whole (it was rounded to 14 digits: the burst's last request
    was refused by the rounding)."""
    from soulverse.throttles import rate_hit

    for n in range(50):  # instants whose last digits round either way
        now = 1_765_115_137 + n * 0.012345678
        waits = [rate_hit(key=f"burst-check-{n}", limit=3, period=3600, now=now) for _ in range(4)]
        assert waits[:3] == [None, None, None], now
        assert waits[3] == pytest.approx(1200)
