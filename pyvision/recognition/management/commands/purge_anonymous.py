from django.core.management.base import BaseCommand

from pyvision.recognition.files import purge_anonymous


class Command(BaseCommand):
    help = "Delete images uploaded without an account once ANONYMOUS_RETENTION_HOURS have passed."

    def handle(self, *args, **options):
        deleted = purge_anonymous()
        self.stdout.write(f"{deleted} anonymous images deleted")
