"""The webhook endpoints' routes, under /api/v1/scheduler/ (soulverse/urls.py), before the
scheduler's own."""

from soulverse.routers import OptionalSlashRouter
from webhooks.apis import WebhookEndpointViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
