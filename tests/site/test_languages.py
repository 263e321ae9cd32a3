"""English and Simplified Chinese: the browser's choice, the switcher, class names, time zones."""

import contextlib
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import Client

import pyvision
from pyvision.recognition.models import Image

CATALOGUE = Path(pyvision.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_the_chinese_catalogue_has_no_untranslated_or_fuzzy_entry():
    catalogue = polib.pofile(str(CATALOGUE))
    assert len(catalogue) > 100
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
    assert not catalogue.metadata_is_fuzzy


@pytest.mark.parametrize("catalogue", [CATALOGUE, Path(str(CATALOGUE).replace("zh_Hans", "zh_Hant"))],
                         ids=["zh_Hans", "zh_Hant"])
def test_the_committed_compiled_catalogue_matches_its_source(catalogue):
    """A host that runs only `pyvision web` serves Chinese: the .mo is committed, not built there."""
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(catalogue.with_suffix(".mo")))}
    source = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.pofile(str(catalogue)).translated_entries()}
    assert compiled == source, "the .po changed: run `pyvision setup` to rebuild the .mo, and commit both"


def test_a_clean_clone_has_the_compiled_catalogue():
    """What git holds is what a new web host gets: the .mo must be committed, not only built here."""
    checkout = Path(pyvision.__file__).parent.parent
    tracked = subprocess.run(["git", "-C", str(checkout), "ls-files", "pyvision/locale"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert {"pyvision/locale/zh_Hans/LC_MESSAGES/django.mo", "pyvision/locale/zh_Hant/LC_MESSAGES/django.mo"} <= set(tracked)


def test_every_string_of_the_site_is_in_the_catalogue(tmp_path):
    """makemessages over a copy of the sources finds no string the catalogue lacks."""
    package = Path(pyvision.__file__).parent
    copy = tmp_path / "pyvision"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("*.onnx", "*.json", "*.mo", "__pycache__", "static"))
    with contextlib.chdir(copy):
        call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)
    extracted = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    assert [e.msgid for e in extracted.untranslated_entries() + extracted.fuzzy_entries()] == []
    assert len(extracted) == len(polib.pofile(str(CATALOGUE)))


def test_accept_language_chooses_chinese_and_class_names_follow(make_user, upload):
    _, client = make_user()
    recognition = upload(client, "coffee.png")
    page = client.get(f"/images/{recognition.image_id}/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "删除这张照片" in page and "我的图片" in page
    assert re.search(r'class="label" title="n07920052">意大利浓咖啡</span> <span class="english" lang="en">espresso', page)
    english = client.get(f"/images/{recognition.image_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Delete this photo" in english and "意大利浓咖啡" not in english


@pytest.mark.parametrize("accept_language", ["zh-TW,zh;q=0.9", "zh-HK", "zh-Hant"])
def test_taiwan_and_hong_kong_get_traditional_chinese_names_and_pages(make_user, upload, accept_language):
    _, client = make_user()
    recognition = upload(client, "chelsea.png")
    page = client.get(f"/images/{recognition.image_id}/", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    assert '<html lang="zh-hant">' in page
    assert "刪除這張照片" in page and "我的圖片" in page and "删除" not in page
    assert re.search(r'title="n0212\d{4}">(虎斑貓|埃及貓|虎貓)</span>', page)
    # Searched in Traditional characters; OpenCC wrote Taiwan's words (計程車, not 出租車).
    for query, name in [("貓", "虎斑貓"), ("計程車", "計程車"), ("滑鼠", "滑鼠")]:
        found = client.get(f"/objects/?q={query}", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
        assert name in found


def test_every_traditional_chinese_string_is_the_simplified_one_converted():
    simplified = polib.pofile(str(CATALOGUE))
    traditional = polib.pofile(str(CATALOGUE).replace("zh_Hans", "zh_Hant"))
    assert [e.msgid for e in traditional] == [e.msgid for e in simplified], "run `make zh-hant`"
    assert not traditional.untranslated_entries() and not traditional.fuzzy_entries()


def test_the_switcher_remembers_the_choice(db):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/objects/"})
    assert response.status_code == 302 and response["Location"] == "/objects/"
    page = client.get("/objects/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1000 种物体" in page and "丁鲷" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "The 1000 objects" in client.get("/objects/").content.decode()


def test_dates_are_shown_in_the_browsers_time_zone(make_user, upload):
    _, client = make_user()
    recognition = upload(client, recognise=False)
    Image.objects.filter(pk=recognition.image_id).update(created_at=datetime(2026, 3, 1, 20, 30, tzinfo=timezone.utc))
    client.cookies["tz"] = "Asia/Shanghai"
    assert "March 2, 2026, 4:30 a.m." in client.get(f"/images/{recognition.image_id}/").content.decode()
    client.cookies["tz"] = "../../etc/passwd"
    assert "March 1, 2026, 8:30 p.m." in client.get(f"/images/{recognition.image_id}/").content.decode()
