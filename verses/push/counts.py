"""The counts of a push tick (deliver_verses): its plan's, its chunks' and the pairs' verses it ensures."""

from scheduler.counts import Count
from verses.ai.counts import AI_CALLS
from verses.generation.counts import FALLBACKS

PUSH_DUE = Count("push_due", label="Dues")
PUSH_SENT = Count(
    "push_sent", "soulverse_push_sent", "Push notifications sent.", "Envoyées", noun=("envoyée", "envoyées")
)
PUSH_INVALID_TOKENS = Count(
    "push_invalid_tokens",
    "soulverse_push_invalid_tokens",
    "Push tokens FCM reported invalid.",
    "Jetons invalides",
    noun=("jeton invalide", "jetons invalides"),
)
PUSH_FAILED = Count(
    "push_failed", "soulverse_push_failed", "Push notifications that failed.", "Échouées", noun=("échouée", "échouées")
)
PUSH_RETRIED = Count("push_retried", "soulverse_push_retried", "Push notification retries.", "Nouvelles tentatives")
PUSH_GAVE_UP = Count("push_gave_up", label="Abandonnées")
PUSH_VALIDATED = Count("push_validated", label="Validées (essai)")  # accepted by FCM in a dry run, not sent
PUSH_GROUPS = Count("push_groups", label="Groupes de fuseaux")
PUSH_CHUNKS = Count("push_chunks", label="Lots")

# What a chunk adds up (every one present, 0 when nothing happened).
PUSH_CHUNK_COUNTS = (PUSH_DUE, PUSH_SENT, PUSH_INVALID_TOKENS, PUSH_FAILED, PUSH_RETRIED, PUSH_GAVE_UP, PUSH_VALIDATED)
# The last tick as health and status show it.
PUSH_HEALTH_COUNTS = (PUSH_DUE, PUSH_SENT, PUSH_INVALID_TOKENS, PUSH_FAILED, PUSH_RETRIED)
# The outcomes the dashboard (its sentence: "sent" always, the others when not zero) and its chart show.
PUSH_OUTCOME_COUNTS = (PUSH_SENT, PUSH_INVALID_TOKENS, PUSH_FAILED)
# Every count of the tick's run (its plan's first, then what its chunks add up).
DELIVER_VERSES_COUNTS = (PUSH_GROUPS, PUSH_CHUNKS, AI_CALLS, FALLBACKS, *PUSH_CHUNK_COUNTS)
