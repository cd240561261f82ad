import logging
from unittest import mock

import pytest
from django_q.conf import Conf

from scheduler.tasks import job_run
from soulverse.testing.gemini_stub import StubReply, good_answer
from users.models import Device, User
from users.tests.factories import UserFactory
from verses.ai.gemini import provider_get
from verses.generation.on_demand import daily_verse_for_user


@pytest.mark.django_db
def test_the_logs_of_a_whole_run_hold_no_token_email_key_or_full_user_id(caplog, settings, gemini_stub):
    settings.GEMINI_API_KEY = "secret-api-key-5f3c9"
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_RETRIES = 0
    provider_get.cache_clear()
    answers = iter([StubReply.error(429, "quota for key secret-api-key-5f3c9")])
    gemini_stub.respond(lambda body: next(answers, None) or good_answer(body))
    users = [
        UserFactory(mood=mood, language=language, fcm_token=f"fcm-{mood}-{language}-token")
        for mood in ("sad", "joyful")
        for language in ("fr", "en")
    ]
    caplog.set_level(logging.DEBUG)

    with (
        mock.patch.object(Conf, "SYNC", True),
        mock.patch("scheduler.services.transaction.on_commit", lambda func, using=None: func()),
    ):
        job_run("daily_verses_generation")
        job_run("user_stats_update")
        job_run("cache_cleanup")
    daily_verse_for_user(user=UserFactory(mood="angry"))
    provider_get.cache_clear()

    text = caplog.text
    assert "event=daily_verses_prepared" in text and "ai_failure_rate_limit=1" in text
    for user in [*users, *User.objects.all()]:
        assert user.email not in text
        assert user.id.hex not in text and str(user.id) not in text
    for identifier in Device.objects.values_list("identifier", flat=True):  # FCM tokens, FIDs
        assert identifier not in text
    assert "secret-api-key-5f3c9" not in text
    assert "event=verse_on_demand user=" in text  # ids appear truncated
