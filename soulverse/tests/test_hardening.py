"""Issue 21: the second abuse pass, findings that need no server of their own (HSTS, CSP, the
admin login throttle, token and password handling, the schema cache, metrics' token). Each
failed before its fix."""

import pytest

from soulverse.tests.settings_process import django_setup_run

pytestmark = pytest.mark.django_db


# --- HSTS: no `preload` unless asked for, and then a year at least ------------------------------

def test_hsts_has_no_preload_by_default(client):
    response = client.get("/livez", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=2592000; includeSubDomains"


def test_hsts_preload_needs_a_year():
    refused = django_setup_run(DJANGO_SECURE_HSTS_PRELOAD="true")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].endswith(
        "DJANGO_SECURE_HSTS_PRELOAD=true needs DJANGO_SECURE_HSTS_SECONDS of at least 31536000 "
        "(a year, as the preload list requires).")
    done = django_setup_run("from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)",
                            DJANGO_SECURE_HSTS_PRELOAD="true", DJANGO_SECURE_HSTS_SECONDS="31536000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
