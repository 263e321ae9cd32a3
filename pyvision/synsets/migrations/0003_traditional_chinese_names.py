from django.db import migrations

from pyvision.engine.synsets import load_synsets


def add_traditional_chinese(apps, schema_editor):
    """Adds the zh-hant names only: names edited in the admin are kept as they are."""
    Synset = apps.get_model("synsets", "Synset")
    traditional = {s["index"]: s["names"]["zh-hant"] for s in load_synsets()}
    changed = []
    for synset in Synset.objects.all():
        if "zh-hant" not in synset.names and synset.index in traditional:
            synset.names = {**synset.names, "zh-hant": traditional[synset.index]}
            changed.append(synset)
    Synset.objects.bulk_update(changed, ["names"], batch_size=200)


class Migration(migrations.Migration):
    dependencies = [("synsets", "0002_load_synsets")]

    operations = [migrations.RunPython(add_traditional_chinese, migrations.RunPython.noop)]
