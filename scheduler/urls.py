from django.urls import re_path

from scheduler.apis import JobViewSet, SchedulerViewSet
from scheduler.views import health
from soulverse.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("", SchedulerViewSet, basename="scheduler")

# Before the router's own `health/` route, which stays for the API schema (scheduler/views.py).
urlpatterns = [re_path(r"^health/?$", health, name="scheduler-health-fast"), *router.urls]
