"""Import a whole Bible edition into `BibleVerse` from a TSV or USFM source.

The input is parsed and validated completely before anything is written; the write is one
transaction, so a bad file imports nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import shutil
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.db import transaction

from verses.bible.editions import LSG1910
from verses.bible.references import PSALMS, USFM_BOOK_CODES, normalize_words
from verses.models import BibleVerse

logger = logging.getLogger(__name__)

FORMATS = ("tsv", "usfm")
# eBible.org's Louis Segond 1910, one USFM file per book (https://ebible.org/find/details.php?id=fraLSG).
LSG_DOWNLOAD_URL = "https://ebible.org/Scriptures/fraLSG_usfm.zip"
# The SHA-256 of that archive as eBible.org served it (3,467,489 bytes, books dated 2026-08-08),
# published alike by several projects that pin it. A download must match the pin: eBible.org may
# republish the archive, and then an operator checks the new one and passes its digest.
LSG_DOWNLOAD_SHA256 = "3a0615e992ffd412b1afcaed50d146bba5ec8ae2378f04ca71459a4cd2d7cc33"
DOWNLOAD_TIMEOUT_SECONDS = 30
DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024  # the zip is about 3.5 MB
# What a complete Louis Segond 1910 holds: 31,170 verses in its own numbering (sources differ by
# a few verses), and these verses, which an English-numbered text would put elsewhere.
LSG_VERSE_COUNT_RANGE = (31_000, 31_300)
LSG_KNOWN_VERSES: dict[tuple[int, int, int], str] = {
    (1, 1, 1): "Au commencement, Dieu créa les cieux et la terre",
    (19, 3, 9): "Le salut est auprès de l'Éternel",
    (19, 34, 20): "Le malheur atteint souvent le juste",
    (19, 51, 3): "O Dieu! aie pitié de moi dans ta bonté",
    (43, 3, 16): "Car Dieu a tant aimé le monde",
    (66, 22, 21): "Que la grâce du Seigneur Jésus soit avec tous",
}
# Psalms whose superscription Louis Segond numbers as verses (English editions do not).
LSG_PSALM_LENGTHS: dict[int, int] = {3: 9, 34: 23, 51: 21, 119: 176, 150: 6}
BATCH_SIZE = 2000
_MAX_NUMBER = 999  # chapters and verses; the longest book has 150 chapters, the longest chapter 176 verses
_USFM_SUFFIXES = (".usfm", ".sfm")

VerseKey = tuple[int, int, int]  # (book, chapter, verse)


class BibleImportError(Exception):
    """A problem in an import source, located by file and line when there is one."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")


@dataclass
class _Verses:
    """Parsed verses with the place each one came from, to report duplicates."""

    texts: dict[VerseKey, str]
    origins: dict[VerseKey, tuple[Path, int]]

    def add(self, key: VerseKey, text: str, *, path: Path, line: int) -> None:
        if not text:
            raise BibleImportError(path, line, f"verse {_display(key)} has no text")
        if key in self.origins:
            first_path, first_line = self.origins[key]
            where = f"line {first_line}" if first_path == path else f"{first_path}:{first_line}"
            raise BibleImportError(path, line, f"duplicate verse {_display(key)} (first at {where})")
        self.texts[key] = text
        self.origins[key] = (path, line)


def _display(key: VerseKey) -> str:
    book, chapter, verse = key
    return f"{book} {chapter}:{verse}"


