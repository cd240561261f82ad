"""Editorial control (verses/editorial, console/editorial_apis.py): verse plans, the feast calendar,
the review of a day's verses and the pushes held for approval, through the API and the commands."""

import datetime
import io
import json
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from scheduler.models import JobRun
from soulverse.testing.gemini_stub import StubReply, good_answer, request_language
from users.tests.factories import UserFactory, token_key_for
from verses.bible.editions import passage_text
from verses.bible.importer import bible_import
from verses.editorial.feasts import FEASTS_BY_KEY, feasts_between
from verses.models import DailyVerse, Delivery, FeastSetting, VerseOfTheDay, VersePlan, VerseReview
from verses.tests.shared_data import LSG_PATH
from webhooks.models import WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db

LOME = zoneinfo.ZoneInfo("Africa/Lome")
PLANS = "/api/v1/scheduler/verse-plans"
REVIEW = "/api/v1/scheduler/verse-review"
FEASTS = "/api/v1/scheduler/feasts"
REFLECTION = "Dieu a tant aimé le monde : reçois aujourd'hui cet amour qui ne finit pas."


@pytest.fixture
def ai(settings, gemini_stub):
    """The AI on, aimed at the local Gemini stand-in (good answers)."""
    from verses.ai.gemini import provider_get

    settings.GEMINI_API_KEY = "test-key-123"
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_RETRIES = 0
    settings.VERSES_BATCH_PAUSE_SECONDS = 0
    provider_get.cache_clear()
    gemini_stub.respond(good_answer)
    yield gemini_stub
    provider_get.cache_clear()


@pytest.fixture
def lsg():
    if not LSG_PATH.exists():
        pytest.skip(f"{LSG_PATH} is not available")
    bible_import(path=LSG_PATH)


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def prepare(day: datetime.date) -> dict:
    call_command("trigger_daily_verses", "--day", day.isoformat(), stdout=io.StringIO())
    return JobRun.objects.filter(job_id="daily_verses_review").order_by("-started_at").first().counts


def at_lome(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LOME)


def tick(at: datetime.datetime) -> dict:
    call_command("deliver_verses", "--at", at.isoformat(), stdout=io.StringIO())
    return JobRun.objects.filter(job_id="deliver_verses").order_by("-started_at").first().counts


def pairs_of(day) -> dict:
    return {(v.mood, v.language): v for v in VerseOfTheDay.objects.filter(day=day)}


# --- The feast calendar ------------------------------------------------------------------------


