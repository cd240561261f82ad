"""Schemathesis over the OpenAPI schema of every endpoint, through a real HTTP server.

Each operation of /api/schema/ gets generated requests, valid and invalid, sent over HTTP to
pytest-django's live server and judged by all of Schemathesis' checks: no 5xx, only documented
status codes, content types and headers, bodies that match their schema, invalid input refused,
valid input accepted, authentication enforced. Admin endpoints are called with a staff token,
user endpoints with a member's. Jobs run in-process (`sync_tasks`): a trigger never waits for a
worker that is not there.
"""

import datetime
import json
import urllib.request
import zoneinfo

import pytest
import schemathesis
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from django_q.status import Stat, Status
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from scheduler.permissions import OPERATORS_GROUP, scheduler_groups_ensure
from users.serializers import TIME_ZONE_FORMAT
from users.services import demo_users_seed
from users.tests.factories import UserFactory, token_key_for
from verses.generation.on_demand import daily_verse_for_user

pytestmark = pytest.mark.django_db(transaction=True)

# The schema as /api/schema/ serves it (the `server` fixture checks that), built here because the
# tests are made from it at collection, before the live server starts.
SCHEMA = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
# Signing out (DELETE auth/tokens…) would revoke the tokens the other cases use: tested in users/tests.
schema = schemathesis.openapi.from_dict(SCHEMA).exclude(method="DELETE", path_regex="^/api/v1/auth/tokens")

# Time zones are IANA names (format "iana-time-zone" in the schema): valid data draws real ones.
schemathesis.openapi.format(TIME_ZONE_FORMAT, strategies.sampled_from(sorted(zoneinfo.available_timezones())))

HISTORY_DAYS = 22  # more than a page of history (PAGE_SIZE 20)

# Operations whose authentication the `ignored_auth` check has confirmed (it resends a successful
# request without credentials and with bad ones). Schemathesis' own runner confirms it once per
# operation and run; its pytest integration would do it for every case, three requests each.
AUTH_CONFIRMED: set[str] = set()

# Bodies naming a Bible reference: whether the book, chapter and verses exist in the language's
# edition (or the edition is imported) is no schema's to say, so schema-valid bodies may be refused
# (400 naming `reference`); every other check still applies.
REFERENCE_BODIES = {
    "POST /api/v1/scheduler/verse-plans/",
    "PATCH /api/v1/scheduler/feasts/{id}/",
    "POST /api/v1/scheduler/verse-review/{id}/actions/",
}
# A campaign's moment is `send_at` or `local_time` with `date`, never both, and not long past; its
# title and body are not blank once trimmed: rules across fields and of the clock that the schema
# does not express, so schema-valid bodies may be refused (400 naming the field).
CROSS_FIELD_BODIES = {"POST /api/v1/scheduler/campaigns/"}


def _cluster_heartbeat() -> None:
    """A live cluster's heartbeat in the cache, as django-q2's Stat.save writes it. Without one,
    health answers 503 (test_health_without_a_cluster_is_a_documented_503)."""
    heartbeat = Status(pid=1, cluster_id="schemathesis-test")
    heartbeat.status = "Idle"
    get_broker().set_stat(Stat.get_key(heartbeat.cluster_id), SignedPackage.dumps(heartbeat, True), 600)


@pytest.fixture
def server(live_server, schedules, sync_tasks):
    """The live server's URL and tokens, over demo users, a staff account and a member with a
    history of verses."""
    demo_users_seed(count=20, seed=7, all_active=True)
    staff = UserFactory(email="staff@example.org", is_staff=True)
    staff.groups.add(scheduler_groups_ensure()[OPERATORS_GROUP])
    staff_key = token_key_for(staff)
    member = UserFactory(email="member@example.org", mood="grateful")
    today = timezone.localdate()
    for days_ago in range(1, HISTORY_DAYS + 1):
        daily_verse_for_user(user=member, day=today - datetime.timedelta(days=days_ago))
    request = urllib.request.Request(
        f"{live_server.url}/api/schema/",
        headers={"Accept": "application/vnd.oai.openapi+json", "Authorization": f"Token {staff_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response) == SCHEMA
    return {"url": live_server.url, "staff": staff_key, "member": token_key_for(member)}


@schema.parametrize()
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
def test_every_operation_conforms_to_the_schema(case, server):
    who = "staff" if case.path.startswith("/api/v1/scheduler/") else "member"
    if case.path == "/api/v1/scheduler/health/":
        _cluster_heartbeat()
    confirmed = case.operation.label in AUTH_CONFIRMED
    excluded = [ignored_auth] if confirmed else []
    if case.operation.label in REFERENCE_BODIES | CROSS_FIELD_BODIES:
        excluded.append(positive_data_acceptance)
    response = case.call_and_validate(
        base_url=server["url"], headers={"Authorization": f"Token {server[who]}"}, excluded_checks=excluded
    )
    if not confirmed and 200 <= response.status_code < 300:
        AUTH_CONFIRMED.add(case.operation.label)


def test_health_without_a_cluster_is_a_documented_503(server):
    """No worker runs here: health answers its documented 503, whose body must match the schema."""
    case = schema["/api/v1/scheduler/health/"]["GET"].Case()
    # All the checks but "no 5xx": this 503 is what health is for.
    response = case.call_and_validate(base_url=server["url"], excluded_checks=[not_a_server_error])
    assert (response.status_code, response.json()) == (503, {"status": "down"})  # anonymous: the status only
    response = case.call_and_validate(
        base_url=server["url"],
        headers={"Authorization": f"Token {server['staff']}"},
        excluded_checks=[not_a_server_error],
    )
    assert response.status_code == 503
    assert response.json()["checks"]["cluster"]["status"] == "down"