def bible_import(*, path: Path, edition: str = LSG1910, fmt: str | None = None) -> dict:
    """Import an edition's verses from a TSV (optionally gzipped) or USFM file or directory.

    Returns the counts {"verses", "created", "updated", "unchanged"}.
    """
    path = Path(path)
    if not 1 <= len(edition) <= BibleVerse._meta.get_field("edition").max_length:
        raise BibleImportError(path, None, f"invalid edition id {edition!r}")
    fmt = fmt or _detect_format(path)
    if fmt not in FORMATS:
        raise BibleImportError(path, None, f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    verses = _parse_tsv(path) if fmt == "tsv" else _parse_usfm(path)
    if not verses:
        raise BibleImportError(path, None, "no verses found")
    return _verses_save(edition=edition, texts=verses)


def _detect_format(path: Path) -> str:
    if path.is_dir():
        return "usfm"
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes[-1:] == [".gz"]:
        suffixes.pop()
    if suffixes[-1:] == [".tsv"]:
        return "tsv"
    if suffixes[-1:] and suffixes[-1] in _USFM_SUFFIXES:
        return "usfm"
    raise BibleImportError(path, None, "cannot tell the format from the file name; pass --format tsv or usfm")


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without its end of line) of a UTF-8 text file, gzipped or not."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BibleImportError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise BibleImportError(path, None, f"cannot read: {exc}") from None


def _number(value: str, *, what: str, path: Path, line: int, maximum: int = _MAX_NUMBER) -> int:
    value = value.strip()
    if not value.isdecimal() or not 1 <= int(value) <= maximum:
        raise BibleImportError(path, line, f"bad {what} number {value!r} (expected 1-{maximum})")
    return int(value)


# -- TSV: book<TAB>chapter<TAB>verse<TAB>text, after an optional header row ----------------------


def _parse_tsv(path: Path) -> dict[VerseKey, str]:
    verses = _Verses({}, {})
    for line_number, line in _read_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t", 3)
        if line_number == 1 and not any(field.strip().isdecimal() for field in fields[:3]):
            continue  # header row
        if len(fields) < 4:
            raise BibleImportError(path, line_number, f"expected 4 tab-separated columns, found {len(fields)}")
        key = (
            _number(fields[0], what="book", path=path, line=line_number, maximum=66),
            _number(fields[1], what="chapter", path=path, line=line_number),
            _number(fields[2], what="verse", path=path, line=line_number),
        )
        verses.add(key, fields[3].strip(), path=path, line=line_number)
    return verses.texts


# -- USFM, as eBible.org publishes it: one book per file ----------------------------------------

# Notes, cross references, figures and alternate/published verse numbers: dropped with their content.
_USFM_DROPPED = re.compile(r"\\(fe|f|ef|ex|x|fig|ca|va|vp|rq)\s.*?\\\1\*", re.DOTALL)
# Word attributes: `\w grâce|strong="H2580"\w*`.
_USFM_ATTRIBUTES = re.compile(r"\|[^\\\n]*")
_USFM_CHAPTER_VERSE = re.compile(r"\\(c|v)\s+(\S+)\s?")
_USFM_LINE_MARKER = re.compile(r"\\([A-Za-z0-9-]+)")
# Any other marker: paragraph (`\p`, `\q1`), character (`\add `, `\add*`, `\+w`) or milestone end.
_USFM_MARKER = re.compile(r"\\\+?[A-Za-z0-9-]+\*|\\\+?[A-Za-z0-9-]+\s?|\\\*")
# Lines that are not Bible text: identification, titles, headings, introductions, remarks.
_USFM_NON_TEXT_LINE = re.compile(
    r"(?:id|ide|usfm|sts|rem|restore|h|toc|toca|mt|mte|imt|imte|is|iq|io|ili|ms|mr|s|sr|r|d|sp|cl|cd|qa)\d*"
    r"|ip|ipi|im|imi|ipq|imq|ipr|ib|iot|iex|ie"
)


def _parse_usfm(path: Path) -> dict[VerseKey, str]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _USFM_SUFFIXES)
        if not files:
            raise BibleImportError(path, None, "no .usfm or .sfm file in this directory")
    else:
        files = [path]
    verses = _Verses({}, {})
    for file in files:
        _parse_usfm_file(file, verses)
    return verses.texts


def _usfm_text(fragment: str) -> str:
    """Plain text of a USFM fragment: markers removed, whitespace collapsed."""
    fragment = _USFM_MARKER.sub("", fragment.replace("//", " ").replace("~", " "))
    return " ".join(fragment.split())


