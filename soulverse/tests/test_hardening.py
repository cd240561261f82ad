"""Issue 21: the second abuse pass, findings that need no server of their own (HSTS, CSP, the
admin login throttle, token and password handling, the schema cache, metrics' token). Each
failed before its fix."""

import time

import pytest
import time_machine

from soulverse.tests.settings_process import django_setup_run

pytestmark = pytest.mark.django_db


# --- HSTS: no `preload` unless asked for, and then a year at least ------------------------------


def test_hsts_has_no_preload_by_default(client):
    response = client.get("/livez", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=2592000; includeSubDomains"


def test_hsts_preload_needs_a_year():
    refused = django_setup_run(DJANGO_SECURE_HSTS_PRELOAD="true")
    assert refused.returncode != 0
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "DJANGO_SECURE_HSTS_PRELOAD=true needs DJANGO_SECURE_HSTS_SECONDS of at least 31536000 "
            "(a year, as the preload list requires)."
        )
    )
    done = django_setup_run(
        "from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


# --- 5. an undecodable token key is a wrong key ------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/users/me", "/api/v1/auth/tokens", "/api/v1/verses/today", "/api/v1/scheduler/status"]
)
def test_a_token_key_that_is_not_utf8_is_a_401(client, path):
    from django.test import Client

    client = Client(raise_request_exception=False)
    wrong = client.get(path, HTTP_AUTHORIZATION="Token " + "a" * 60, HTTP_ACCEPT="application/json")
    undecodable = client.get(path, HTTP_AUTHORIZATION="Token \xff\xfe" + "a" * 58, HTTP_ACCEPT="application/json")
    assert wrong.status_code == 401
    assert (undecodable.status_code, undecodable.json()) == (401, wrong.json())


# --- 9. the metrics token: held to the strength rule, and only over HTTPS ----------------------


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("abc", "at least 32 characters"),
        ("a" * 40, "at least 12 different characters (a random key)"),
        ("a!" * 20, "letters, digits, '-' and '_' only"),
    ],
)
def test_a_weak_metrics_token_is_refused_at_start_in_production(token, problem):
    refused = django_setup_run(METRICS_TOKEN=token)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        f"django.core.exceptions.ImproperlyConfigured: METRICS_TOKEN: too weak ({problem}); generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
    )
    assert django_setup_run(METRICS_TOKEN="Zr4x-9Qp_Lm2Vt7Bn8Kc3Wd6Yh1Fs5Gj0aE").returncode == 0


def test_metrics_is_not_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "Zr4x-9Qp_Lm2Vt7Bn8Kc3Wd6Yh1Fs5Gj0aE"
    plain = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/metrics")
    assert client.get("/livez").status_code == 200  # container probes stay on plain HTTP
    secure = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}", secure=True)
    assert secure.status_code == 200


# --- 3. the schema: one per language, odd parameters refused ----------------------------------


def test_the_schema_is_kept_once_per_language_whatever_the_parameters(viewer_client):
    from soulverse.views import SchemaView

    json_accept = {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}
    served = viewer_client.get("/api/schema/", **json_accept)
    assert served.status_code == 200
    for n in range(150):
        response = viewer_client.get(f"/api/schema/?version=v{n}", **json_accept)
        assert (response.status_code, response.json()) == (
            400,
            {"version": ["Paramètre non pris en charge : l'API n'a qu'une version."]},
        )
    for n in range(20):
        response = viewer_client.get(f"/api/schema/?lang=x{n}", **json_accept)
        assert (response.status_code, response.json()) == (
            400,
            {"lang": ["Langue inconnue : choisissez parmi fr, en."]},
        )
    assert viewer_client.get("/api/schema/?lang=en", **json_accept).status_code == 200
    assert sorted(SchemaView.generated.keys()) == ["en", "fr"]
    assert viewer_client.get("/api/schema/", **json_accept).content == served.content


