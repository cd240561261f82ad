"""API token authentication (django-rest-knox) that answers 401 to any key it cannot read."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """knox's, except that a key that is not UTF-8 (the header is read as Latin-1 bytes) is a wrong
    key (401), not a UnicodeDecodeError (500)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


class TokenScheme(KnoxTokenScheme):
    """The schema describes it as knox's (drf-spectacular matches the exact class only)."""

    target_class = TokenAuthentication