def _parse_usfm_file(path: Path, verses: _Verses) -> None:
    text = "\n".join(line for _, line in _read_lines(path))
    # Keep the line count so that errors point at the right line.
    text = _USFM_DROPPED.sub(lambda match: "\n" * match.group(0).count("\n"), text)
    text = _USFM_ATTRIBUTES.sub("", text)

    book: int | None = None
    chapter: int | None = None
    current: tuple[VerseKey, int, list[str]] | None = None  # verse, its line, its text fragments

    def finish() -> None:
        nonlocal current
        if current is not None:
            key, line, fragments = current
            verses.add(key, " ".join(fragments).strip(), path=path, line=line)
            current = None

    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        marker = _USFM_LINE_MARKER.match(line)
        if marker and marker.group(1) == "id":
            finish()
            code = (line[marker.end() :].split() or [""])[0].upper()
            book, chapter = USFM_BOOK_CODES.get(code), None  # other books (FRT, GLO...) are skipped
            continue
        if book is None:
            continue
        # Text before the first \c or \v of the line, then (kind, number, text) triples.
        parts = _USFM_CHAPTER_VERSE.split(line)
        if marker and _USFM_NON_TEXT_LINE.fullmatch(marker.group(1)):
            parts[0] = ""
        if current is not None and (fragment := _usfm_text(parts[0])):
            current[2].append(fragment)
        for kind, number, fragment in zip(parts[1::3], parts[2::3], parts[3::3]):
            finish()
            if kind == "c":
                chapter = _number(number, what="chapter", path=path, line=line_number)
                continue
            if chapter is None:
                raise BibleImportError(path, line_number, f"verse {number} before the first chapter")
            verse = _number(number, what="verse", path=path, line=line_number)
            current = ((book, chapter, verse), line_number, [_usfm_text(fragment)])
    finish()


# -- Write ----------------------------------------------------------------------------------------


@transaction.atomic
def _verses_save(*, edition: str, texts: dict[VerseKey, str]) -> dict:
    """Create new verses, update changed ones, leave identical ones alone."""
    existing = {
        (book, chapter, verse): (pk, text)
        for pk, book, chapter, verse, text in BibleVerse.objects.filter(edition=edition).values_list(
            "pk", "book", "chapter", "verse", "text"
        )
    }
    to_create: list[BibleVerse] = []
    to_update: list[BibleVerse] = []
    for (book, chapter, verse), text in texts.items():
        if (book, chapter, verse) not in existing:
            to_create.append(BibleVerse(edition=edition, book=book, chapter=chapter, verse=verse, text=text))
            continue
        pk, old_text = existing[(book, chapter, verse)]
        if old_text != text:
            to_update.append(BibleVerse(pk=pk, text=text))
    BibleVerse.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    BibleVerse.objects.bulk_update(to_update, ["text"], batch_size=BATCH_SIZE)
    return {
        "verses": len(texts),
        "created": len(to_create),
        "updated": len(to_update),
        "unchanged": len(texts) - len(to_create) - len(to_update),
    }


# -- Download (eBible.org's USFM zip) and checks of a whole Louis Segond 1910 ---------------------


