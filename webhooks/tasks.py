"""django-q2 task functions of webhooks: thin wrappers that call services."""

from webhooks.services import webhook_delivery_attempt as _attempt


def webhook_delivery_attempt(delivery_id: int) -> dict:
    attempt = _attempt(delivery_id=delivery_id)
    if attempt is None:
        return {"skipped": True}
    return {"attempt": attempt.number, "status_code": attempt.status_code, "succeeded": attempt.succeeded}
