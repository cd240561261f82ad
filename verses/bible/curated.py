"""Curated fallback verses per mood, in French (Louis Segond 1910) and English (World English Bible).

Each passage is numbered twice: ``book``/``chapter``/``verse_*`` follow the English (WEB) numbering,
``fr_chapter``/``fr_verse_*`` the Louis Segond numbering, which differs in many Psalms.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from verses.bible.references import passage_key, reference_display

MOODS: tuple[str, ...] = ("joyful", "sad", "anxious", "grateful", "lonely", "stressed", "angry", "hopeful")
DEFAULT_MOOD = "default"


@dataclass(frozen=True)
class CuratedVerse:
    """A short passage with its French (LSG 1910) and English (WEB) text and numbering."""

    book: int
    chapter: int
    verse_start: int
    verse_end: int
    fr_chapter: int
    fr_verse_start: int
    fr_verse_end: int
    text_fr: str
    text_en: str

    @property
    def key(self) -> str:
        """Stable identifier from the English numbering, e.g. "19:023:001-004"."""
        return passage_key(book=self.book, chapter=self.chapter, verse_start=self.verse_start, verse_end=self.verse_end)

    def reference(self, language: str) -> str:
        """Display reference: LSG numbering for "fr", WEB numbering otherwise."""
        if language == "fr":
            return reference_display(
                book=self.book,
                chapter=self.fr_chapter,
                verse_start=self.fr_verse_start,
                verse_end=self.fr_verse_end,
                language="fr",
            )
        return reference_display(
            book=self.book,
            chapter=self.chapter,
            verse_start=self.verse_start,
            verse_end=self.verse_end,
            language=language,
        )

    def numbering(self, language: str) -> tuple[int, int, int]:
        """(chapter, first verse, last verse) in the language's edition."""
        if language == "fr":
            return self.fr_chapter, self.fr_verse_start, self.fr_verse_end
        return self.chapter, self.verse_start, self.verse_end

    def text(self, language: str) -> str:
        """Verse text in French for "fr", English otherwise."""
        return self.text_fr if language == "fr" else self.text_en


DATA_FILE = Path(__file__).parent / "data" / "curated_verses.json"


@functools.cache
def curated_verses() -> dict[str, tuple[CuratedVerse, ...]]:
    """Every mood's curated verses (and the default pool), read once from ``data/curated_verses.json``."""
    with DATA_FILE.open(encoding="utf-8") as data:
        pools = json.load(data)
    return {mood: tuple(CuratedVerse(**verse) for verse in verses) for mood, verses in pools.items()}


def curated_pool(mood: str) -> tuple[CuratedVerse, ...]:
    """Return the curated verses for a mood, or the default pool for an empty or unknown mood."""
    pools = curated_verses()
    return pools.get(mood or DEFAULT_MOOD, pools[DEFAULT_MOOD])
