from scheduler.apis import SchedulerViewSet
from soulverse.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("", SchedulerViewSet, basename="scheduler")

urlpatterns = router.urls
