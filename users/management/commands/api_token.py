import datetime

from django.core.management.base import CommandError

from soulverse.management import Command as ProjectCommand
from users.models import User
from users.services import api_token_create, api_token_key_problem, api_tokens_revoke


class Command(ProjectCommand):
    help = (
        "Create a new API token for a user (one per device; its key printed once, only its digest "
        "stored) or revoke all of a user's tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("email")
        parser.add_argument("--key", help="use this key (random-looking, 32+ characters) instead of a new one")
        parser.add_argument(
            "--days", type=int, default=None, help="days before it expires (default API_TOKEN_TTL_DAYS)"
        )

    def handle(self, *args, action, email, key, days, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"email: no user {email!r}; nothing changed.")
        if action == "revoke":
            deleted = api_tokens_revoke(user=user)
            self.stdout.write(
                f"{deleted} token(s) of {user.email} revoked." if deleted else f"{user.email} had no token."
            )
            return
        if key is not None and (problem := api_token_key_problem(key)):
            raise CommandError(f"--key: too weak ({problem}); nothing changed.")
        if days is not None and days < 1:
            raise CommandError("--days: must be 1 or more; nothing changed.")
        _, key = api_token_create(user=user, key=key, ttl=datetime.timedelta(days=days) if days else None)
        self.stdout.write(key)
