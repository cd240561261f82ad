"""The editions a language reads (World English Bible, Louis Segond 1910) and a passage's text in them."""

from __future__ import annotations

import functools

import pythonbible

from verses.bible.curated import curated_verses
from verses.bible.references import ReferenceInvalid, book_name, web_text
from verses.models import BibleVerse

# Edition id of the French Louis Segond 1910 text imported with `manage.py import_bible`.
LSG1910 = "lsg1910"

WEB = "web"


@functools.cache
def web_verse_count() -> int:
    """Verses of the World English Bible (pythonbible's numbering), counted once per process."""
    return sum(
        pythonbible.get_number_of_verses(book, chapter)
        for book in pythonbible.Book
        if book.value <= 66
        for chapter in range(1, pythonbible.get_number_of_chapters(book) + 1)
    )


def edition_verse_count(edition: str) -> int:
    """Verses of an imported edition in the database (0 before `import_bible`)."""
    return BibleVerse.objects.filter(edition=edition).count()


def editions_state() -> dict:
    """Each language's edition and its verse count, for health and status."""
    french = edition_verse_count(LSG1910)
    return {
        "fr": {
            "edition": LSG1910,
            "name": "Louis Segond 1910",
            "verses": french,
            "status": "ok" if french else "missing",
        },
        "en": {"edition": WEB, "name": "World English Bible", "verses": web_verse_count(), "status": "ok"},
    }


def lsg_imported() -> bool:
    """Whether the Louis Segond 1910 text has been imported (`manage.py import_bible`)."""
    return BibleVerse.objects.filter(edition=LSG1910).exists()


def passage_text(*, language: str, book: int, chapter: int, verse_start: int, verse_end: int) -> str | None:
    """Return a passage's exact text in the language's edition, or None if any verse does not exist.

    "fr" is the Louis Segond 1910 (its own numbering), anything else the World English Bible.
    Before the LSG import, French text exists only for the curated verses.
    """
    if verse_end < verse_start:
        return None
    if language != "fr":
        try:
            return web_text(book=book, chapter=chapter, verse_start=verse_start, verse_end=verse_end)
        except ValueError:
            return None
    return _lsg_text(book=book, chapter=chapter, verse_start=verse_start, verse_end=verse_end)


def _lsg_text(*, book: int, chapter: int, verse_start: int, verse_end: int) -> str | None:
    texts = list(
        BibleVerse.objects.filter(
            edition=LSG1910, book=book, chapter=chapter, verse__gte=verse_start, verse__lte=verse_end
        )
        .order_by("verse")
        .values_list("text", flat=True)
    )
    if len(texts) == verse_end - verse_start + 1:
        return " ".join(texts)
    if texts or lsg_imported():
        return None
    return _curated_fr_texts().get((book, chapter, verse_start, verse_end))


@functools.cache
def _curated_fr_texts() -> dict[tuple[int, int, int, int], str]:
    """The curated French texts keyed by their Louis Segond (book, chapter, verse_start, verse_end)."""
    return {
        (verse.book, verse.fr_chapter, verse.fr_verse_start, verse.fr_verse_end): verse.text_fr
        for pool in curated_verses().values()
        for verse in pool
    }


EDITION_NAMES = {"fr": "Louis Segond 1910", "en": "World English Bible"}


def passage_verify(*, language: str, book: int, chapter: int, verse_start: int, verse_end: int) -> str:
    """The passage's text in the language's edition; raises ReferenceInvalid naming what is
    missing (the edition itself, the book, the chapter or a verse)."""
    name = book_name(book, language)
    edition = EDITION_NAMES["fr" if language == "fr" else "en"]
    if language == "fr":
        if not lsg_imported():
            raise ReferenceInvalid(
                "edition",
                f"La {edition} n'est pas importée (manage.py import_bible) : référence impossible à vérifier.",
            )
        last = (
            BibleVerse.objects.filter(edition=LSG1910, book=book, chapter=chapter)
            .order_by("-verse")
            .values_list("verse", flat=True)
            .first()
        )
        if last is None:
            raise ReferenceInvalid("chapter", f"Le chapitre {chapter} n'existe pas dans {name} ({edition}).")
    else:
        pb = pythonbible.Book(book)
        if chapter > pythonbible.get_number_of_chapters(pb):
            raise ReferenceInvalid("chapter", f"Le chapitre {chapter} n'existe pas dans {name} ({edition}).")
        last = pythonbible.get_number_of_verses(pb, chapter)
    if verse_end > last:
        raise ReferenceInvalid("verse", f"Le verset {verse_end} n'existe pas dans {name} {chapter} ({edition}).")
    text = passage_text(language=language, book=book, chapter=chapter, verse_start=verse_start, verse_end=verse_end)
    if text is None:
        raise ReferenceInvalid(
            "verse", f"Versets absents de la {edition} : {name} {chapter}:{verse_start}-{verse_end}."
        )
    return text
