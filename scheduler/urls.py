from rest_framework.routers import SimpleRouter

from scheduler.apis import SchedulerViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("", SchedulerViewSet, basename="scheduler")

urlpatterns = router.urls