def test_easter_and_the_feasts_around_it_fall_on_their_known_dates():
    for year, easter in [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28")]:
        assert FEASTS_BY_KEY["easter"].date_in(year).isoformat() == easter
    assert {key: FEASTS_BY_KEY[key].date_in(2025).isoformat() for key in FEASTS_BY_KEY} == {
        "new_year": "2025-01-01",
        "good_friday": "2025-04-18",
        "easter": "2025-04-20",
        "ascension": "2025-05-29",
        "pentecost": "2025-06-08",
        "christmas": "2025-12-25",
    }
    # Across a year's end, in date order.
    found = feasts_between(start=datetime.date(2026, 12, 7), end=datetime.date(2027, 12, 6))
    assert [(date.isoformat(), feast.key) for date, feast in found] == [
        ("2026-12-25", "christmas"),
        ("2027-01-01", "new_year"),
        ("2027-03-26", "good_friday"),
        ("2027-03-28", "easter"),
        ("2027-05-06", "ascension"),
        ("2027-05-16", "pentecost"),
    ]


def test_a_feast_day_carries_its_verse_unless_switched_off_or_changed(staff_client, no_ai):
    christmas = datetime.date(2026, 12, 25)
    listed = staff_client.get(FEASTS).json()
    today = timezone.localdate()
    found = feasts_between(start=today, end=today + datetime.timedelta(days=364))
    assert [(f["key"], f["date"]) for f in listed] == [(feast.key, date.isoformat()) for date, feast in found]
    assert {f["key"] for f in listed} == set(FEASTS_BY_KEY)
    assert all(f["languages"]["en"]["state"] == "default" for f in listed)

    prepare(christmas)
    english = {v.reference for (mood, language), v in pairs_of(christmas).items() if language == "en"}
    assert english == {"Luke 2:10-11"}
    assert {v.source for v in pairs_of(christmas).values() if v.language == "en"} == {"plan"}
    # French needs Louis Segond to check the feast's reference: without it, the day goes as any other.
    assert {v.source for v in pairs_of(christmas).values() if v.language == "fr"} == {"fallback"}

    off = staff_client.patch(f"{FEASTS}/easter", {"language": "en", "enabled": False}, format="json")
    assert off.status_code == 200 and off.json()["languages"]["en"]["state"] == "off"
    prepare(datetime.date(2027, 3, 28))
    assert {v.source for v in pairs_of(datetime.date(2027, 3, 28)).values()} == {"fallback"}

    changed = staff_client.patch(
        f"{FEASTS}/pentecost", {"language": "en", "enabled": True, "reference": "Joel 2:28"}, format="json"
    )
    assert changed.json()["languages"]["en"] == {
        "state": "changed",
        "reference": "Joel 2:28",
        "default_reference": "Acts 2:1-4",
    }
    prepare(datetime.date(2027, 5, 16))
    assert {v.reference for v in pairs_of(datetime.date(2027, 5, 16)).values() if v.language == "en"} == {"Joel 2:28"}

    bad = staff_client.patch(
        f"{FEASTS}/pentecost", {"language": "en", "enabled": True, "reference": "Joel 9:1"}, format="json"
    )
    assert bad.status_code == 400 and list(bad.json()) == ["reference"]
    assert FeastSetting.objects.get(feast="pentecost").reference == "Joel 2:28"
    assert (
        staff_client.patch(f"{FEASTS}/halloween", {"language": "en", "enabled": True}, format="json").status_code == 404
    )


# --- Plans -------------------------------------------------------------------------------------


def test_a_plan_for_tomorrow_reaches_every_french_user_on_that_day_without_asking_the_ai(
    staff_client, ai, lsg, fcm_stub
):
    french = [UserFactory(mood=mood, language="fr") for mood in ("sad", "", "joyful")]
    english = UserFactory(mood="sad", language="en")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = staff_client.post(
        PLANS,
        {"day": tomorrow.isoformat(), "language": "fr", "reference": "jean 3.16", "reflection": REFLECTION},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["plan"]["reference"], body["plan"]["mood"], body["pairs_changed"]) == ("Jean 3:16", None, 0)

    # The evening before: 18 pairs made, the AI asked for the 9 English ones only.
    counts = prepare(tomorrow)
    assert (counts["pairs"], counts["ai_calls"]) == (18, 9)
    assert sorted(request_language(body) for body in ai.requests) == ["en"] * 9

    # On that day: the morning run, each user's verses/today, and the push.
    with time_machine.travel(at_lome(tomorrow, 6, 1), tick=False):
        call_command("trigger_daily_verses", stdout=io.StringIO())
        text = passage_text(language="fr", book=43, chapter=3, verse_start=16, verse_end=16)
        for user in french:
            today = client_for(user).get("/api/v1/verses/today").json()
            assert (today["day"], today["source"], today["reference"], today["text"], today["reflection"]) == (
                tomorrow.isoformat(),
                "plan",
                "Jean 3:16",
                text,
                REFLECTION,
            )
        assert client_for(english).get("/api/v1/verses/today").json()["source"] == "ai"
        history = client_for(french[0]).get("/api/v1/verses/history").json()
        assert history["results"][0]["source"] == "plan"
        assert tick(at_lome(tomorrow, 6, 0))["push_sent"] == 4
    assert len(ai.requests) == 9  # nothing more asked on the day
    pushed = {token: message["data"]["reference"] for token, message in fcm_stub.delivered}
    assert pushed == {**{u.fcm_token: "Jean 3:16" for u in french}, english.fcm_token: pushed[english.fcm_token]}
    assert pushed[english.fcm_token] != "Jean 3:16"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"reference": "Jea 3:16"}, "reference", "Livre inconnu : « Jea »."),
        ({"reference": "John 22:1"}, "reference", "Le chapitre 22 n'existe pas dans John (World English Bible)."),
        ({"reference": "John 3:99"}, "reference", "Le verset 99 n'existe pas dans John 3 (World English Bible)."),
        ({"reference": "John 3:16-21"}, "reference", "Passage trop long : 4 versets au plus."),
        ({"reference": "trois seize"}, "reference", None),
        (
            {"language": "fr", "reference": "Jean 3:16"},
            "reference",
            "La Louis Segond 1910 n'est pas importée (manage.py import_bible) : référence impossible à vérifier.",
        ),
        ({"reflection": "Court."}, "reflection", "La réflexion doit compter entre 20 et 600 caractères (6 reçus)."),
        ({"mood": "bored"}, "mood", "Humeur inconnue : « bored »."),
        ({"language": "de"}, "language", "Langue inconnue : « de » (fr ou en)."),
        ({"day": "2026-13-01"}, "day", "Date invalide : le format attendu est AAAA-MM-JJ."),
        ({"replace": "yes"}, "replace", None),
        ({"colour": "red"}, "colour", "Champ inconnu."),
    ],
)
def test_a_bad_plan_is_a_400_naming_the_field_and_changes_nothing(staff_client, no_ai, body, field, message):
    day = timezone.localdate() + datetime.timedelta(days=1)
    prepare(day)
    before = list(VerseOfTheDay.all_objects.order_by("pk").values())
    response = staff_client.post(
        PLANS, {"day": day.isoformat(), "language": "en", "reference": "John 3:16", **body}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    if message:
        assert response.json()[field] in ([message], message)
    assert VersePlan.objects.count() == 0
    assert list(VerseOfTheDay.all_objects.order_by("pk").values()) == before


def test_a_plan_for_a_day_already_received_is_a_409_unless_replace_then_only_the_others_get_it(staff_client, no_ai):
    early = [UserFactory(mood="sad", language="en") for _ in range(2)]
    call_command("trigger_daily_verses", stdout=io.StringIO())
    given = {u.pk: DailyVerse.objects.get(user=u).verse_id for u in early}
    today = timezone.localdate().isoformat()

    refused = staff_client.post(PLANS, {"day": today, "language": "en", "reference": "John 3:16"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["users_received"] == 2
    assert VersePlan.objects.count() == 0
    assert pairs_of(timezone.localdate())[("sad", "en")].source == "fallback"

    replaced = staff_client.post(
        PLANS, {"day": today, "language": "en", "mood": "sad", "reference": "John 3:16", "replace": True}, format="json"
    )
    assert replaced.status_code == 201
    assert (replaced.json()["pairs_changed"], replaced.json()["users_keeping_previous"]) == (1, 2)
    assert "2 utilisateur(s)" in replaced.json()["message"]
    late = UserFactory(mood="sad", language="en")
    assert client_for(late).get("/api/v1/verses/today").json()["reference"] == "John 3:16"
    for user in early:  # they keep the verse they had
        assert client_for(user).get("/api/v1/verses/today").json()["source"] == "fallback"
        assert DailyVerse.objects.get(user=user).verse_id == given[user.pk]


def test_plans_are_listed_by_date_range_and_deleted(staff_client, no_ai):
    days = [timezone.localdate() + datetime.timedelta(days=n) for n in (1, 5, 40)]
    ids = [
        staff_client.post(
            PLANS, {"day": d.isoformat(), "language": "en", "reference": "Psalm 23:1"}, format="json"
        ).json()["plan"]["id"]
        for d in days
    ]
    listed = staff_client.get(PLANS, {"start": days[0].isoformat(), "end": days[1].isoformat()}).json()
    assert [p["id"] for p in listed["results"]] == ids[:2]
    assert [p["day"] for p in staff_client.get(PLANS).json()["results"]] == [d.isoformat() for d in days]
    assert staff_client.get(PLANS, {"start": "2026-02-30"}).status_code == 400

    prepare(days[0])
    assert {v.source for v in pairs_of(days[0]).values() if v.language == "en"} == {"plan"}
    deleted = staff_client.delete(f"{PLANS}/{ids[0]}")
    assert deleted.status_code == 200
    assert deleted.json()["pairs_removed"] == 9
    assert not VersePlan.objects.filter(pk=ids[0]).exists()
    prepare(days[0])  # made again, as any other day's
    assert {v.source for v in pairs_of(days[0]).values() if v.language == "en"} == {"fallback"}
    assert staff_client.delete(f"{PLANS}/{ids[0]}").status_code == 404
    assert staff_client.delete(f"{PLANS}/nope").status_code == 404


def test_only_operators_plan(viewer_client, no_ai):
    day = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert viewer_client.get(PLANS).status_code == 200
    assert viewer_client.post(PLANS, {"day": day, "language": "en", "reference": "John 3:16"}).status_code == 403
    assert APIClient().get(PLANS).status_code == 401
    assert VersePlan.objects.count() == 0


# --- Review ------------------------------------------------------------------------------------


def test_each_review_action_is_recorded_and_sent_as_a_webhook_event(staff_client, staff_user, no_ai):
    WebhookEndpoint.objects.create(url="https://hooks.example.org/x", events=["verse.reviewed"], secret="whsec_x")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    prepare(tomorrow)
    listed = staff_client.get(REVIEW).json()
    assert listed["day"] == tomorrow.isoformat() and listed["approval_required"] is False
    assert len(listed["pairs"]) == 18 and listed["reviews"] == []
    assert [p["language"] for p in listed["pairs"]] == ["fr"] * 9 + ["en"] * 9
    pair = next(p for p in listed["pairs"] if (p["mood"], p["language"]) == ("anxious", "en"))
    assert (pair["source"], pair["approved_at"]) == ("fallback", None)

    def act(verse_id, **body):
        return staff_client.post(f"{REVIEW}/{verse_id}/actions", body, format="json")

    approved = act(pair["id"], action="approve")
    assert approved.status_code == 200 and approved.json()["verse"]["approved_by"] == "staff@example.org"
    edited = act(pair["id"], action="edit", reflection="Une réflexion relue et corrigée par l'équipe.")
    assert edited.json()["review"]["before"]["reflection"] == pair["reflection"]
    assert edited.json()["review"]["after"]["reflection"] == "Une réflexion relue et corrigée par l'équipe."
    replaced = act(pair["id"], action="replace", reference="Philippians 4:6-7")
    assert replaced.json()["verse"]["reference"] == "Philippians 4:6-7"
    assert replaced.json()["verse"]["source"] == "plan"
    assert replaced.json()["verse"]["text"].startswith("In nothing be anxious")
    # The AI is off: asking it again changes nothing.
    again = act(pair["id"], action="regenerate")
    assert again.status_code == 409
    assert VerseOfTheDay.objects.get(pk=pair["id"]).reference == "Philippians 4:6-7"
    # Bad input: 400 naming the field, nothing recorded.
    assert list(act(pair["id"], action="replace", reference="Philippians 9:1").json()) == ["reference"]
    assert list(act(pair["id"], action="edit").json()) == ["reflection"]
    assert act(999999, action="approve").status_code == 404

    reviews = list(VerseReview.objects.order_by("pk").values_list("action", "reviewed_by__email"))
    assert reviews == [(a, "staff@example.org") for a in ("approve", "edit", "replace")]
    events = [json.loads(m.body) for m in WebhookMessage.objects.filter(event="verse.reviewed").order_by("created_at")]
    assert [e["data"]["review"]["action"] for e in events] == ["approve", "edit", "replace"]
    assert events[2]["data"]["review"]["before"]["reference"] != "Philippians 4:6-7"
    assert events[2]["data"]["review"]["after"]["reference"] == "Philippians 4:6-7"
    assert [r["action"] for r in staff_client.get(REVIEW).json()["reviews"]] == ["replace", "edit", "approve"]


def test_asking_the_ai_again_gives_a_new_verse_that_awaits_approval(staff_client, ai):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    prepare(tomorrow)
    verse = pairs_of(tomorrow)[("sad", "en")]
    staff_client.post(f"{REVIEW}/{verse.pk}/actions", {"action": "approve"}, format="json")
    # The same passage again is refused (a repeat of the one under review): nothing changes.
    same = staff_client.post(f"{REVIEW}/{verse.pk}/actions", {"action": "regenerate"}, format="json")
    assert same.status_code == 409 and "(repeated)" in same.json()["detail"]
    assert VerseOfTheDay.objects.get(pk=verse.pk).approved_at is not None

    ai.enqueue(StubReply.json_text(OTHER_ANSWER))
    again = staff_client.post(f"{REVIEW}/{verse.pk}/actions", {"action": "regenerate"}, format="json")
    assert again.status_code == 200
    after = again.json()["verse"]
    assert (after["reference"], after["source"], after["approved_at"]) == ("John 14:27", "ai", None)
    assert after["text"].startswith("Peace I leave with you")
    assert again.json()["review"]["before"]["approved"] is True


OTHER_ANSWER = {
    "book": "JHN",
    "chapter": 14,
    "verse_start": 27,
    "verse_end": 27,
    "opening_words": "Peace I leave with you",
    "reflection": "Jesus gives you his peace today: let your heart rest in him and do not be afraid.",
}


# --- Held pushes -------------------------------------------------------------------------------


def test_a_held_pair_is_not_pushed_until_approved_then_pushed_once(settings, staff_client, push_tick, fcm_stub):
    settings.VERSES_REQUIRE_APPROVAL = True
    held = UserFactory(mood="sad", language="en")
    planned = UserFactory(mood="joyful", language="en")
    today = timezone.localdate()
    plan = {"day": today.isoformat(), "language": "en", "mood": "joyful", "reference": "Psalm 100:1-2"}
    assert staff_client.post(PLANS, plan, format="json").status_code == 201
    now = timezone.now()

    counts = push_tick(now)
    assert (counts["push_due"], counts["push_sent"]) == (1, 1)  # the planned pair is approved by its plan
    health = staff_client.get("/api/v1/scheduler/health").json()
    assert health["checks"]["editorial"] == {"status": "held", "approval_required": True, "held": 1}
    assert health["status"] in ("degraded", "down")
    assert not Delivery.objects.filter(user=held).exists()
    assert push_tick(now)["push_sent"] == 0

    sad = pairs_of(today)[("sad", "en")]
    staff_client.post(f"{REVIEW}/{sad.pk}/actions", {"action": "approve"}, format="json")
    assert staff_client.get("/api/v1/scheduler/health").json()["checks"]["editorial"]["held"] == 0
    assert push_tick(now)["push_sent"] == 1
    assert push_tick(now)["push_sent"] == 0
    assert Delivery.objects.get(user=held).state == "sent"
    assert fcm_stub.delivered_tokens() == {held.fcm_token: 1, planned.fcm_token: 1}


# --- Admin and dashboard -------------------------------------------------------------------------


def test_the_admin_adds_and_deletes_plans_through_the_services(admin_client, no_ai):
    day = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    form = {"day": day, "language": "en", "mood": "*", "reference": "John 3:99", "reflection": ""}
    response = admin_client.post("/admin/verses/verseplan/add/", form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "reference": ["Le verset 99 n'existe pas dans John 3 (World English Bible)."]
    }
    assert VersePlan.objects.count() == 0

    response = admin_client.post("/admin/verses/verseplan/add/", {**form, "reference": "JHN 3.16", "mood": "sad"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    plan = VersePlan.objects.get()
    assert (plan.mood, plan.reference, plan.created_by.email) == ("sad", "John 3:16", "root@example.org")
    assert admin_client.get("/admin/verses/verseplan/").status_code == 200
    assert admin_client.post(f"/admin/verses/verseplan/{plan.pk}/delete/", {"post": "yes"}).status_code == 302
    assert VersePlan.objects.count() == 0

    response = admin_client.post(
        "/admin/verses/feastsetting/add/", {"feast": "easter", "language": "en", "enabled": "", "reference": ""}
    )
    assert response.status_code == 302
    assert FeastSetting.objects.get().enabled is False
    assert admin_client.get("/admin/verses/versereview/").status_code == 200


def test_the_editorial_dashboard_page_reviews_plans_and_feasts(admin_client, viewer_client, no_ai):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    prepare(tomorrow)
    page = admin_client.get("/admin/dashboard/editorial/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="pair"') == 18 and "<strong>18</strong> à approuver" in html
    verse = pairs_of(tomorrow)[("hopeful", "fr")]
    response = admin_client.post(f"/admin/dashboard/editorial/verse/{verse.pk}/edit/", {"reflection": "court"})
    assert response.status_code == 302
    assert VerseOfTheDay.objects.get(pk=verse.pk).reflection == verse.reflection  # refused, nothing changed
    assert VerseReview.objects.count() == 0
    admin_client.post(f"/admin/dashboard/editorial/verse/{verse.pk}/approve/")
    assert VerseOfTheDay.objects.get(pk=verse.pk).approved_at is not None
    assert "<strong>17</strong> à approuver" in admin_client.get("/admin/dashboard/editorial/").content.decode()
    assert admin_client.get("/admin/dashboard/editorial/?day=demain").status_code == 404

    plan = {"day": tomorrow.isoformat(), "language": "en", "mood": "*", "reference": "Psalm 23:1"}
    admin_client.post("/admin/dashboard/editorial/plans/", plan)
    assert VersePlan.objects.get().reference == "Psalm 23:1"
    assert {v.reference for v in pairs_of(tomorrow).values() if v.language == "en"} == {"Psalm 23:1"}
    admin_client.post("/admin/dashboard/editorial/feasts/christmas/en/", {"choice": "off"})
    assert FeastSetting.objects.get(feast="christmas", language="en").enabled is False


def test_trigger_daily_verses_day_refuses_a_bad_date_and_starts_nothing(no_ai):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date YYYY-MM-DD: '2026-02-30'"):
        call_command("trigger_daily_verses", "--day", "2026-02-30", stdout=io.StringIO())
    assert not JobRun.objects.exists() and not VerseOfTheDay.all_objects.exists()
