"""What the editorial room announces; apps above (webhooks) subscribe in their AppConfig.ready().

- `verse_reviewed(review)`: an operator acted on a pair's verse (a VerseReview row), sent in the
  action's transaction.
"""

from django.dispatch import Signal

verse_reviewed = Signal()
