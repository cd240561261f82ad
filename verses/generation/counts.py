"""The counts of the daily generation run (daily_verses_generation), and of the pairs' verses it makes."""

from scheduler.counts import Count
from verses.ai.counts import AI_CALLS, AI_FAILURES, AI_TOKEN_COUNTS

USERS_PROCESSED = Count(
    "users_processed", "soulverse_users_processed", "Users processed by job runs.", "Utilisateurs traités"
)
VERSES_CREATED = Count(
    "verses_created", "soulverse_verses_created", "Daily verses created by job runs.", "Versets créés"
)
PAIRS = Count("pairs", label="Paires humeur × langue")
FALLBACKS = Count("fallbacks", label="Versets de secours")
CACHE_HITS = Count("cache_hits", label="Trouvés en cache")

# In the order the trigger_daily_verses summary prints them.
DAILY_VERSES_COUNTS = (
    USERS_PROCESSED,
    VERSES_CREATED,
    PAIRS,
    AI_CALLS,
    AI_FAILURES,
    FALLBACKS,
    CACHE_HITS,
    *AI_TOKEN_COUNTS,
)
