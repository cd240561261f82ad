from soulverse.routers import OptionalSlashRouter
from verses.apis import VerseViewSet

router = OptionalSlashRouter()
router.register("", VerseViewSet, basename="verses")

urlpatterns = router.urls
