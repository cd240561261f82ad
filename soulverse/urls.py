from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.module_loading import import_string
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from soulverse.hotpath import FAST_ROUTES
from soulverse.metrics import metrics_view
from soulverse.views import livez

# The admin names the product, not the framework ("Administration de Django").
admin.site.site_header = "SoulVerse — Administration"
admin.site.site_title = "Administration SoulVerse"

urlpatterns = [
    # The fast routes (soulverse.hotpath) first: before the apps' routers, whose own routes for the
    # same paths stay for the API schema (the fast views hand them what they do not answer).
    *(re_path(route.regex(), import_string(route.view), name=route.name) for route in FAST_ROUTES),
    path("livez", livez, name="livez"),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico on every site; answer rather than log a 404 each time.
    path("favicon.ico", RedirectView.as_view(url=static("soulverse/favicon.svg"), permanent=True)),
    path("admin/dashboard/", include("console.dashboard")),
    path("admin/", admin.site.urls),
    path("api/v1/scheduler/", include("webhooks.urls")),
    path("api/v1/scheduler/", include("scheduler.urls")),
    path("api/v1/scheduler/", include("console.urls")),
    path("api/v1/verses/", include("verses.urls")),
    path("api/v1/campaigns/", include("verses.campaigns.urls")),
    path("api/v1/users/", include("users.urls")),
    path("api/v1/auth/", include("users.auth_urls")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
