"""Tests for Bible book numbers, passage text and the `import_bible` command."""

from __future__ import annotations

import gzip
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from verses.bible.curated import curated_verses
from verses.bible.editions import LSG1910, lsg_imported, passage_text
from verses.bible.references import USFM_BOOK_CODES, book_number
from verses.models import BibleVerse
from verses.tests.shared_data import LSG_PATH, LSG_VERSES, needs_lsg

PHILIPPIANS_4_6_7 = next(
    verse for verse in curated_verses()["anxious"] if (verse.book, verse.chapter, verse.verse_start) == (50, 4, 6)
)


def _import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_bible", str(path), *args, stdout=out)
    return out.getvalue()


def _table() -> list[tuple]:
    return list(BibleVerse.objects.order_by("pk").values_list("pk", "edition", "book", "chapter", "verse", "text"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- book_number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (19, 19),
        ("19", 19),
        ("PSA", 19),
        ("psa", 19),
        ("Psalms", 19),
        ("Psalm", 19),
        ("Psaumes", 19),
        ("Psaume", 19),
        ("1 Pierre", 60),
        ("1 Peter", 60),
        ("1PE", 60),
        ("Esaie", 23),
        ("Ésaïe", 23),
        ("Jude", 65),
        ("JUD", 65),
        ("Hezekiah", None),
        (0, None),
        (67, None),
        ("67", None),
        ("", None),
    ],
)
def test_book_number(value, expected):
    assert book_number(value) == expected


def test_usfm_book_codes_cover_the_canon_in_order():
    assert list(USFM_BOOK_CODES.values()) == list(range(1, 67))
    assert (USFM_BOOK_CODES["GEN"], USFM_BOOK_CODES["PSA"], USFM_BOOK_CODES["REV"]) == (1, 19, 66)


# -- passage_text -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_passage_text_before_the_import_uses_the_curated_french():
    assert not lsg_imported()
    philippians = {"book": 50, "chapter": 4, "verse_start": 6, "verse_end": 7}
    assert passage_text(language="fr", **philippians) == PHILIPPIANS_4_6_7.text_fr
    assert passage_text(language="fr", book=50, chapter=4, verse_start=6, verse_end=6) is None  # not curated
    assert passage_text(language="fr", book=43, chapter=11, verse_start=35, verse_end=35) is None
    assert passage_text(language="en", **philippians) == PHILIPPIANS_4_6_7.text_en


@pytest.mark.django_db
def test_passage_text_rejects_a_reversed_range():
    for language in ("fr", "en"):
        assert passage_text(language=language, book=50, chapter=4, verse_start=7, verse_end=6) is None


@needs_lsg
@pytest.mark.django_db
def test_passage_text_after_the_import_uses_the_louis_segond_numbering(django_assert_num_queries):
    _import(LSG_PATH)
    assert lsg_imported()

    with django_assert_num_queries(1):
        psalm = passage_text(language="fr", book=19, chapter=34, verse_start=20, verse_end=20)
    assert psalm.startswith("Le malheur atteint souvent le juste")
    assert not passage_text(language="fr", book=19, chapter=34, verse_start=19, verse_end=19).startswith("Le malheur")
    assert passage_text(language="fr", book=65, chapter=1, verse_start=2, verse_end=2) == (
        "que la miséricorde, la paix et la charité vous soient multipliées!"
    )
    assert passage_text(language="en", book=65, chapter=1, verse_start=2, verse_end=2) == (
        "Mercy to you and peace and love be multiplied."
    )
    assert passage_text(language="fr", book=65, chapter=2, verse_start=1, verse_end=1) is None
    assert passage_text(language="en", book=65, chapter=2, verse_start=1, verse_end=1) is None
    # A range reaching past the chapter's end does not exist either.
    assert passage_text(language="fr", book=65, chapter=1, verse_start=24, verse_end=26) is None

    philippians = {"book": 50, "chapter": 4, "verse_start": 6, "verse_end": 7}
    assert passage_text(language="fr", **philippians) == PHILIPPIANS_4_6_7.text_fr
    assert passage_text(language="en", **philippians) == PHILIPPIANS_4_6_7.text_en
    assert passage_text(language="fr", book=43, chapter=11, verse_start=35, verse_end=35) == "Jésus pleura."
    assert passage_text(language="fr", book=50, chapter=4, verse_start=7, verse_end=6) is None


