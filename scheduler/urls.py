from scheduler.apis import JobViewSet, SchedulerViewSet
from soulverse.routers import OptionalSlashRouter
from webhooks.apis import WebhookEndpointViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("jobs", JobViewSet, basename="job")
router.register("", SchedulerViewSet, basename="scheduler")

urlpatterns = router.urls
