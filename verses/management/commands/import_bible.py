import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from soulverse.management import Command as ProjectCommand
from verses.bible.editions import LSG1910, edition_verse_count
from verses.bible.importer import FORMATS, BibleImportError, bible_download, bible_import


class Command(ProjectCommand):
    help = (
        "Import a Bible edition from a TSV file (book, chapter, verse, text; .gz allowed) or USFM "
        "files, or download Louis Segond 1910 from eBible.org (--download); idempotent, and a bad "
        "source imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", type=Path, nargs="?", help="a .tsv or .tsv.gz file, a .usfm/.sfm file or a directory of them"
        )
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")
        parser.add_argument("--edition", default=LSG1910, help=f"edition id (default: {LSG1910})")
        parser.add_argument(
            "--download",
            action="store_true",
            help="download Louis Segond 1910 (eBible.org's fraLSG USFM zip), check it, import it",
        )
        parser.add_argument("--url", help="with --download: where from, https only (default: BIBLE_LSG_DOWNLOAD_URL)")
        parser.add_argument(
            "--sha256",
            help="with --download: the archive's SHA-256 (default: "
            "BIBLE_LSG_DOWNLOAD_SHA256 for BIBLE_LSG_DOWNLOAD_URL; required for "
            "another --url)",
        )
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the edition already has verses")

    def handle(self, *args, **options):
        path: Path | None = options["path"]
        edition = options["edition"]
        if options["download"] == (path is not None):
            raise CommandError("give either a PATH or --download")
        if (options["url"] or options["sha256"]) and not options["download"]:
            raise CommandError("--url and --sha256 go with --download")
        if options["sha256"] is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", options["sha256"]):
            raise CommandError("--sha256: 64 hexadecimal digits (`sha256sum fraLSG_usfm.zip`)")
        if options["if_missing"] and (present := edition_verse_count(edition)):
            self.stdout.write(f"French edition: {edition} already imported ({present} verses)")
            return
        if options["download"]:
            url = options["url"] or settings.BIBLE_LSG_DOWNLOAD_URL
            sha256 = options["sha256"]
            if sha256 is None and url == settings.BIBLE_LSG_DOWNLOAD_URL:
                sha256 = settings.BIBLE_LSG_DOWNLOAD_SHA256
            if not sha256:
                raise CommandError(
                    f"French edition not imported: no SHA-256 to check {url} against; download it, "
                    "check it, and pass its digest with --sha256"
                )
            try:
                counts = bible_download(url=url, sha256=sha256, edition=edition)
            except BibleImportError as exc:
                raise CommandError(
                    f"French edition not imported: {exc}; French verses come from the curated set until "
                    "`manage.py import_bible --download` succeeds"
                ) from None
            self.stdout.write(
                f"French edition: {edition} imported from {url}: {counts['verses']} verses, {counts['created']} "
                f"created, {counts['updated']} updated, {counts['unchanged']} unchanged"
            )
            return
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
        try:
            counts = bible_import(path=path, edition=edition, fmt=options["format"])
        except BibleImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{counts['verses']} verses: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged"
        )
