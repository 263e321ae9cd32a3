from pyvision.engine.synsets import SYNONYM_SEPARATOR

from .models import Synset


def matching_indexes(text: str) -> list[int]:
    """Indexes of the classes whose wnid is ``text`` or one of whose names, in any
    language, contains it, ignoring case.

    Names as the database has them, admin edits included; 1000 rows are read at once.
    """
    wanted = text.strip().casefold()
    found = []
    for index, wnid, names in Synset.objects.values_list("index", "wnid", "names"):
        synonyms = [name.casefold() for text in names.values() for name in SYNONYM_SEPARATOR.split(text.strip())]
        if wnid == wanted or any(wanted in name for name in synonyms):
            found.append(index)
    return found
