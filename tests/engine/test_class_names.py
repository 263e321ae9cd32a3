"""The names people see for the 1000 classes tell every class apart, in every language."""

import pytest

from pyvision.engine.synsets import display_label, load_classes, load_synsets

LANGUAGES = ["en", "zh-hans", "ar", "es", "fr", "he", "ru"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_two_classes_show_the_same_name(language):
    labels = [display_label(s["names"][language], language).casefold() for s in load_synsets()]
    assert len(set(labels)) == 1000


def test_a_shared_first_synonym_shows_the_whole_name():
    by_wnid = {c.wnid: c.label for c in load_classes()}
    assert by_wnid["n02113186"] == "Cardigan, Cardigan Welsh corgi"  # the dog...
    assert by_wnid["n02963159"] == "cardigan"  # ...and the sweater
    assert by_wnid["n02123045"] == "tabby"  # a first synonym of its own is enough
