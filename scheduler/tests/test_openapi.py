import pytest

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/scheduler/status/", "get"), ("/api/v1/scheduler/start/", "post"),
    ("/api/v1/scheduler/stop/", "post"), ("/api/v1/scheduler/health/", "get"),
    ("/api/v1/scheduler/trigger-daily-verses/", "post"), ("/api/v1/scheduler/runs/", "get"),
    ("/api/v1/scheduler/runs/{run_id}/", "get"),
    ("/api/v1/scheduler/users-count/", "get"), ("/api/v1/users/me/", "get"), ("/api/v1/users/me/", "patch"),
    ("/api/v1/verses/today/", "get"), ("/api/v1/verses/history/", "get"),
}


def test_the_openapi_schema_documents_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    found = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert found == OPERATIONS
    trigger = schema["paths"]["/api/v1/scheduler/trigger-daily-verses/"]["post"]["responses"]
    assert sorted(trigger) == ["200", "202", "400", "401", "403", "415", "500"]
    assert trigger["500"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TriggerResult"}
    assert trigger["500"]["description"] == "The run failed (`run.error` says why)."
    components = schema["components"]["schemas"]
    assert components["MoodEnum"]["enum"] == ["joyful", "sad", "anxious", "grateful", "lonely", "stressed",
                                              "angry", "hopeful"]
    assert components["LanguageEnum"]["enum"] == ["fr", "en"]
    assert components["PatchedMe"]["properties"]["fcm_token"] == {"type": "string", "writeOnly": True,
                                                                  "maxLength": 512, "pattern": "^[^\\x00]*$"}


def test_the_browsable_docs_are_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
