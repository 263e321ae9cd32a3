from django.core.management.base import BaseCommand

from pyvision.synsets import loading
from pyvision.synsets.models import Synset


class Command(BaseCommand):
    help = "Create or refresh the 1000 ImageNet synsets from the engine's data file."

    def handle(self, *args, **options):
        count = loading.load(Synset)
        self.stdout.write(f"Loaded {count} synsets.")
