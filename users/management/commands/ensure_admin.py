import os
import secrets

from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from soulverse.management import Command as ProjectCommand
from users.models import User


class Command(ProjectCommand):
    help = (
        "Create the staff account used by `make run` if it does not exist. Its password and API "
        "token come from SOULVERSE_ADMIN_PASSWORD / SOULVERSE_ADMIN_TOKEN, or are generated and "
        "printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default=os.environ.get("SOULVERSE_ADMIN_EMAIL", "admin@soulverse.local"))

    def handle(self, *args, email, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            if not user.is_staff:
                raise CommandError(f"{email} exists but is not staff; nothing changed.")
            self.stdout.write(f"Staff account {email} already exists (password and token unchanged).")
            return
        env_password = os.environ.get("SOULVERSE_ADMIN_PASSWORD")
        password = env_password or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(email, password)
        token_key = os.environ.get("SOULVERSE_ADMIN_TOKEN") or None
        token = Token.objects.create(user=user, key=token_key) if token_key else Token.objects.create(user=user)
        self.stdout.write(self.style.SUCCESS(f"Staff account created: {email}"))
        if not env_password:
            self.stdout.write(f"  password:  {password}   (shown once)")
        if not token_key:
            self.stdout.write(f"  API token: {token.key}   (shown once)")
