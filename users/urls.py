from django.urls import re_path

from users.apis import DevicesView, DeviceView, MeView

urlpatterns = [
    re_path(r"^me/?$", MeView.as_view(), name="users-me"),
    re_path(r"^me/devices/?$", DevicesView.as_view(), name="users-me-devices"),
    re_path(r"^me/devices/(?P<id>[^/]{1,512})/?$", DeviceView.as_view(), name="users-me-device"),
]
