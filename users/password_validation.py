"""A password change ends the account's API tokens, whatever made the change.

Django calls `password_changed()` of every AUTH_PASSWORD_VALIDATORS entry once a user whose
password was set (`set_password`) is saved: the admin's password forms, `changepassword`,
`ensure_admin`, a password reset, any code. That makes it the one documented hook that sees every
path, without a signal or a `save()` override guessing from the hash. Signed-in admin sessions
already end by Django's own session hash."""

from users.services import api_tokens_revoke


class ApiTokensEndWithPassword:
    """Not a rule on the password: its `password_changed` revokes the user's API tokens."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            api_tokens_revoke(user=user, reason="password_changed")

    def get_help_text(self) -> str:
        return "Changer le mot de passe déconnecte tous les appareils du compte (jetons d'API)."
