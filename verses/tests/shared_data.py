"""The reference data the tests read from the shared folder (never copied into the project).

SOULVERSE_SHARED_DIR names that folder; by default `shared/` beside the repository."""

import os
from pathlib import Path

import pytest

SHARED_DIR = Path(os.environ.get("SOULVERSE_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
# The full Louis Segond 1910 text (book, chapter, verse, text), in Louis Segond's versification.
LSG_PATH = SHARED_DIR / "data/bible/lsg1910.tsv.gz"
LSG_VERSES = 31_170

needs_lsg = pytest.mark.skipif(not LSG_PATH.exists(), reason=f"{LSG_PATH} is not available")
