"""The console's routes under /api/v1/scheduler/ (soulverse/urls.py), after the engine's jobs."""

from django.urls import re_path

from console.apis import SchedulerViewSet
from console.editorial_apis import FeastViewSet, VersePlanViewSet, VerseReviewViewSet
from console.views import health
from soulverse.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("verse-plans", VersePlanViewSet, basename="verse-plan")
router.register("feasts", FeastViewSet, basename="feast")
router.register("verse-review", VerseReviewViewSet, basename="verse-review")
router.register("", SchedulerViewSet, basename="scheduler")

# Before the router's own `health/` route, which stays for the API schema (console/views.py).
urlpatterns = [re_path(r"^health/?$", health, name="scheduler-health-fast"), *router.urls]
