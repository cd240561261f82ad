"""The counts of a campaigns tick (deliver_campaigns): its plan's, then what its chunks add up."""

from scheduler.counts import Count
from verses.push.counts import PUSH_CHUNK_COUNTS, PUSH_CHUNKS

CAMPAIGNS_DUE = Count("campaigns_due", label="Campagnes à envoyer")
CAMPAIGNS_STARTED = Count("campaigns_started", label="Campagnes commencées")
CAMPAIGNS_SENT = Count("campaigns_sent", label="Campagnes terminées")

DELIVER_CAMPAIGNS_COUNTS = (CAMPAIGNS_DUE, CAMPAIGNS_STARTED, CAMPAIGNS_SENT, PUSH_CHUNKS, *PUSH_CHUNK_COUNTS)