def test_a_header_unsafe_schema_version_is_a_400_not_a_500(viewer_client):
    response = viewer_client.get("/api/schema/?version=a%0d%0aX", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 400
    assert "\\r" not in response.get("Content-Disposition", "") and "X" not in response.get("Content-Disposition", "")


# --- 1. DRF's throttle identity: X-Forwarded-For from the trusted proxy only ---------------------


def test_the_throttle_believes_forwarded_for_from_the_listed_proxy_only(client, settings):
    from django.conf import settings as django_settings

    from users.tests.factories import UserFactory

    settings.BEHIND_PROXY = True
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.254"]
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "2/minute"},
    }
    UserFactory(email="marie@example.org")

    def codes(remote_addr: str, prefix: str) -> list[int]:
        return [
            client.post(
                "/api/v1/auth/login",
                {"email": "marie@example.org", "password": f"x{n}"},
                content_type="application/json",
                REMOTE_ADDR=remote_addr,
                HTTP_X_FORWARDED_FOR=f"{prefix}.{n}",
            ).status_code
            for n in range(3)
        ]

    assert codes("127.0.0.1", "203.0.113") == [401, 401, 429]  # a direct caller: one address, throttled
    assert codes("10.0.0.254", "198.51.100") == [401, 401, 401]  # the proxy: three clients


def test_a_forwarded_allow_ips_entry_that_is_not_an_address_is_refused_at_start():
    refused = django_setup_run(DJANGO_BEHIND_PROXY="true", FORWARDED_ALLOW_IPS="127.0.0.1,proxy.local")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: FORWARDED_ALLOW_IPS: 'proxy.local' is not an IP address "
        "or network."
    )


# --- 6. admin sign-ins per client address ------------------------------------------------------


def test_admin_password_spraying_is_throttled_per_address(client, settings):
    """Before: one attempt per username (never reaching axes' per-account limit) was unlimited."""
    import re

    from django.conf import settings as django_settings

    from users.models import User

    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "admin_login": "3/hour"},
    }
    root = User.objects.create_superuser("root@example.org", "Un-mot-de-passe-solide-42")
    # The clock stands still: the four posts take over a second on a loaded machine, and the
    # throttle's Retry-After counts from the first.
    with time_machine.travel(time.time(), tick=False):
        codes = [
            client.post(
                "/admin/login/",
                {"username": f"user{n}@example.org", "password": "Printemps2026!"},
                REMOTE_ADDR="203.0.113.5",
            ).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 200]  # the form again, with its error
        refused = client.post(
            "/admin/login/",
            {"username": "root@example.org", "password": "Un-mot-de-passe-solide-42"},
            REMOTE_ADDR="203.0.113.5",
        )
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) == 20 * 60  # one attempt more every 20 minutes
    page = refused.content.decode()
    assert "Trop de tentatives de connexion depuis cette adresse." in page
    assert re.search(r"Réessayez dans 20 minutes \(à partir de \d\d:\d\d, heure de Africa/Lome\)", page)
    assert "_auth_user_id" not in client.session  # the right password was not even tried
    # Another address is not affected; reading the form is not counted.
    assert client.get("/admin/login/", REMOTE_ADDR="203.0.113.5").status_code == 200
    assert (
        client.post(
            "/admin/login/",
            {"username": root.email, "password": "Un-mot-de-passe-solide-42"},
            REMOTE_ADDR="198.51.100.9",
        ).status_code
        == 302
    )


# --- CSP on the admin and the dashboard ---------------------------------------------------------

CSP = {
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
}


def csp_of(response) -> set[str]:
    return {directive.strip() for directive in response["Content-Security-Policy"].split(";")}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/dashboard/",
        "/admin/webhooks/webhookendpoint/add/",
        "/admin/users/user/",
        "/admin/scheduler/jobrun/",
    ],
)
def test_admin_pages_carry_the_content_security_policy(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert csp_of(response) == CSP
    body = response.content.decode()
    assert "<script>" not in body and 'style="' not in body  # nothing inline the policy would block


def test_the_login_page_carries_it_and_json_does_not(client, member_client):
    assert csp_of(client.get("/admin/login/")) == CSP
    assert "Content-Security-Policy" not in member_client.get("/api/v1/users/me")
    assert "Content-Security-Policy" not in client.get("/livez")


def test_a_forwarded_for_without_the_proxy_setting_is_said_once(client, caplog):
    """The reverse misconfiguration (a proxy in front, DJANGO_BEHIND_PROXY off) puts every client
    behind the proxy's address: the log says so, once per process."""
    import logging

    with caplog.at_level(logging.WARNING, logger="soulverse.middleware"):
        for n in range(3):
            client.get("/livez", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", REMOTE_ADDR="10.0.0.2")
    assert [r.getMessage() for r in caplog.records if r.name == "soulverse.middleware"] == [
        "event=forwarded_for_ignored reason=DJANGO_BEHIND_PROXY_off peer=10.0.0.2"
    ]
