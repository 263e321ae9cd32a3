"""``pyvision manage createtoken USER``: an API key for a program, without the browser."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pyvision.api.models import ApiToken


class Command(BaseCommand):
    help = "Make an API token for USER and print its key (shown this once; only its digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for, shown in the token list")
        parser.add_argument("--create-user", action="store_true",
                            help="make USER first if it does not exist (with no password: it signs in by token only)")

    def handle(self, username, name, create_user, **options):
        users = get_user_model()
        try:
            user = users.objects.get(username=username)
        except users.DoesNotExist:
            if not create_user:
                raise CommandError(f"no user {username!r}; add --create-user to make one")
            user = users.objects.create_user(username=username)
        _token, key = ApiToken.create(user, name[:100])
        self.stdout.write(key)
