"""`import_bible --download`: eBible.org's fraLSG USFM zip, served by a local HTTP server.

The zip is built in the test from the shared Louis Segond 1910 TSV (one USFM file per book, as
eBible.org publishes it); no Bible text is kept in the project.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from verses.bible import LSG1910, USFM_BOOK_CODES, passage_text
from verses.bible_import import LSG_DOWNLOAD_URL
from verses.models import BibleVerse
from verses.tests.shared_data import LSG_PATH, LSG_VERSES, needs_lsg

CODES = {number: code for code, number in USFM_BOOK_CODES.items()}

pytestmark = [
    pytest.mark.django_db,
    needs_lsg,
]

Verses = dict[tuple[int, int, int], str]


def _lsg() -> Verses:
    verses: Verses = {}
    with gzip.open(LSG_PATH, "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            book, chapter, verse, text = line.rstrip("\n").split("\t", 3)
            verses[(int(book), int(chapter), int(verse))] = text
    return verses


@pytest.fixture(scope="module")
def lsg_verses() -> Verses:
    return _lsg()


def usfm_zip(verses: Verses) -> bytes:
    """An eBible.org-style USFM zip: `NN-CODEfraLSG.usfm` per book, \\id, headers, \\c, \\p/\\q1, \\v."""
    books: dict[int, list[str]] = {}
    chapter_seen: set[tuple[int, int]] = set()
    for (book, chapter, verse), text in sorted(verses.items()):
        lines = books.setdefault(book, [
            f"\\id {CODES[book]} Louis Segond 1910", "\\usfm 3.0", "\\ide UTF-8", f"\\h {CODES[book]}",
            f"\\toc1 {CODES[book]}", f"\\mt1 {CODES[book]}",
        ])
        if (book, chapter) not in chapter_seen:
            chapter_seen.add((book, chapter))
            lines += [f"\\c {chapter}", "\\q1" if book == 19 else "\\p"]
        if verse == 1 and chapter == 1 and book == 1:
            text += " \\f + \\fr 1.1 \\ft Une note de bas de page.\\f*"  # notes are dropped
        lines.append(f"\\v {verse} {text}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("00-FRTfraLSG.usfm", "\\id FRT\n\\mt1 La Sainte Bible\n\\p Texte de présentation.\n")
        for book, lines in books.items():
            bundle.writestr(f"{book + 1:02d}-{CODES[book]}fraLSG.usfm", "\n".join(lines) + "\n")
        bundle.writestr("copr.htm", "<html>Domaine public</html>")
    return buffer.getvalue()


class ZipServer:
    """A local HTTP server: GET /fraLSG_usfm.zip answers ``body``; other paths 404. Counts requests."""

    def __init__(self) -> None:
        self.body = b""
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path != "/fraLSG_usfm.zip":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/fraLSG_usfm.zip"


@pytest.fixture
def zip_server() -> Iterator[ZipServer]:
    server = ZipServer()
    server._thread.start()
    yield server
    server._http.shutdown()
    server._http.server_close()


def _download(*args: str) -> str:
    out = StringIO()
    call_command("import_bible", "--download", *args, stdout=out)
    return out.getvalue().strip()


def _fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        _download(*args)
    message = str(caught.value)
    assert "\n" not in message  # one line
    assert BibleVerse.objects.count() == 0  # all or nothing
    return message


def test_the_default_url_is_ebibles_fralsg_usfm_zip():
    assert LSG_DOWNLOAD_URL == "https://ebible.org/Scriptures/fraLSG_usfm.zip"
    assert django_settings.BIBLE_LSG_DOWNLOAD_URL == LSG_DOWNLOAD_URL


def test_download_imports_the_whole_louis_segond_checked(zip_server, lsg_verses):
    zip_server.body = usfm_zip(lsg_verses)

    output = _download("--url", zip_server.url)

    assert output == (f"French edition: lsg1910 imported from {zip_server.url}: {LSG_VERSES} verses, "
                      f"{LSG_VERSES} created, 0 updated, 0 unchanged")
    assert BibleVerse.objects.filter(edition=LSG1910).count() == LSG_VERSES
    assert passage_text(language="fr", book=1, chapter=1, verse_start=1, verse_end=1) == lsg_verses[(1, 1, 1)]
    assert passage_text(language="fr", book=19, chapter=51, verse_start=3, verse_end=3) == lsg_verses[(19, 51, 3)]
    assert passage_text(language="fr", book=43, chapter=3, verse_start=16, verse_end=16) == lsg_verses[(43, 3, 16)]
    assert zip_server.requests == ["/fraLSG_usfm.zip"]

    again = _download("--url", zip_server.url)
    assert again.endswith(f"{LSG_VERSES} verses, 0 created, 0 updated, {LSG_VERSES} unchanged")

    skipped = _download("--url", zip_server.url, "--if-missing")
    assert skipped == f"French edition: lsg1910 already imported ({LSG_VERSES} verses)"
    assert len(zip_server.requests) == 2  # --if-missing downloads nothing


def test_a_zip_with_a_few_books_is_refused(zip_server, lsg_verses):
    zip_server.body = usfm_zip({key: text for key, text in lsg_verses.items() if key[0] in (1, 19, 43)})

    message = _fails("--url", zip_server.url)

    assert message.startswith(f"French edition not imported: {zip_server.url}: ")
    assert "verses, expected 31,000-31,300 for a whole Bible" in message


def test_english_psalm_numbering_is_refused(zip_server, lsg_verses):
    # Psalm 51 as English Bibles number it: the two superscription verses folded away.
    english = {key: text for key, text in lsg_verses.items() if key[:2] != (19, 51)}
    english.update({(19, 51, verse - 2): lsg_verses[(19, 51, verse)] for verse in range(3, 22)})
    zip_server.body = usfm_zip(english)

    message = _fails("--url", zip_server.url)

    assert "verse 19 51:3 is not Louis Segond's" in message


def test_another_text_is_refused(zip_server, lsg_verses):
    changed = dict(lsg_verses)
    changed[(43, 3, 16)] = "For God so loved the world, that he gave his one and only Son"
    zip_server.body = usfm_zip(changed)

    assert "verse 43 3:16 is not Louis Segond's" in _fails("--url", zip_server.url)


def test_a_malformed_book_names_its_file_and_line(zip_server, lsg_verses):
    buffer = io.BytesIO(usfm_zip(lsg_verses))
    with zipfile.ZipFile(buffer, "a") as bundle:
        bundle.writestr("99-XXAfraLSG.usfm", "\\id REV\n\\v 1 Un verset avant tout chapitre.\n")
    zip_server.body = buffer.getvalue()

    message = _fails("--url", zip_server.url)

    assert f"{zip_server.url}!99-XXAfraLSG.usfm:2: verse 1 before the first chapter" in message


@pytest.mark.parametrize(("body", "problem"), [
    (b"<html>Not a zip</html>", "not a usable zip"),
    (None, "no .usfm file in the zip"),
])
def test_a_body_that_is_not_the_usfm_zip_is_refused(zip_server, body, problem):
    if body is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            bundle.writestr("readme.txt", "rien")
        body = buffer.getvalue()
    zip_server.body = body

    assert problem in _fails("--url", zip_server.url)


def test_a_404_and_an_unreachable_host_are_one_line_and_import_nothing(zip_server):
    missing = _fails("--url", zip_server.url.replace("fraLSG_usfm.zip", "gone.zip"))
    assert "cannot download: HTTP 404" in missing

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = _fails("--url", f"http://127.0.0.1:{closed_port}/fraLSG_usfm.zip")
    assert "cannot download:" in offline and "Connection refused" in offline
    assert offline.endswith("French verses come from the curated set until `manage.py import_bible --download` "
                            "succeeds")


@pytest.mark.parametrize(("args", "problem"), [
    ([], "give either a PATH or --download"),
    (["some.tsv", "--download"], "give either a PATH or --download"),
    (["some.tsv", "--url", "http://127.0.0.1:9/x.zip"], "--url goes with --download"),
])
def test_bad_arguments_are_one_line(args, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("import_bible", *args)


def test_make_setup_tries_the_download_once_and_carries_on_when_offline():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "$(MANAGE) import_bible --download --if-missing || true" in makefile


@pytest.mark.django_db(transaction=True)
def test_offline_the_command_prints_one_line_and_exits_non_zero(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
           "BIBLE_LSG_DOWNLOAD_URL": f"http://127.0.0.1:{closed_port}/fraLSG_usfm.zip"}
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    else:  # the test database, not the one DATABASE_URL names
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        env["DATABASE_URL"] = (f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/"
                               f"{database['NAME']}")

    result = subprocess.run([sys.executable, "manage.py", "import_bible", "--download", "--if-missing"],
                            cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                            timeout=60)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: French edition not imported: ")