# -- import_bible: TSV --------------------------------------------------------------------------


@needs_lsg
@pytest.mark.django_db
def test_import_bible_imports_the_shared_tsv_once():
    assert _import(LSG_PATH) == f"{LSG_VERSES} verses: {LSG_VERSES} created, 0 updated, 0 unchanged\n"
    assert BibleVerse.objects.filter(edition=LSG1910).count() == LSG_VERSES
    assert BibleVerse.objects.get(edition=LSG1910, book=1, chapter=1, verse=1).text == (
        "Au commencement, Dieu créa les cieux et la terre."
    )
    table = _table()

    assert _import(LSG_PATH) == f"{LSG_VERSES} verses: 0 created, 0 updated, {LSG_VERSES} unchanged\n"
    assert _table() == table


@pytest.mark.django_db
def test_import_bible_creates_updates_and_keeps_verses(tmp_path):
    first = _write(tmp_path / "a.tsv", "book\tchapter\tverse\ttext\n65\t1\t1\tJude.\n65\t1\t2\tMiséricorde.\n")
    assert _import(first) == "2 verses: 2 created, 0 updated, 0 unchanged\n"
    second = _write(tmp_path / "b.tsv", "65\t1\t1\tJude.\n65\t1\t2\tLa paix.\n65\t1\t3\tBien-aimés.\n")
    assert _import(second) == "3 verses: 1 created, 1 updated, 1 unchanged\n"
    assert list(BibleVerse.objects.order_by("verse").values_list("edition", "verse", "text")) == [
        (LSG1910, 1, "Jude."),
        (LSG1910, 2, "La paix."),
        (LSG1910, 3, "Bien-aimés."),
    ]


@pytest.mark.django_db
def test_import_bible_reads_gzip_and_other_editions(tmp_path):
    path = tmp_path / "web.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("43\t11\t35\tJesus wept.\n")
    assert _import(path, "--edition", "web") == "1 verses: 1 created, 0 updated, 0 unchanged\n"
    assert list(BibleVerse.objects.values_list("edition", "book", "chapter", "verse", "text")) == [
        ("web", 43, 11, 35, "Jesus wept.")
    ]
    assert not lsg_imported()


@pytest.mark.django_db
def test_import_bible_takes_the_format_from_the_option(tmp_path):
    path = _write(tmp_path / "lsg.txt", "43\t11\t35\tJésus pleura.\n")
    with pytest.raises(CommandError, match=r"cannot tell the format"):
        _import(path)
    assert _import(path, "--format", "tsv") == "1 verses: 1 created, 0 updated, 0 unchanged\n"


MALFORMED_TSV = [
    pytest.param(
        "book\tchapter\tverse\ttext\n1\t1\t1\tAu commencement.\n1\tx\t2\tLa terre.\n", 3, "bad chapter", id="chapter"
    ),
    pytest.param("1\t1\t1\tAu commencement.\n67\t1\t1\tAmen.\n", 2, "bad book number '67'", id="book"),
    pytest.param("1\t1\t1\tAu commencement.\n1\t1\t2\n", 2, "expected 4 tab-separated columns", id="no-text-column"),
    pytest.param("1\t1\t1\tAu commencement.\n1\t1\t2\t  \n", 2, "has no text", id="empty-text"),
    pytest.param(
        "1\t1\t1\tA.\n1\t1\t2\tB.\n1\t1\t1\tC.\n", 3, "duplicate verse 1 1:1 (first at line 1)", id="duplicate"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "line", "problem"), MALFORMED_TSV)
