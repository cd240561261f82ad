from pathlib import Path

from django.core.management.base import CommandError

from soulverse.management import Command as ProjectCommand
from verses.bible import LSG1910
from verses.bible_import import FORMATS, BibleImportError, bible_import


class Command(ProjectCommand):
    help = (
        "Import a Bible edition from a TSV file (book, chapter, verse, text; .gz allowed) or USFM "
        "files; idempotent, and a bad file imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a .tsv or .tsv.gz file, a .usfm/.sfm file or a directory of them")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")
        parser.add_argument("--edition", default=LSG1910, help=f"edition id (default: {LSG1910})")

    def handle(self, *args, **options):
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
        try:
            counts = bible_import(path=path, edition=options["edition"], fmt=options["format"])
        except BibleImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{counts['verses']} verses: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged"
        )
