from django.urls import re_path

from users.apis import CurrentTokenView, LoginView, TokensView

urlpatterns = [
    re_path(r"^login/?$", LoginView.as_view(), name="auth-login"),
    re_path(r"^tokens/?$", TokensView.as_view(), name="auth-tokens"),
    re_path(r"^tokens/current/?$", CurrentTokenView.as_view(), name="auth-token-current"),
]
