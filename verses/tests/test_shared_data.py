"""The shared reference data is located in one place, verses/tests/shared_data.py."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _project_sources() -> list[Path]:
    folders = [d for d in REPO.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != "var"]
    return sorted([*REPO.glob("*.py"), *(p for folder in folders for p in folder.rglob("*.py"))])


def test_only_the_helper_locates_the_shared_folder():
    locating = [
        str(path.relative_to(REPO))
        for path in _project_sources()
        if path.name != "test_shared_data.py"
        and any(name in path.read_text(encoding="utf-8") for name in ("SOULVERSE_SHARED_DIR", "data/bible/"))
    ]
    assert locating == ["verses/tests/shared_data.py"]
