from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from soulverse.management import Command as ProjectCommand
from users.models import User


class Command(ProjectCommand):
    help = "Create (and print once) or revoke a user's API token."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("email")

    def handle(self, *args, action, email, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"email: no user {email!r}; nothing changed.")
        if action == "revoke":
            deleted, _ = Token.objects.filter(user=user).delete()
            self.stdout.write(f"Token of {user.email} revoked." if deleted else f"{user.email} had no token.")
            return
        if Token.objects.filter(user=user).exists():
            raise CommandError(f"{user.email} already has a token; revoke it first.")
        self.stdout.write(Token.objects.create(user=user).key)
