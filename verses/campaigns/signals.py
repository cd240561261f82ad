"""What the campaigns room announces; apps above (webhooks) subscribe in their AppConfig.ready().

- `campaign_sent(campaign, figures)`: a campaign's last delivery is done (sent, given up or no
  device left); `figures` are its audience, sent, failed and opened counts.
"""

from django.dispatch import Signal

campaign_sent = Signal()
