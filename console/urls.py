"""The console's routes under /api/v1/scheduler/ (soulverse/urls.py), after the engine's jobs."""

from console.apis import SchedulerViewSet
from console.campaign_apis import CampaignViewSet
from console.editorial_apis import FeastViewSet, VersePlanViewSet, VerseReviewViewSet
from soulverse.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("verse-plans", VersePlanViewSet, basename="verse-plan")
router.register("feasts", FeastViewSet, basename="feast")
router.register("verse-review", VerseReviewViewSet, basename="verse-review")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("", SchedulerViewSet, basename="scheduler")

# The router's `health/` route is for the API schema: the fast view (console/views.py) comes first,
# as soulverse.hotpath routes it.
urlpatterns = router.urls