def test_import_bible_rejects_a_malformed_tsv_and_imports_nothing(tmp_path, content, line, problem):
    path = _write(tmp_path / "bad.tsv", content)
    with pytest.raises(CommandError) as error:
        _import(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert problem in str(error.value)
    assert "\n" not in str(error.value)
    assert not BibleVerse.objects.exists()


@pytest.mark.django_db
def test_import_bible_failure_leaves_a_previous_import_unchanged(tmp_path):
    _import(_write(tmp_path / "good.tsv", "1\t1\t1\tAu commencement.\n1\t1\t2\tLa terre.\n"))
    table = _table()
    bad = _write(tmp_path / "bad.tsv", "1\t1\t1\tChangé.\n1\t1\t3\tNouveau.\n1\t1\t2\tChangé.\n1\t1\t3\tEncore.\n")
    with pytest.raises(CommandError, match=rf"^{re.escape(str(bad))}:4: duplicate verse 1 1:3 \(first at line 2\)$"):
        _import(bad)
    assert _table() == table


@pytest.mark.django_db
def test_import_bible_rejects_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match=r"no such file or directory"):
        _import(tmp_path / "missing.tsv")


# -- import_bible: USFM -------------------------------------------------------------------------

PSALMS_USFM = r"""\id PSA - French Louis Segond 1910
\h Psaumes
\toc1 Les Psaumes
\mt1 Psaumes
\c 1
\s1 Les deux voies
\q1
\v 1 Heureux l'\w homme|strong="H0376"\w* qui ne marche pas selon le conseil des méchants,\f + \fr 1.1 \ft Ou: impies.\f*
\q2 Qui ne s'arrête pas sur la voie des pécheurs,
\v 2 Mais qui trouve son plaisir dans la \add loi\add* de l'\nd Éternel\nd*.\x - \xo 1.2 \xt Jos 1.8\x*
\c 2
\d \v 1 Pourquoi ce tumulte parmi les nations,
\q1 Ces vaines pensées parmi les peuples?
\p
\v 2 Pourquoi les rois de la terre se soulèvent-ils?
"""

FRONT_MATTER_USFM = r"""\id FRT - front matter
\c 1
\v 1 Préface qui n'est pas un verset.
"""


@pytest.mark.django_db
def test_import_bible_reads_a_usfm_directory(tmp_path):
    _write(tmp_path / "00-FRTfrLSG.usfm", FRONT_MATTER_USFM)
    _write(tmp_path / "20-PSAfrLSG.usfm", PSALMS_USFM)
    _write(tmp_path / "notes.txt", "not scripture")

    assert _import(tmp_path) == "4 verses: 4 created, 0 updated, 0 unchanged\n"
    assert list(BibleVerse.objects.order_by("chapter", "verse").values_list("book", "chapter", "verse", "text")) == [
        (
            19,
            1,
            1,
            (
                "Heureux l'homme qui ne marche pas selon le conseil des méchants, "
                "Qui ne s'arrête pas sur la voie des pécheurs,"
            ),
        ),
        (19, 1, 2, "Mais qui trouve son plaisir dans la loi de l'Éternel."),
        (19, 2, 1, "Pourquoi ce tumulte parmi les nations, Ces vaines pensées parmi les peuples?"),
        (19, 2, 2, "Pourquoi les rois de la terre se soulèvent-ils?"),
    ]
    assert _import(tmp_path / "20-PSAfrLSG.usfm") == "4 verses: 0 created, 0 updated, 4 unchanged\n"


@pytest.mark.django_db
def test_import_bible_rejects_a_malformed_usfm_and_imports_nothing(tmp_path):
    path = _write(tmp_path / "PSA.SFM", PSALMS_USFM + "\\v 2 Encore le verset 2.\n")
    with pytest.raises(
        CommandError, match=rf"^{re.escape(str(path))}:16: duplicate verse 19 2:2 \(first at line 15\)$"
    ):
        _import(path)
    assert not BibleVerse.objects.exists()
