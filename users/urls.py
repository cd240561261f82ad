from django.urls import re_path

from users.apis import MeView

urlpatterns = [re_path(r"^me/?$", MeView.as_view(), name="users-me")]
