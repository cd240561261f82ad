from soulverse.routers import OptionalSlashRouter
from verses.campaigns.apis import CampaignOpenViewSet

router = OptionalSlashRouter()
router.register("", CampaignOpenViewSet, basename="campaigns")
urlpatterns = router.urls
