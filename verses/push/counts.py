"""The counts of a push tick (deliver_verses): its plan's, its chunks' and the pairs' verses it ensures."""

from scheduler.counts import Count
from verses.ai.counts import AI_CALLS
from verses.generation.counts import FALLBACKS

# Per user (one delivery per user and local date) unless said per device.
PUSH_DUE = Count("push_due", label="Dues")
PUSH_SENT = Count(
    "push_sent",
    "soulverse_push_sent",
    "Push notifications sent (users reached).",
    "Envoyées",
    noun=("envoyée", "envoyées"),
)
PUSH_DEVICES_SENT = Count(
    "push_devices_sent",
    "soulverse_push_devices_sent",
    "Push messages FCM accepted, one per device.",
    "Appareils atteints",
    doc="Messages FCM accepted, one per device.",
)
PUSH_INVALID_TOKENS = Count(
    "push_invalid_tokens",
    "soulverse_push_invalid_tokens",
    "Devices FCM reported dead (UNREGISTERED, SENDER_ID_MISMATCH, invalid): removed.",
    "Jetons invalides",
    noun=("jeton invalide", "jetons invalides"),
)
# An FID FCM does not route (the app has not opted in to FID registration): per device, removed.
PUSH_FID_NOT_REGISTERED = Count(
    "push_fid_not_registered",
    "soulverse_push_fid_not_registered",
    "FIDs FCM never accepted (app not opted in to FID registration): removed.",
    "FID non enregistrées",
    noun=(
        "FID non enregistrée (application sans l'option FID)",
        "FID non enregistrées (application sans l'option FID)",
    ),
    doc="FIDs FCM never routed (the app has not opted in to FID registration): removed.",
)
PUSH_FAILED = Count(
    "push_failed", "soulverse_push_failed", "Push notifications that failed.", "Échouées", noun=("échouée", "échouées")
)
PUSH_RETRIED = Count("push_retried", "soulverse_push_retried", "Push notification retries.", "Nouvelles tentatives")
PUSH_GAVE_UP = Count("push_gave_up", label="Abandonnées")
PUSH_VALIDATED = Count("push_validated", label="Validées (essai)")  # accepted by FCM in a dry run, not sent
PUSH_GROUPS = Count("push_groups", label="Groupes de fuseaux")
PUSH_CHUNKS = Count("push_chunks", label="Lots")
# Users of the next slot given their verse and a pending delivery ahead of it (PUSH_PREPARE_AHEAD_MINUTES).
PUSH_PREPARED = Count("push_prepared", label="Préparés pour le créneau suivant")
PUSH_PREPARE_CHUNKS = Count("push_prepare_chunks", label="Lots de préparation")

# What a chunk adds up (every one present, 0 when nothing happened).
PUSH_CHUNK_COUNTS = (
    PUSH_DUE,
    PUSH_SENT,
    PUSH_INVALID_TOKENS,
    PUSH_FAILED,
    PUSH_RETRIED,
    PUSH_GAVE_UP,
    PUSH_VALIDATED,
    PUSH_DEVICES_SENT,
    PUSH_FID_NOT_REGISTERED,
)
# The last tick as health and status show it.
PUSH_HEALTH_COUNTS = (
    PUSH_DUE,
    PUSH_SENT,
    PUSH_DEVICES_SENT,
    PUSH_INVALID_TOKENS,
    PUSH_FID_NOT_REGISTERED,
    PUSH_FAILED,
    PUSH_RETRIED,
)
# The outcomes the dashboard (its sentence: "sent" always, the others when not zero) and its chart show.
PUSH_OUTCOME_COUNTS = (PUSH_SENT, PUSH_INVALID_TOKENS, PUSH_FAILED, PUSH_FID_NOT_REGISTERED)
# Every count of the tick's run (its plan's first, then what its chunks add up).
DELIVER_VERSES_COUNTS = (
    PUSH_GROUPS,
    PUSH_CHUNKS,
    AI_CALLS,
    FALLBACKS,
    *PUSH_CHUNK_COUNTS,
    PUSH_PREPARE_CHUNKS,
    PUSH_PREPARED,
)
