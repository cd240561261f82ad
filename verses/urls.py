from soulverse.routers import OptionalSlashRouter
from verses.apis import VerseViewSet

router = OptionalSlashRouter()
router.register("", VerseViewSet, basename="verses")

# The router's `today/` route is for the API schema: the fast view (verses/views.py) comes first,
# as soulverse.hotpath routes it.
urlpatterns = router.urls
