from django.db import connections, router

from pyvision.engine.synsets import load_synsets


def load(synset_model) -> int:
    """Create or update the 1000 rows from the engine's data file; returns the count.

    Takes the model class as an argument so the data migration can pass its
    historical model.
    """
    rows = [
        synset_model(index=s["index"], wnid=s["wnid"], names=s["names"], hierarchy=s["hierarchy"])
        for s in load_synsets()
    ]
    # MySQL/MariaDB upsert on any unique key and refuse to be told which one.
    features = connections[router.db_for_write(synset_model)].features
    unique_fields = ["index"] if features.supports_update_conflicts_with_target else None
    synset_model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=unique_fields, update_fields=["wnid", "names", "hierarchy"]
    )
    return len(rows)
