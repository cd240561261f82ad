"""Tests for the curated fallback verses and Bible display helpers (no Django needed)."""

from __future__ import annotations

import csv
import gzip
from functools import cache

import pytest

from verses.bible.curated import DEFAULT_MOOD, MOODS, CuratedVerse, curated_pool, curated_verses
from verses.bible.references import BOOK_NAMES_EN, BOOK_NAMES_FR, reference_display, web_text
from verses.tests.shared_data import LSG_PATH, needs_lsg

ALL_POOLS = (*MOODS, DEFAULT_MOOD)
ALL_VERSES = [(mood, verse) for mood in ALL_POOLS for verse in curated_verses()[mood]]
ALL_IDS = [f"{mood}-{verse.reference('en')}" for mood, verse in ALL_VERSES]


@cache
def _lsg() -> dict[tuple[int, int, int], str]:
    """Load the Louis Segond 1910 text keyed by (book, chapter, verse)."""
    verses: dict[tuple[int, int, int], str] = {}
    with gzip.open(LSG_PATH, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        assert header == ["book", "chapter", "verse", "text"]
        for book, chapter, verse, text in reader:
            verses[(int(book), int(chapter), int(verse))] = text
    return verses


def test_book_names_cover_the_66_books() -> None:
    assert sorted(BOOK_NAMES_FR) == list(range(1, 67))
    assert sorted(BOOK_NAMES_EN) == list(range(1, 67))
    assert BOOK_NAMES_FR[1] == "Genèse" and BOOK_NAMES_FR[66] == "Apocalypse"
    assert BOOK_NAMES_EN[1] == "Genesis" and BOOK_NAMES_EN[66] == "Revelation"


@pytest.mark.parametrize("mood", ALL_POOLS)
def test_pool_size_and_unique_keys(mood: str) -> None:
    pool = curated_verses()[mood]
    assert len(pool) >= 8
    keys = [verse.key for verse in pool]
    assert len(keys) == len(set(keys)), f"duplicate keys in {mood}"
    for verse in pool:
        assert 1 <= verse.verse_end - verse.verse_start + 1 <= 3
        assert verse.fr_verse_end - verse.fr_verse_start == verse.verse_end - verse.verse_start


def test_all_pools_present_and_total() -> None:
    assert set(curated_verses()) == set(ALL_POOLS)
    assert sum(len(pool) for pool in curated_verses().values()) >= 72


def test_curated_pool_fallback() -> None:
    assert curated_pool("sad") is curated_verses()["sad"]
    assert curated_pool("") is curated_verses()[DEFAULT_MOOD]
    assert curated_pool("unknown-mood") is curated_verses()[DEFAULT_MOOD]


def test_key_and_reference() -> None:
    verse = CuratedVerse(19, 34, 18, 18, 34, 19, 19, "fr", "en")
    assert verse.key == "19:034:018-018"
    assert verse.reference("fr") == "Psaume 34:19"
    assert verse.reference("en") == "Psalm 34:18"


@needs_lsg
@pytest.mark.parametrize(("mood", "verse"), ALL_VERSES, ids=ALL_IDS)
def test_text_fr_matches_lsg(mood: str, verse: CuratedVerse) -> None:
    lsg = _lsg()
    expected = " ".join(
        lsg[(verse.book, verse.fr_chapter, number)] for number in range(verse.fr_verse_start, verse.fr_verse_end + 1)
    )
    assert verse.text_fr == expected, f"{mood}: {verse.reference('fr')} differs from the LSG text"


@pytest.mark.parametrize(("mood", "verse"), ALL_VERSES, ids=ALL_IDS)
def test_text_en_matches_web(mood: str, verse: CuratedVerse) -> None:
    expected = web_text(
        book=verse.book, chapter=verse.chapter, verse_start=verse.verse_start, verse_end=verse.verse_end
    )
    assert verse.text_en == expected, f"{mood}: {verse.reference('en')} differs from the WEB text"


@pytest.mark.parametrize(
    ("kwargs", "french", "english"),
    [
        ({"book": 50, "chapter": 4, "verse_start": 6, "verse_end": 7}, "Philippiens 4:6-7", "Philippians 4:6-7"),
        ({"book": 19, "chapter": 23, "verse_start": 1, "verse_end": 1}, "Psaume 23:1", "Psalm 23:1"),
        ({"book": 60, "chapter": 5, "verse_start": 7, "verse_end": 7}, "1 Pierre 5:7", "1 Peter 5:7"),
        ({"book": 43, "chapter": 3, "verse_start": 16, "verse_end": 16}, "Jean 3:16", "John 3:16"),
    ],
)
def test_reference_display(kwargs: dict[str, int], french: str, english: str) -> None:
    assert reference_display(**kwargs, language="fr") == french
    assert reference_display(**kwargs, language="en") == english


def test_web_text_single_and_range() -> None:
    assert web_text(book=19, chapter=23, verse_start=1, verse_end=1) == "Yahweh is my shepherd: I shall lack nothing."
    text = web_text(book=50, chapter=4, verse_start=6, verse_end=7)
    assert text.startswith("In nothing be anxious") and text.endswith("in Christ Jesus.")
    assert "  " not in text


def test_web_text_strips_next_psalm_heading() -> None:
    assert web_text(book=19, chapter=16, verse_start=11, verse_end=11).endswith("pleasures forevermore.")


def test_web_text_rejects_missing_verse() -> None:
    with pytest.raises(ValueError):
        web_text(book=65, chapter=2, verse_start=1, verse_end=1)
    with pytest.raises(ValueError):
        web_text(book=19, chapter=23, verse_start=7, verse_end=7)


def test_the_curated_moods_are_the_user_moods():
    from users.models import Mood

    assert MOODS == tuple(Mood.values)
