"""Shared base for the project's management commands."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    """A command whose usage errors are one line on stderr (argparse prints its usage too)."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.print_usage = lambda file=None: None  # `--help` still prints the full help
        return parser
