"""`import_bible --download`: eBible.org's fraLSG USFM zip, served by a local HTTPS server whose
certificate authority the command trusts through SSL_CERT_FILE (verses/tests/tls.py).

The zip is built in the test from the shared Louis Segond 1910 TSV (one USFM file per book, as
eBible.org publishes it); no Bible text is kept in the project.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import socket
import ssl
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

from soulverse.testing.tls import local_tls
from verses.bible.editions import LSG1910, passage_text
from verses.bible.importer import LSG_DOWNLOAD_SHA256, LSG_DOWNLOAD_URL
from verses.bible.references import USFM_BOOK_CODES
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
        lines = books.setdefault(
            book,
            [
                f"\\id {CODES[book]} Louis Segond 1910",
                "\\usfm 3.0",
                "\\ide UTF-8",
                f"\\h {CODES[book]}",
                f"\\toc1 {CODES[book]}",
                f"\\mt1 {CODES[book]}",
            ],
        )
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
    """A local HTTPS (or, given no TLS context, HTTP) server: GET /fraLSG_usfm.zip answers ``body``,
    a path in ``redirects`` answers 302 to its location, other paths 404. Counts requests."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.body = b""
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
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
        self.scheme = "http"
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._http.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/fraLSG_usfm.zip"

    def pinned(self) -> list[str]:
        """The command's arguments to download this server's archive, its digest pinned."""
        return ["--url", self.url, "--sha256", hashlib.sha256(self.body).hexdigest()]


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[ZipServer]:
    server = ZipServer(tls)
    server._thread.start()
    try:
        yield server
    finally:
        server._http.shutdown()
        server._http.server_close()


@pytest.fixture
def tls(tmp_path, monkeypatch) -> ssl.SSLContext:
    """A server context whose authority the command trusts (and only for this test)."""
    ca_file, context = local_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return context


@pytest.fixture
def zip_server(tls) -> Iterator[ZipServer]:
    with serving(tls) as server:
        yield server


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


def test_the_default_url_is_ebibles_fralsg_usfm_zip_pinned():
    assert LSG_DOWNLOAD_URL == "https://ebible.org/Scriptures/fraLSG_usfm.zip"
    assert django_settings.BIBLE_LSG_DOWNLOAD_URL == LSG_DOWNLOAD_URL
    assert django_settings.BIBLE_LSG_DOWNLOAD_SHA256 == LSG_DOWNLOAD_SHA256
    assert LSG_DOWNLOAD_SHA256 == "3a0615e992ffd412b1afcaed50d146bba5ec8ae2378f04ca71459a4cd2d7cc33"


def test_download_imports_the_whole_louis_segond_checked(zip_server, lsg_verses):
    zip_server.body = usfm_zip(lsg_verses)

    output = _download(*zip_server.pinned())

    assert output == (
        f"French edition: lsg1910 imported from {zip_server.url}: {LSG_VERSES} verses, "
        f"{LSG_VERSES} created, 0 updated, 0 unchanged"
    )
    assert BibleVerse.objects.filter(edition=LSG1910).count() == LSG_VERSES
    assert passage_text(language="fr", book=1, chapter=1, verse_start=1, verse_end=1) == lsg_verses[(1, 1, 1)]
    assert passage_text(language="fr", book=19, chapter=51, verse_start=3, verse_end=3) == lsg_verses[(19, 51, 3)]
    assert passage_text(language="fr", book=43, chapter=3, verse_start=16, verse_end=16) == lsg_verses[(43, 3, 16)]
    assert zip_server.requests == ["/fraLSG_usfm.zip"]

    again = _download(*zip_server.pinned())
    assert again.endswith(f"{LSG_VERSES} verses, 0 created, 0 updated, {LSG_VERSES} unchanged")

    skipped = _download(*zip_server.pinned(), "--if-missing")
    assert skipped == f"French edition: lsg1910 already imported ({LSG_VERSES} verses)"
    assert len(zip_server.requests) == 2  # --if-missing downloads nothing


