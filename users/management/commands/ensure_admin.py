import os
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from soulverse.envfiles import env_secret
from soulverse.management import Command as ProjectCommand
from users.models import User
from users.services import api_token_create, api_token_key_problem


class Command(ProjectCommand):
    help = (
        "Create the staff account (`make run`, the deployment's init step) if it does not exist; "
        "an existing one is left as it is. Its password and API token come from "
        "SOULVERSE_ADMIN_PASSWORD / SOULVERSE_ADMIN_TOKEN or the files SOULVERSE_ADMIN_PASSWORD_FILE / "
        "SOULVERSE_ADMIN_TOKEN_FILE name (refused when weak: Django's password validators, a "
        "random-looking token of 32+ characters), or are generated and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default=os.environ.get("SOULVERSE_ADMIN_EMAIL", "admin@soulverse.local"))
        # Containers keep their output in `docker compose logs`: no key printed there. The admin
        # gets a token by logging in (POST /api/v1/auth/login) or with `api_token create`.
        parser.add_argument(
            "--no-token",
            action="store_true",
            help="create no API token (unless SOULVERSE_ADMIN_TOKEN[_FILE] gives one)",
        )

    def handle(self, *args, email, no_token, **options):
        try:  # read (and refused) before anything else, so that a wrong setup is seen at every run
            env_password = env_secret("SOULVERSE_ADMIN_PASSWORD")
            token_key = env_secret("SOULVERSE_ADMIN_TOKEN") or None
        except ImproperlyConfigured as exc:
            raise CommandError(f"{exc} Nothing changed.") from None
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            if not user.is_staff:
                raise CommandError(f"{email} exists but is not staff; nothing changed.")
            self.stdout.write(f"Staff account {email} already exists (password and token unchanged).")
            return
        if env_password:
            try:
                validate_password(env_password, User(email=email))
            except ValidationError as exc:
                raise CommandError(
                    f"SOULVERSE_ADMIN_PASSWORD: too weak ({' '.join(exc.messages)}); nothing changed."
                ) from None
        if token_key and (problem := api_token_key_problem(token_key)):
            raise CommandError(f"SOULVERSE_ADMIN_TOKEN: too weak ({problem}); nothing changed.")
        password = env_password or secrets.token_urlsafe(18)
        with transaction.atomic():
            user = User.objects.create_superuser(email, password)
            if token_key or not no_token:
                _, key = api_token_create(user=user, key=token_key)
        self.stdout.write(self.style.SUCCESS(f"Staff account created: {email}"))
        if not env_password:
            self.stdout.write(f"  password:  {password}   (shown once)")
        if not token_key and not no_token:
            self.stdout.write(f"  API token: {key}   (shown once)")
