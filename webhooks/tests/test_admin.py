"""The webhooks admin: operators create endpoints (the secret shown once), viewers only look."""

import pytest

from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

ADD = "/admin/webhooks/webhookendpoint/add/"


def test_an_operator_creates_an_endpoint_and_sees_its_secret_once(client, staff_user, loopback_allowed):
    """Issue 21, finding 7: the secret was a message, kept in the signed (not encrypted) `messages`
    cookie until shown. Now it is in the answer to the creation only, never in a cookie or the session."""
    from django.contrib.sessions.models import Session

    client.force_login(staff_user)
    response = client.post(
        ADD,
        {
            "url": "http://127.0.0.1:9/hook",
            "description": "ops",
            "events": ["run.failed", "schedule.updated"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.is_active, endpoint.created_by) == (
        "http://127.0.0.1:9/hook",
        ["run.failed", "schedule.updated"],
        True,
        staff_user,
    )
    assert f'<code id="webhook-secret">{endpoint.secret}</code>' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert all(endpoint.secret not in morsel.value for morsel in response.cookies.values())
    assert "messages" not in response.cookies
    assert all(endpoint.secret not in str(s.get_decoded()) for s in Session.objects.all())
    for page in (f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/", "/admin/webhooks/webhookendpoint/"):
        response = client.get(page)
        assert response.status_code == 200 and endpoint.secret not in response.content.decode()
        assert all(endpoint.secret not in morsel.value for morsel in response.cookies.values())


def test_a_private_address_is_refused_in_the_admin_too(client, staff_user):
    client.force_login(staff_user)
    response = client.post(ADD, {"url": "http://169.254.169.254/latest", "events": ["run.failed"], "is_active": "on"})
    assert response.status_code == 200
    assert "Adresse refusée" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_viewers_see_the_list_but_cannot_add(client, django_user_model):
    from scheduler.permissions import VIEWERS_GROUP, scheduler_groups_ensure

    viewer = django_user_model.objects.create_user(email="v@example.org", password="pw", is_staff=True)
    viewer.groups.add(scheduler_groups_ensure()[VIEWERS_GROUP])
    client.force_login(viewer)
    assert client.get("/admin/webhooks/webhookendpoint/").status_code == 200
    assert client.get(ADD).status_code == 403