def test_a_zip_with_a_few_books_is_refused(zip_server, lsg_verses):
    zip_server.body = usfm_zip({key: text for key, text in lsg_verses.items() if key[0] in (1, 19, 43)})

    message = _fails(*zip_server.pinned())

    assert message.startswith(f"French edition not imported: {zip_server.url}: ")
    assert "verses, expected 31,000-31,300 for a whole Bible" in message


def test_english_psalm_numbering_is_refused(zip_server, lsg_verses):
    # Psalm 51 as English Bibles number it: the two superscription verses folded away.
    english = {key: text for key, text in lsg_verses.items() if key[:2] != (19, 51)}
    english.update({(19, 51, verse - 2): lsg_verses[(19, 51, verse)] for verse in range(3, 22)})
    zip_server.body = usfm_zip(english)

    message = _fails(*zip_server.pinned())

    assert "verse 19 51:3 is not Louis Segond's" in message


def test_another_text_is_refused(zip_server, lsg_verses):
    changed = dict(lsg_verses)
    changed[(43, 3, 16)] = "For God so loved the world, that he gave his one and only Son"
    zip_server.body = usfm_zip(changed)

    assert "verse 43 3:16 is not Louis Segond's" in _fails(*zip_server.pinned())


def test_a_malformed_book_names_its_file_and_line(zip_server, lsg_verses):
    buffer = io.BytesIO(usfm_zip(lsg_verses))
    with zipfile.ZipFile(buffer, "a") as bundle:
        bundle.writestr("99-XXAfraLSG.usfm", "\\id REV\n\\v 1 Un verset avant tout chapitre.\n")
    zip_server.body = buffer.getvalue()

    message = _fails(*zip_server.pinned())

    assert f"{zip_server.url}!99-XXAfraLSG.usfm:2: verse 1 before the first chapter" in message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>Not a zip</html>", "not a usable zip"),
        (None, "no .usfm file in the zip"),
    ],
)
def test_a_body_that_is_not_the_usfm_zip_is_refused(zip_server, body, problem):
    if body is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            bundle.writestr("readme.txt", "rien")
        body = buffer.getvalue()
    zip_server.body = body

    assert problem in _fails(*zip_server.pinned())


