from django.urls import re_path

from soulverse.routers import OptionalSlashRouter
from verses.apis import VerseViewSet
from verses.views import verse_today

router = OptionalSlashRouter()
router.register("", VerseViewSet, basename="verses")

# Before the router's own `today/` route, which stays for the API schema (verses/views.py).
urlpatterns = [re_path(r"^today/?$", verse_today, name="verses-today-fast"), *router.urls]
