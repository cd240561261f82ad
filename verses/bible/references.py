"""Bible book names and numbers, reference formatting and the World English Bible text of a passage.

Book numbers are 1-66 in Protestant canon order, as pythonbible's ``Book`` enum numbers them.
"""

from __future__ import annotations

import re
import unicodedata

import pythonbible
from pythonbible.bible.errors import (
    VersionMissingBookError,
    VersionMissingChapterError,
    VersionMissingVerseError,
)

PSALMS = 19

BOOK_NAMES_FR: dict[int, str] = {
    1: "Genèse",
    2: "Exode",
    3: "Lévitique",
    4: "Nombres",
    5: "Deutéronome",
    6: "Josué",
    7: "Juges",
    8: "Ruth",
    9: "1 Samuel",
    10: "2 Samuel",
    11: "1 Rois",
    12: "2 Rois",
    13: "1 Chroniques",
    14: "2 Chroniques",
    15: "Esdras",
    16: "Néhémie",
    17: "Esther",
    18: "Job",
    19: "Psaumes",
    20: "Proverbes",
    21: "Ecclésiaste",
    22: "Cantique des Cantiques",
    23: "Ésaïe",
    24: "Jérémie",
    25: "Lamentations",
    26: "Ézéchiel",
    27: "Daniel",
    28: "Osée",
    29: "Joël",
    30: "Amos",
    31: "Abdias",
    32: "Jonas",
    33: "Michée",
    34: "Nahum",
    35: "Habacuc",
    36: "Sophonie",
    37: "Aggée",
    38: "Zacharie",
    39: "Malachie",
    40: "Matthieu",
    41: "Marc",
    42: "Luc",
    43: "Jean",
    44: "Actes",
    45: "Romains",
    46: "1 Corinthiens",
    47: "2 Corinthiens",
    48: "Galates",
    49: "Éphésiens",
    50: "Philippiens",
    51: "Colossiens",
    52: "1 Thessaloniciens",
    53: "2 Thessaloniciens",
    54: "1 Timothée",
    55: "2 Timothée",
    56: "Tite",
    57: "Philémon",
    58: "Hébreux",
    59: "Jacques",
    60: "1 Pierre",
    61: "2 Pierre",
    62: "1 Jean",
    63: "2 Jean",
    64: "3 Jean",
    65: "Jude",
    66: "Apocalypse",
}

BOOK_NAMES_EN: dict[int, str] = {
    1: "Genesis",
    2: "Exodus",
    3: "Leviticus",
    4: "Numbers",
    5: "Deuteronomy",
    6: "Joshua",
    7: "Judges",
    8: "Ruth",
    9: "1 Samuel",
    10: "2 Samuel",
    11: "1 Kings",
    12: "2 Kings",
    13: "1 Chronicles",
    14: "2 Chronicles",
    15: "Ezra",
    16: "Nehemiah",
    17: "Esther",
    18: "Job",
    19: "Psalms",
    20: "Proverbs",
    21: "Ecclesiastes",
    22: "Song of Solomon",
    23: "Isaiah",
    24: "Jeremiah",
    25: "Lamentations",
    26: "Ezekiel",
    27: "Daniel",
    28: "Hosea",
    29: "Joel",
    30: "Amos",
    31: "Obadiah",
    32: "Jonah",
    33: "Micah",
    34: "Nahum",
    35: "Habakkuk",
    36: "Zephaniah",
    37: "Haggai",
    38: "Zechariah",
    39: "Malachi",
    40: "Matthew",
    41: "Mark",
    42: "Luke",
    43: "John",
    44: "Acts",
    45: "Romans",
    46: "1 Corinthians",
    47: "2 Corinthians",
    48: "Galatians",
    49: "Ephesians",
    50: "Philippians",
    51: "Colossians",
    52: "1 Thessalonians",
    53: "2 Thessalonians",
    54: "1 Timothy",
    55: "2 Timothy",
    56: "Titus",
    57: "Philemon",
    58: "Hebrews",
    59: "James",
    60: "1 Peter",
    61: "2 Peter",
    62: "1 John",
    63: "2 John",
    64: "3 John",
    65: "Jude",
    66: "Revelation",
}

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


# USFM/Paratext book codes in canon order: GEN is 1, REV is 66.
_USFM_CODES: tuple[str, ...] = (
    "GEN",
    "EXO",
    "LEV",
    "NUM",
    "DEU",
    "JOS",
    "JDG",
    "RUT",
    "1SA",
    "2SA",
    "1KI",
    "2KI",
    "1CH",
    "2CH",
    "EZR",
    "NEH",
    "EST",
    "JOB",
    "PSA",
    "PRO",
    "ECC",
    "SNG",
    "ISA",
    "JER",
    "LAM",
    "EZK",
    "DAN",
    "HOS",
    "JOL",
    "AMO",
    "OBA",
    "JON",
    "MIC",
    "NAM",
    "HAB",
    "ZEP",
    "HAG",
    "ZEC",
    "MAL",
    "MAT",
    "MRK",
    "LUK",
    "JHN",
    "ACT",
    "ROM",
    "1CO",
    "2CO",
    "GAL",
    "EPH",
    "PHP",
    "COL",
    "1TH",
    "2TH",
    "1TI",
    "2TI",
    "TIT",
    "PHM",
    "HEB",
    "JAS",
    "1PE",
    "2PE",
    "1JN",
    "2JN",
    "3JN",
    "JUD",
    "REV",
)
USFM_BOOK_CODES: dict[str, int] = {code: number for number, code in enumerate(_USFM_CODES, start=1)}

# Common names beyond the display tables above.
_EXTRA_BOOK_NAMES: dict[str, int] = {"Psalm": 19, "Psaume": 19, "Song of Songs": 22, "Isaïe": 23}


def _name_key(value: str) -> str:
    """Fold case, accents, spaces and punctuation: "1 Pierre" -> "1pierre", "Ésaïe" -> "esaie"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(char for char in decomposed if char.isalnum() and not unicodedata.combining(char))


_BOOK_KEYS: dict[str, int] = {
    _name_key(name): number
    for names in (USFM_BOOK_CODES, {v: k for k, v in BOOK_NAMES_EN.items()}, {v: k for k, v in BOOK_NAMES_FR.items()})
    for name, number in names.items()
} | {_name_key(name): number for name, number in _EXTRA_BOOK_NAMES.items()}


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