def test_a_404_and_an_unreachable_host_are_one_line_and_import_nothing(zip_server):
    missing = _fails("--url", zip_server.url.replace("fraLSG_usfm.zip", "gone.zip"), "--sha256", "0" * 64)
    assert "cannot download: HTTP 404" in missing

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = _fails("--url", f"https://127.0.0.1:{closed_port}/fraLSG_usfm.zip", "--sha256", "0" * 64)
    assert "cannot download:" in offline and "Connection refused" in offline
    assert offline.endswith(
        "French verses come from the curated set until `manage.py import_bible --download` succeeds"
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "give either a PATH or --download"),
        (["some.tsv", "--download"], "give either a PATH or --download"),
        (["some.tsv", "--url", "https://127.0.0.1:9/x.zip"], "--url and --sha256 go with --download"),
        (["some.tsv", "--sha256", "0" * 64], "--url and --sha256 go with --download"),
        (["--download", "--sha256", "abc"], r"--sha256: 64 hexadecimal digits"),
    ],
)
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
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        "BIBLE_LSG_DOWNLOAD_URL": f"https://127.0.0.1:{closed_port}/fraLSG_usfm.zip",
    }
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    else:  # the test database, not the one DATABASE_URL names
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        )

    result = subprocess.run(
        [sys.executable, "manage.py", "import_bible", "--download", "--if-missing"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: French edition not imported: ")


# --- Issue 21, finding 8: https only, no redirect elsewhere, the archive pinned ---------------------


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/fraLSG_usfm.zip", "file:///etc/passwd", "ftp://127.0.0.1/fraLSG_usfm.zip"]
)
def test_only_https_urls_are_downloaded(url):
    message = _fails("--url", url, "--sha256", "0" * 64)
    assert f"{url}: only https:// URLs are downloaded" in message


def test_a_plain_http_server_is_never_asked(lsg_verses):
    with serving() as plain:
        plain.body = usfm_zip(lsg_verses)
        assert "only https:// URLs are downloaded (got http://)" in _fails(*plain.pinned())
        assert plain.requests == []


def test_a_redirect_to_another_host_or_to_http_is_refused(zip_server, tls, lsg_verses):
    zip_server.body = usfm_zip(lsg_verses)
    digest = hashlib.sha256(zip_server.body).hexdigest()
    with serving(tls) as elsewhere, serving() as plain:
        elsewhere.body = plain.body = zip_server.body
        port = elsewhere.origin.rsplit(":", 1)[1]
        zip_server.redirects = {
            "/other-host": f"https://localhost:{port}/fraLSG_usfm.zip",  # the certificate is valid for it too
            "/plain": f"{plain.url}",
        }
        host = _fails("--url", f"{zip_server.origin}/other-host", "--sha256", digest)
        assert f"redirect to another host or scheme refused (302 to https://localhost:{port})" in host
        scheme = _fails("--url", f"{zip_server.origin}/plain", "--sha256", digest)
        assert f"redirect to another host or scheme refused (302 to {plain.origin})" in scheme
        assert elsewhere.requests == [] and plain.requests == []


def test_a_redirect_on_the_same_host_is_followed(zip_server, lsg_verses):
    zip_server.body = usfm_zip(lsg_verses)
    zip_server.redirects = {"/Scriptures/latest.zip": "/fraLSG_usfm.zip"}
    output = _download(
        "--url", f"{zip_server.origin}/Scriptures/latest.zip", "--sha256", hashlib.sha256(zip_server.body).hexdigest()
    )
    assert output.endswith(f"{LSG_VERSES} verses, {LSG_VERSES} created, 0 updated, 0 unchanged")
    assert zip_server.requests == ["/Scriptures/latest.zip", "/fraLSG_usfm.zip"]


def test_an_archive_that_is_not_the_pinned_one_is_refused(zip_server, lsg_verses):
    """A whole, valid Louis Segond that is not the archive pinned is still refused: the pin says
    what is pushed to every French user."""
    zip_server.body = usfm_zip(lsg_verses)
    digest = hashlib.sha256(zip_server.body).hexdigest()
    message = _fails("--url", zip_server.url, "--sha256", "ab" * 32)
    assert message.startswith(
        f"French edition not imported: {zip_server.url}: SHA-256 {digest} is not the expected {'ab' * 32};"
    )


def test_the_default_archive_is_checked_against_the_pin(zip_server, lsg_verses, settings):
    """BIBLE_LSG_DOWNLOAD_URL (here the local server) is checked against BIBLE_LSG_DOWNLOAD_SHA256
    (eBible.org's digest): the local archive is another one, so refused; with its digest set, imported."""
    zip_server.body = usfm_zip(lsg_verses)
    settings.BIBLE_LSG_DOWNLOAD_URL = zip_server.url
    assert f"is not the expected {LSG_DOWNLOAD_SHA256};" in _fails()
    settings.BIBLE_LSG_DOWNLOAD_SHA256 = hashlib.sha256(zip_server.body).hexdigest()
    assert _download().endswith(f"{LSG_VERSES} verses, {LSG_VERSES} created, 0 updated, 0 unchanged")


def test_another_url_needs_its_digest(zip_server, lsg_verses):
    zip_server.body = usfm_zip(lsg_verses)
    message = _fails("--url", zip_server.url)
    assert message == (
        f"French edition not imported: no SHA-256 to check {zip_server.url} against; download it, "
        "check it, and pass its digest with --sha256"
    )
    assert zip_server.requests == []


def test_a_certificate_the_system_does_not_trust_is_refused(lsg_verses, tmp_path, monkeypatch):
    _, untrusted = local_tls(tmp_path)  # its authority is not in SSL_CERT_FILE
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with serving(untrusted) as server:
        server.body = usfm_zip(lsg_verses)
        message = _fails(*server.pinned())
        assert "cannot download:" in message and "CERTIFICATE_VERIFY_FAILED" in message
