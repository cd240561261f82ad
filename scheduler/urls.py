from scheduler.apis import SchedulerViewSet
from soulverse.routers import OptionalSlashRouter
from webhooks.apis import WebhookEndpointViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("", SchedulerViewSet, basename="scheduler")

urlpatterns = router.urls
