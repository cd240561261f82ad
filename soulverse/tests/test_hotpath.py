"""soulverse.hotpath and soulverse.memos: the fast routes decided in one table, the marks a view puts
on its answer, and the process memos' bound, expiry and reset."""

import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from django.utils.log import log_response
from django.utils.module_loading import import_string

from soulverse import memos
from soulverse.hotpath import FAST_ROUTES, answer_expected, replay_body_per_request, replay_variant, replayable
from soulverse.memos import Memo, memos_reset
from soulverse.wsgi import application


@pytest.mark.parametrize("status", [401, 429, 503])
def test_django_logs_no_line_for_an_expected_answer(status, caplog):
    """Fails if django.utils.log.log_response stops honouring the attribute answer_expected sets."""
    request = RequestFactory().get("/api/v1/verses/today")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        log_response("%s", "plain", response=HttpResponse(status=status), request=request)
        assert len(caplog.records) == 1  # the unmarked one is logged, as Django always did
        log_response("%s", "marked", response=answer_expected(HttpResponse(status=status)), request=request)
    assert [record.getMessage() for record in caplog.records] == ["plain"]


def test_replayable_marks_a_variant_and_nothing_else_is_marked():
    assert replay_variant(HttpResponse()) is None
    assert replay_variant(replayable(HttpResponse(), "anonymous")) == "anonymous"
    assert not replay_body_per_request(replayable(HttpResponse(), "anonymous"))
    assert replay_body_per_request(replayable(HttpResponse(), "kept", body_per_request=True))


def test_the_urls_and_the_replay_route_the_same_fast_paths_to_the_tables_views():
    replayed = application.routes
    for route in FAST_ROUTES:
        for path in route.paths():
            match = resolve(path)
            assert (match.func, match.url_name) == (import_string(route.view), route.name)
            variant_of, body_of = replayed[path]
            assert variant_of is import_string(route.variant)
            assert body_of is (route.body and import_string(route.body))
    assert sorted(replayed) == sorted(path for route in FAST_ROUTES for path in route.paths())
    assert sorted(replayed) == [
        "/api/schema/",
        "/api/v1/scheduler/health",
        "/api/v1/scheduler/health/",
        "/api/v1/verses/today",
        "/api/v1/verses/today/",
    ]


def test_a_full_memo_drops_its_oldest_entry(monkeypatch):
    monkeypatch.setitem(memos.SIZES, "replay.answers", 3)
    memo = Memo("replay.answers")
    for n in range(3):
        memo.set(n, str(n))
    memo.set(0, "zero")  # a new value makes the entry the newest
    memo.set(3, "3")
    assert list(memo.keys()) == [2, 0, 3]
    assert (memo.get(1), memo.get(0), len(memo)) == (None, "zero", 3)


def test_an_entry_expires_after_its_time_to_live():
    memo = Memo("verses.invalid_keys")
    memo.set("forever", True)
    memo.set("gone", True, ttl=0)
    memo.set("later", True, ttl=60)
    assert ("forever" in memo, "gone" in memo, "later" in memo) == (True, False, True)
    assert (memo.get("gone", "default"), list(memo.keys())) == ("default", ["forever", "later"])


def test_every_memo_needs_a_size_and_one_reset_empties_them_all():
    with pytest.raises(KeyError, match="no size"):
        Memo("unknown.memo")
    first, second = Memo("watchdog.owners"), Memo("schema.refusals")
    first.set(1, "a")
    second.set("", "b")
    memos_reset()
    assert (len(first), len(second)) == (0, 0)
