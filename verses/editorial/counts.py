"""The counts of the evening preparation run (daily_verses_review)."""

from verses.ai.counts import AI_CALLS, AI_FAILURES, AI_TOKEN_COUNTS
from verses.generation.counts import FALLBACKS, PAIRS

REVIEW_PREPARE_COUNTS = (PAIRS, AI_CALLS, AI_FAILURES, FALLBACKS, *AI_TOKEN_COUNTS)
