"""Bible book names and numbers, reference formatting and the World English Bible text of a passage.

Book numbers are 1-66 in Protestant canon order, as pythonbible's ``Book`` enum numbers them.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from pathlib import Path

import pythonbible
from pythonbible.bible.errors import (
    VersionMissingBookError,
    VersionMissingChapterError,
    VersionMissingVerseError,
)

PSALMS = 19

DATA_DIR = Path(__file__).parent / "data"


@functools.cache
def _books() -> tuple[tuple[int, str, str, str], ...]:
    """(number, USFM code, English name, French name) of the 66 books, read once from ``data/books.tsv``."""
    with (DATA_DIR / "books.tsv").open(encoding="utf-8", newline="") as data:
        return tuple(
            (int(row["number"]), row["usfm"], row["en"], row["fr"]) for row in csv.DictReader(data, delimiter="\t")
        )


BOOK_NAMES_FR: dict[int, str] = {number: fr for number, _code, _en, fr in _books()}
BOOK_NAMES_EN: dict[int, str] = {number: en for number, _code, en, _fr in _books()}

# Name of a single psalm, used in references ("Psaume 23:1", "Psalm 23:1").
_PSALM_SINGULAR: dict[str, str] = {"fr": "Psaume", "en": "Psalm"}

# pythonbible's WEB appends the next psalm's heading (and "BOOK II" etc.) to a chapter's last verse.
_PSALM_HEADING = re.compile(r"\s{3,}(?:BOOK [IVX]+\s+)?Psalm \d+\b.*$", re.DOTALL)

_MISSING_ERRORS = (VersionMissingBookError, VersionMissingChapterError, VersionMissingVerseError)


def passage_key(*, book: int, chapter: int, verse_start: int, verse_end: int) -> str:
    """Stable identifier of a passage in one numbering, e.g. "19:023:001-004"."""
    return f"{book:02d}:{chapter:03d}:{verse_start:03d}-{verse_end:03d}"


def book_name(book: int, language: str) -> str:
    """Return the display name of a book in "fr" or "en" (anything else falls back to English)."""
    names = BOOK_NAMES_FR if language == "fr" else BOOK_NAMES_EN
    try:
        return names[book]
    except KeyError:
        raise ValueError(f"unknown book number: {book}") from None


def reference_display(*, book: int, chapter: int, verse_start: int, verse_end: int, language: str) -> str:
    """Format a reference such as "Philippiens 4:6-7", "Jean 3:16" or "Psalm 23:1"."""
    lang = "fr" if language == "fr" else "en"
    name = _PSALM_SINGULAR[lang] if book == PSALMS else book_name(book, lang)
    verses = str(verse_start) if verse_end == verse_start else f"{verse_start}-{verse_end}"
    return f"{name} {chapter}:{verses}"


def _clean_web_verse(text: str) -> str:
    """Tidy one pythonbible WEB verse: drop appended psalm headings, supplied-word brackets, backtick quotes."""
    text = _PSALM_HEADING.sub("", text)
    text = text.replace("`", "'").replace("[", "").replace("]", "")
    return " ".join(text.split())


def web_text(*, book: int, chapter: int, verse_start: int, verse_end: int) -> str:
    """Return the World English Bible text of a passage, verses joined by a single space."""
    if not (1 <= chapter <= 999 and 1 <= verse_start <= verse_end <= 999):
        raise ValueError(f"invalid passage: {book} {chapter}:{verse_start}-{verse_end}")
    parts: list[str] = []
    for verse in range(verse_start, verse_end + 1):
        verse_id = book * 1_000_000 + chapter * 1_000 + verse
        if not pythonbible.is_valid_verse_id(verse_id):
            raise ValueError(f"verse does not exist: {book} {chapter}:{verse}")
        try:
            text = pythonbible.get_verse_text(verse_id, version=pythonbible.Version.WORLD_ENGLISH)
        except _MISSING_ERRORS as exc:
            raise ValueError(f"verse missing from the WEB: {book} {chapter}:{verse}") from exc
        cleaned = _clean_web_verse(text)
        if not cleaned:
            raise ValueError(f"verse missing from the WEB: {book} {chapter}:{verse}")
        parts.append(cleaned)
    return " ".join(parts).strip()


# USFM/Paratext book codes: GEN is 1, REV is 66.
USFM_BOOK_CODES: dict[str, int] = {code: number for number, code, _en, _fr in _books()}


@functools.cache
def _extra_book_names() -> dict[str, int]:
    """Common names beyond the display names (``data/book_aliases.tsv``: "Psalm", "Song of Songs", ...)."""
    with (DATA_DIR / "book_aliases.tsv").open(encoding="utf-8", newline="") as data:
        return {row["name"]: int(row["number"]) for row in csv.DictReader(data, delimiter="\t")}


def _name_key(value: str) -> str:
    """Fold case, accents, spaces and punctuation: "1 Pierre" -> "1pierre", "Ésaïe" -> "esaie"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(char for char in decomposed if char.isalnum() and not unicodedata.combining(char))


_BOOK_KEYS: dict[str, int] = {
    _name_key(name): number
    for names in (USFM_BOOK_CODES, {v: k for k, v in BOOK_NAMES_EN.items()}, {v: k for k, v in BOOK_NAMES_FR.items()})
    for name, number in names.items()
} | {_name_key(name): number for name, number in _extra_book_names().items()}


def book_number(value: int | str) -> int | None:
    """Return the book number (1-66) of a number, USFM code or English/French name, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 66 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdecimal():
        return book_number(int(text))
    return _BOOK_KEYS.get(_name_key(text)) if text else None


def normalize_words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation ("L'Éternel" -> ["l", "eternel"])."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.findall(r"[a-z0-9]+", bare)


class ReferenceInvalid(ValueError):
    """A reference that cannot be used: `part` is "format", "book", "chapter", "verse" or
    "edition"; `message` is the French sentence shown to operators."""

    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part
        self.message = message


# "Jean 3:16", "1 Pierre 5:7", "Psaume 23:1-4", "Ps 23.1–4", "JHN 3:16".
_REFERENCE = re.compile(r"^(?P<book>.*?\S)\s*(?P<chapter>\d+)\s*[:.,]\s*(?P<start>\d+)(?:\s*[-–]\s*(?P<end>\d+))?$")


def passage_parse(text: str) -> tuple[int, int, int, int]:
    """(book, chapter, verse_start, verse_end) of a written reference; raises ReferenceInvalid."""
    match = _REFERENCE.match(" ".join(str(text).split()))
    if match is None:
        raise ReferenceInvalid(
            "format", f"Référence illisible : « {text} » (attendu : Livre chapitre:verset, ex. Jean 3:16)."
        )
    book = book_number(match["book"])
    if book is None:
        raise ReferenceInvalid("book", f"Livre inconnu : « {match['book']} ».")
    chapter, start = int(match["chapter"]), int(match["start"])
    end = int(match["end"]) if match["end"] else start
    if chapter < 1:
        raise ReferenceInvalid("chapter", f"Chapitre inexistant : {chapter}.")
    if start < 1 or end < start:
        raise ReferenceInvalid("verse", f"Versets invalides : {start}-{end}.")
    return book, chapter, start, end
