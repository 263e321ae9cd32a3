from django.db import migrations

from pyvision.synsets import loading


def load(apps, schema_editor):
    loading.load(apps.get_model("synsets", "Synset"))


class Migration(migrations.Migration):
    dependencies = [("synsets", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
