import pytest

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/scheduler/status/", "get"),
    ("/api/v1/scheduler/start/", "post"),
    ("/api/v1/scheduler/stop/", "post"),
    ("/api/v1/scheduler/health/", "get"),
    ("/api/v1/scheduler/trigger-daily-verses/", "post"),
    ("/api/v1/scheduler/runs/", "get"),
    ("/api/v1/scheduler/runs/{run_id}/", "get"),
    ("/api/v1/scheduler/users-count/", "get"),
    ("/api/v1/scheduler/stats/", "get"),
    ("/api/v1/users/me/", "get"),
    ("/api/v1/users/me/", "patch"),
    ("/api/v1/verses/today/", "get"),
    ("/api/v1/verses/history/", "get"),
    ("/api/v1/auth/login/", "post"),
    ("/api/v1/auth/tokens/", "get"),
    ("/api/v1/auth/tokens/", "delete"),
    ("/api/v1/auth/tokens/current/", "delete"),
    ("/api/v1/verses/{day}/opened/", "post"),
    ("/api/v1/scheduler/webhooks/", "get"),
    ("/api/v1/scheduler/webhooks/", "post"),
    ("/api/v1/scheduler/webhooks/{id}/", "get"),
    ("/api/v1/scheduler/webhooks/{id}/", "patch"),
    ("/api/v1/scheduler/webhooks/{id}/", "delete"),
    ("/api/v1/scheduler/webhooks/{id}/deliveries/", "get"),
    ("/api/v1/scheduler/jobs/", "get"),
    ("/api/v1/scheduler/jobs/{id}/", "get"),
    ("/api/v1/scheduler/jobs/{id}/", "patch"),
    ("/api/v1/scheduler/jobs/{id}/run/", "post"),
    ("/api/v1/scheduler/jobs/{id}/changes/", "get"),
    ("/api/v1/users/me/devices/", "get"),
    ("/api/v1/users/me/devices/", "post"),
    ("/api/v1/users/me/devices/{id}/", "delete"),
    ("/api/v1/scheduler/verse-plans/", "get"),
    ("/api/v1/scheduler/verse-plans/", "post"),
    ("/api/v1/scheduler/verse-plans/{id}/", "delete"),
    ("/api/v1/scheduler/feasts/", "get"),
    ("/api/v1/scheduler/feasts/{id}/", "patch"),
    ("/api/v1/scheduler/verse-review/", "get"),
    ("/api/v1/scheduler/verse-review/{id}/actions/", "post"),
    ("/api/v1/scheduler/campaigns/", "get"),
    ("/api/v1/scheduler/campaigns/", "post"),
    ("/api/v1/scheduler/campaigns/{id}/", "get"),
    ("/api/v1/scheduler/campaigns/{id}/cancel/", "post"),
    ("/api/v1/scheduler/campaigns/{id}/test/", "post"),
    ("/api/v1/campaigns/{id}/opened/", "post"),
}


def test_the_openapi_schema_documents_every_endpoint(viewer_client):
    response = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    found = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert found == OPERATIONS
    trigger = schema["paths"]["/api/v1/scheduler/trigger-daily-verses/"]["post"]["responses"]
    assert sorted(trigger) == ["200", "202", "400", "401", "403", "415", "500"]
    assert trigger["500"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TriggerResult"}
    assert trigger["500"]["description"] == "The run failed (`run.error` says why)."
    components = schema["components"]["schemas"]
    assert components["MoodEnum"]["enum"] == [
        "joyful",
        "sad",
        "anxious",
        "grateful",
        "lonely",
        "stressed",
        "angry",
        "hopeful",
    ]
    assert components["LanguageEnum"]["enum"] == ["fr", "en"]
    assert components["PatchedMe"]["properties"]["fcm_token"] == {
        "type": "string",
        "writeOnly": True,
        "maxLength": 512,
        "pattern": "^[^\\x00]*$",
    }
    # A time zone is an IANA name as a string, not an enum of ~600 names (whose generated
    # identifiers collide: GMT0 and GMT-0); the server refuses an unknown one (users/tests/test_api.py).
    time_zone = {
        "type": "string",
        "format": "iana-time-zone",
        "maxLength": 64,
        "example": "Africa/Lome",
        "description": "The user's time zone: an IANA time zone database name (`Africa/Lome`, "
        "`Europe/Paris`); an unknown name is refused with 400.",
    }
    assert components["Me"]["properties"]["timezone"] == components["PatchedMe"]["properties"]["timezone"] == time_zone
    assert not [name for name, component in components.items() if len(component.get("enum", ())) > 20]


def test_the_browsable_docs_are_served_without_a_cdn(viewer_client):
    response = viewer_client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()


def test_the_schema_and_docs_are_for_scheduler_viewers_only(client, member_client, bare_staff_client):
    """Finding 5: /api/schema/ (70 KB, rebuilt per request) was public."""
    for path in ("/api/schema/", "/api/docs/"):
        assert client.get(path).status_code == 401
        assert member_client.get(path).status_code == 403
        assert bare_staff_client.get(path).status_code == 403


def test_the_schema_is_generated_once_per_process(viewer_client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    calls = []
    original = SchemaGenerator.get_schema
    monkeypatch.setattr(SchemaGenerator, "get_schema", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    first = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    second = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert (first.status_code, second.status_code, len(calls)) == (200, 200, 1)
    assert first.content == second.content