def lsg_check(texts: dict[VerseKey, str], *, source: str) -> None:
    """Raise BibleImportError unless ``texts`` is a whole Louis Segond 1910 in its own numbering."""
    low, high = LSG_VERSE_COUNT_RANGE
    if not low <= len(texts) <= high:
        raise BibleImportError(source, None, f"{len(texts)} verses, expected {low:,}-{high:,} for a whole Bible")
    books = {book for book, _, _ in texts}
    if len(books) != 66:
        missing = sorted(set(range(1, 67)) - books)
        raise BibleImportError(source, None, f"books missing: {', '.join(map(str, missing))}")
    for (book, chapter, verse), expected in LSG_KNOWN_VERSES.items():
        text = texts.get((book, chapter, verse), "")
        wanted = normalize_words(expected)
        if normalize_words(text)[: len(wanted)] != wanted:
            raise BibleImportError(
                source,
                None,
                f"verse {book} {chapter}:{verse} is not Louis Segond's (expected it to start with {expected!r})",
            )
    for psalm, length in LSG_PSALM_LENGTHS.items():
        found = max((v for b, c, v in texts if b == PSALMS and c == psalm), default=0)
        if found != length:
            raise BibleImportError(
                source,
                None,
                f"Psalm {psalm} has {found} verses, Louis Segond numbers {length} (not Louis Segond's psalm numbering)",
            )


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port (eBible.org moving a file on its own
    site); refuse one to another host or to plain HTTP."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old = urllib.parse.urlsplit(req.full_url)
        new = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl))
        if (new.scheme, new.netloc.lower()) != (old.scheme, old.netloc.lower()):
            raise BibleImportError(
                req.full_url,
                None,
                f"redirect to another host or scheme refused ({code} to {new.scheme}://{new.netloc})",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download_url_problem(url: str) -> str | None:
    """Why `url` may not be downloaded from (only https: no file://, no plain HTTP), or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"only https:// URLs are downloaded (got {parts.scheme or 'no scheme'}://)"
    return None


def _download(url: str, destination: Path) -> str:
    """Fetch `url` into `destination` (https only, TLS verified, size capped); its SHA-256."""
    if problem := download_url_problem(url):
        raise BibleImportError(url, None, problem)
    # The system's certificate authorities (SSL_CERT_FILE, as OpenSSL reads it, names others).
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl.create_default_context()), _SameOriginRedirects()
    )
    request = urllib.request.Request(url, headers={"User-Agent": "SoulVerse-import_bible"})
    digest = hashlib.sha256()
    try:
        with opener.open(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response, destination.open("wb") as out:
            if download_url_problem(response.geturl()):  # belt and braces: the redirect handler checked it
                raise BibleImportError(url, None, f"redirected to {response.geturl()}")
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > DOWNLOAD_MAX_BYTES:
                    raise BibleImportError(url, None, f"larger than {DOWNLOAD_MAX_BYTES // 2**20} MB")
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise BibleImportError(url, None, f"cannot download: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BibleImportError(url, None, f"cannot download: {reason}") from None
    return digest.hexdigest()


def _unzip_usfm(archive: Path, destination: Path, *, source: str) -> None:
    """Extract the archive's .usfm/.sfm files (by base name only: no path from the archive is trusted)."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [
                m
                for m in bundle.infolist()
                if not m.is_dir() and PurePosixPath(m.filename).suffix.lower() in _USFM_SUFFIXES
            ]
            if not members:
                raise BibleImportError(source, None, "no .usfm file in the zip")
            if sum(m.file_size for m in members) > DOWNLOAD_MAX_BYTES:
                raise BibleImportError(source, None, "the zip's files are too large")
            for member in members:
                target = destination / PurePosixPath(member.filename).name
                with bundle.open(member) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BibleImportError(source, None, f"not a usable zip ({exc})") from None


def bible_download(*, url: str = LSG_DOWNLOAD_URL, sha256: str = LSG_DOWNLOAD_SHA256, edition: str = LSG1910) -> dict:
    """Download eBible.org's Louis Segond 1910 USFM zip, check it is the archive pinned by `sha256`
    and whole, import it all or nothing."""
    with tempfile.TemporaryDirectory(prefix="soulverse-bible-") as work:
        archive = Path(work) / "bible.zip"
        books = Path(work) / "usfm"
        books.mkdir()
        digest = _download(url, archive)
        if digest != sha256.lower():
            raise BibleImportError(url, None, f"SHA-256 {digest} is not the expected {sha256.lower()}")
        _unzip_usfm(archive, books, source=url)
        try:
            texts = _parse_usfm(books)
        except BibleImportError as exc:  # name the file as the zip names it, not the temporary copy
            raise BibleImportError(f"{url}!{Path(exc.path).name}", exc.line, exc.problem) from None
        lsg_check(texts, source=url)
        counts = _verses_save(edition=edition, texts=texts)
    logger.info("event=bible_imported edition=%s verses=%d created=%d", edition, counts["verses"], counts["created"])
    return counts
