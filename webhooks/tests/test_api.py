"""/api/v1/scheduler/webhooks: endpoints created (secret shown once), listed, changed, deleted;
bad input and private addresses refused with a 400 naming the field, nothing changed."""

import pytest
from standardwebhooks import Webhook

from webhooks.models import WebhookEndpoint

URL = "/api/v1/scheduler/webhooks"
pytestmark = pytest.mark.django_db


def test_create_answers_the_endpoint_with_its_secret_once(staff_client, staff_user, loopback_allowed):
    response = staff_client.post(
        URL,
        {"url": "http://127.0.0.1:9/hook", "events": ["run.failed", "run.succeeded"], "description": "PagerDuty"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {
        "id": str(endpoint.pk),
        "url": "http://127.0.0.1:9/hook",
        "description": "PagerDuty",
        "events": ["run.failed", "run.succeeded"],
        "is_active": True,
        "failure_streak": 0,
        "disabled_at": None,
        "disabled_reason": "",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "secret": endpoint.secret,
    }
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == len("whsec_") + 44
    Webhook(body["secret"])  # a secret the library takes
    assert endpoint.created_by == staff_user
    # Never again: not in the list, not in the endpoint.
    listed = staff_client.get(URL).json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    assert "secret" not in staff_client.get(f"{URL}/{endpoint.pk}").json()
    assert endpoint.secret not in staff_client.get(URL).content.decode()


def test_two_endpoints_get_different_secrets(staff_client, loopback_allowed):
    secrets = {
        staff_client.post(URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json").json()["secret"]
        for _ in range(2)
    }
    assert len(secrets) == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/hook",
        "http://127.0.0.1:8000/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(staff_client, url):
    response = staff_client.post(URL, {"url": url, "events": ["run.failed"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    assert response.json()["url"][0].startswith("Adresse refusée : ")
    assert WebhookEndpoint.objects.count() == 0


def test_only_the_listed_private_hosts_are_allowed(staff_client, settings):
    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    assert (
        staff_client.post(URL, {"url": "http://127.0.0.1:8000/", "events": ["run.failed"]}, format="json").status_code
        == 201
    )
    assert (
        staff_client.post(URL, {"url": "http://10.0.0.1/", "events": ["run.failed"]}, format="json").status_code == 400
    )
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["run.failed"]}, "url"),
        ({"url": "ftp://127.0.0.1/x", "events": ["run.failed"]}, "url"),
        ({"url": "not a url", "events": ["run.failed"]}, "url"),
        (
            {"url": "https://hooks.example.invalid/hook*", "events": ["run.failed"]},
            "url",
        ),  # outside the schema's pattern
        ({"url": 42, "events": ["run.failed"]}, "url"),
        ({"url": "http://127.0.0.1/"}, "events"),
        ({"url": "http://127.0.0.1/", "events": []}, "events"),
        ({"url": "http://127.0.0.1/", "events": ["run.exploded"]}, "events"),
        ({"url": "http://127.0.0.1/", "events": "run.failed"}, "events"),
        ({"url": "http://127.0.0.1/", "events": ["run.failed"], "description": 7}, "description"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff_client, loopback_allowed, body, field):
    response = staff_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert WebhookEndpoint.objects.count() == 0


def test_patch_changes_what_it_is_given_and_re_enabling_clears_the_failures(staff_client, loopback_allowed):
    endpoint_id = staff_client.post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json"
    ).json()["id"]
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, failure_streak=20, disabled_reason="20 échecs consécutifs"
    )
    response = staff_client.patch(
        f"{URL}/{endpoint_id}", {"events": ["schedule.updated"], "is_active": True}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["events"], body["is_active"], body["failure_streak"], body["disabled_reason"], body["url"]) == (
        ["schedule.updated"],
        True,
        0,
        "",
        "http://127.0.0.1:9/",
    )
    assert "secret" not in body


def test_patch_refuses_bad_input_and_changes_nothing(staff_client, loopback_allowed):
    endpoint_id = staff_client.post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json"
    ).json()["id"]
    before = WebhookEndpoint.objects.values().get()
    for body, field in [
        ({"url": "http://10.0.0.1/"}, "url"),
        ({"is_active": "true"}, "is_active"),
        ({"events": ["nope"], "description": "x"}, "events"),
    ]:
        response = staff_client.patch(f"{URL}/{endpoint_id}", body, format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]
    assert WebhookEndpoint.objects.values().get() == before


def test_delete_and_unknown_ids(staff_client, loopback_allowed):
    endpoint_id = staff_client.post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json"
    ).json()["id"]
    assert staff_client.delete(f"{URL}/{endpoint_id}").status_code == 204
    assert WebhookEndpoint.objects.count() == 0
    for method in ("get", "patch", "delete"):
        for unknown in (endpoint_id, "not-a-uuid"):
            response = getattr(staff_client, method)(f"{URL}/{unknown}", {}, format="json")
            assert response.status_code == 404
            assert response.json()["detail"].startswith("id : aucun webhook")
    assert staff_client.get(f"{URL}/{endpoint_id}/deliveries").status_code == 404


def test_only_operators_manage_webhooks(client, member_client, loopback_allowed):
    body = {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}
    assert client.post(URL, body, content_type="application/json").status_code == 401
    assert client.get(URL).status_code == 401
    assert member_client.post(URL, body, format="json").status_code == 403
    assert member_client.get(URL).status_code == 403
    assert WebhookEndpoint.objects.count() == 0


def test_viewers_list_but_do_not_manage(viewer_client, staff_client, loopback_allowed):
    endpoint_id = staff_client.post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json"
    ).json()["id"]
    assert viewer_client.get(URL).json()["count"] == 1
    assert (
        viewer_client.post(URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"]}, format="json").status_code
        == 403
    )
    assert viewer_client.patch(f"{URL}/{endpoint_id}", {"is_active": False}, format="json").status_code == 403
    assert viewer_client.delete(f"{URL}/{endpoint_id}").status_code == 403
    assert list(WebhookEndpoint.objects.values_list("is_active", flat=True)) == [True]


def test_unknown_fields_are_refused(staff_client, loopback_allowed):
    response = staff_client.post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["run.failed"], "secret": "x"}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["secret"])
    assert WebhookEndpoint.objects.count() == 0
