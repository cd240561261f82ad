"""Finding 7: without a .dockerignore, `COPY . .` took .env, db.sqlite3 (with the admin token),
.venv and .git into the image, and `chown -R` made the code writable by the runtime user.

No Docker daemon runs where the tests run: these read the files `docker build` reads, matching
the build context's paths the way Docker's .dockerignore does (Go filepath.Match per pattern,
a directory pattern excluding what is under it)."""

import fnmatch
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def ignored(path: str, patterns: list[str]) -> bool:
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        candidates += ["/".join(parts[n:m]) for n in range(len(parts)) for m in range(n + 1, len(parts) + 1)]
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            excluded = not negate
    return excluded


def test_the_build_context_leaves_out_secrets_databases_virtualenvs_and_history():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (
        ".env",
        ".env.production",
        "db.sqlite3",
        "db.sqlite3-wal",
        "var/test_db_1.sqlite3",
        ".venv/bin/python",
        ".git/config",
        "users/__pycache__/models.cpython-311.pyc",
        "scheduler/tests/test_api.py",
        "soulverse/testing/fcm_stub.py",
    ):
        assert ignored(path, patterns), path
    for path in (
        "manage.py",
        "requirements.txt",
        "gunicorn.conf.py",
        "soulverse/settings.py",
        "users/migrations/0001_initial.py",
        "verses/bible/curated.py",
        "verses/bible/data/curated_verses.json",
        "verses/bible/data/books.tsv",
    ):
        assert not ignored(path, patterns), path


def test_the_image_runs_as_a_user_that_cannot_write_the_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "chown" not in dockerfile
    assert "chmod -R a-w,a+rX /app" in dockerfile
    assert dockerfile.index("chmod -R a-w") < dockerfile.index("USER soulverse")
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"' in dockerfile
