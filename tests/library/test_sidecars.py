"""`pyvision tag --xmp`: sidecars that exiftool (and so photo managers) read, in every
language asked for; the person's own metadata kept; originals never changed."""

import os
import shutil
import stat
import subprocess
import threading

import pytest
from lxml import etree

from pyvision import cli
from pyvision.library import photos as photos_module
from pyvision.library import xmp
from tests.library.conftest import CATS, ESPRESSO, as_list, exiftool

PERSONS_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <!-- written by digiKam -->
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmp:Rating="4">
   <dc:subject><rdf:Bag><rdf:li>Granny's cup</rdf:li><rdf:li>coffee</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Rome</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def test_exiftool_reads_the_keywords_in_english_and_chinese(library):
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", str(library)]) == 0
    read = exiftool(library / "coffee.png.xmp", library / "2024" / "chelsea.png.xmp")
    coffee, cat = read["coffee.png.xmp"], read["chelsea.png.xmp"]
    assert {ESPRESSO["en"], ESPRESSO["zh-hans"]} <= set(as_list(coffee["XMP-dc:Subject"]))
    assert "pyvision|matter|food|beverage|coffee|espresso" in as_list(coffee["XMP-lr:HierarchicalSubject"])
    assert CATS & set(as_list(cat["XMP-dc:Subject"]))
    assert all(path.startswith("pyvision|organism|animal|") and "|cat|" in path
               for path in as_list(cat["XMP-lr:HierarchicalSubject"]))


def test_imagenet_samples_are_tagged_in_english_and_chinese(imagenet_dev, tmp_path):
    """Copies in a temporary folder: the samples themselves are read-only and never
    copied into the repository."""
    for image in imagenet_dev.iterdir():
        shutil.copy(image, tmp_path / image.name)
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", str(tmp_path)]) == 0
    from pyvision.library.keywords import label

    read = exiftool(*sorted(tmp_path.glob("*.xmp")))
    assert len(read) == 100
    found = 0
    for name, tags in read.items():
        wnid = name.split("_")[0]
        subjects = set(as_list(tags.get("XMP-dc:Subject")))
        found += {label(wnid, "en"), label(wnid, "zh-hans")} <= subjects
        assert all(p.startswith("pyvision|") for p in as_list(tags.get("XMP-lr:HierarchicalSubject")))
    # Lite0 names the right class first for about 86 of them.
    assert found >= 75


def test_the_persons_keywords_and_rating_stay_and_pyvisions_are_there_once(library):
    sidecar = library / "coffee.png.xmp"
    sidecar.write_text(PERSONS_SIDECAR, encoding="utf-8")
    assert cli.main(["tag", "--xmp", "--lang", "zh-hans", str(library / "coffee.png")]) == 0
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", str(library / "coffee.png")]) == 0
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", "--force", str(library / "coffee.png")]) == 0
    tags = exiftool(sidecar)["coffee.png.xmp"]
    subjects = as_list(tags["XMP-dc:Subject"])
    assert tags["XMP-xmp:Rating"] == 4
    assert subjects.count("Granny's cup") == subjects.count("coffee") == 1
    assert subjects.count("espresso") == subjects.count("意大利浓咖啡") == 1
    paths = as_list(tags["XMP-lr:HierarchicalSubject"])
    assert "Places|Rome" in paths and paths.count("pyvision|matter|food|beverage|coffee|espresso") == 1
    assert "<!-- written by digiKam -->" in sidecar.read_text(encoding="utf-8")


def test_a_keyword_the_person_had_stays_theirs(library):
    """pyvision neither repeats it nor, on the next run, takes it away."""
    sidecar = library / "coffee.png.xmp"
    sidecar.write_text(PERSONS_SIDECAR.replace("<rdf:li>coffee</rdf:li>", "<rdf:li>espresso</rdf:li>"), encoding="utf-8")
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    assert as_list(exiftool(sidecar)["coffee.png.xmp"]["XMP-dc:Subject"]).count("espresso") == 1
    assert cli.main(["tag", "--xmp", "--lang", "zh-hans", str(library / "coffee.png")]) == 0
    assert "espresso" in as_list(exiftool(sidecar)["coffee.png.xmp"]["XMP-dc:Subject"])


def test_a_path_the_person_put_in_pyvisions_tree_stays_theirs(library):
    """A class they corrected in digiKam, under pyvision's root, and one pyvision would add:
    pyvision replaces only the paths it wrote, as it does its keywords, here none."""
    sidecar = library / "coffee.png.xmp"
    espresso = "pyvision|matter|food|beverage|coffee|espresso"
    sidecar.write_text(PERSONS_SIDECAR.replace(
        "<rdf:li>Places|Rome</rdf:li>", f"<rdf:li>pyvision|cups|Granny's</rdf:li><rdf:li>{espresso}</rdf:li>"),
        encoding="utf-8")
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    # A photo manager's edit in between: exiftool drops the empty lists it finds.
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject+=person2", str(sidecar)], check=True)
    assert cli.main(["tag", "--xmp", "--top", "2", "--min-score", "0", "--force", str(library / "coffee.png")]) == 0
    paths = as_list(exiftool(sidecar)["coffee.png.xmp"]["XMP-lr:HierarchicalSubject"])
    assert paths.count("pyvision|cups|Granny's") == paths.count(espresso) == 1 and len(paths) == 3


def test_the_paths_of_a_sidecar_written_before_paths_were_recorded_are_replaced(library):
    sidecar = library / "coffee.png.xmp"
    sidecar.write_text(PERSONS_SIDECAR.replace(
        "<rdf:li>Places|Rome</rdf:li>", "<rdf:li>Places|Rome</rdf:li><rdf:li>pyvision|an|old|answer</rdf:li>").replace(
        "<dc:subject>", '<pyvision:Model xmlns:pyvision="urn:pyvision:xmp:1.0/">lite0</pyvision:Model><dc:subject>'),
        encoding="utf-8")
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    paths = as_list(exiftool(sidecar)["coffee.png.xmp"]["XMP-lr:HierarchicalSubject"])
    assert "pyvision|an|old|answer" not in paths and "Places|Rome" in paths
    assert "pyvision|matter|food|beverage|coffee|espresso" in paths


def test_originals_are_never_changed(library):
    photos = [library / "coffee.png", library / "2024" / "chelsea.png"]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in photos}
    assert cli.main(["tag", "--xmp", "--lang", "en,fr", str(library)]) == 0
    assert cli.main(["tag", "--xmp", "--force", str(library)]) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in photos} == before


def test_lightroom_names_sidecars_by_the_base_name(library):
    assert cli.main(["tag", "--xmp", "--sidecar-name", "basename", str(library)]) == 0
    assert sorted(p.name for p in library.rglob("*.xmp")) == ["chelsea.xmp", "coffee.xmp"]


def test_a_sidecar_that_is_not_xml_is_left_alone(library, capsys):
    sidecar = library / "coffee.png.xmp"
    sidecar.write_bytes(b"not xml at all")
    assert cli.main(["tag", "--xmp", str(library)]) == 1
    assert sidecar.read_bytes() == b"not xml at all"
    assert "unreadable_sidecar" in capsys.readouterr().err
    assert not [p for p in os.listdir(library) if p.endswith(".tmp")]


BILLION_LAUGHS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))


@pytest.mark.parametrize("doctype, reference", [
    ('<!DOCTYPE x:xmpmeta [<!ENTITY xxe "boo">]>', "&xxe;"),
    ('<!DOCTYPE x:xmpmeta [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', "&xxe;"),
    (f'<!DOCTYPE x:xmpmeta [<!ENTITY lol0 "lol">{BILLION_LAUGHS}]>', "&lol9;"),
])
def test_a_sidecar_with_a_doctype_is_left_alone(library, capsys, doctype, reference):
    """Written again it would lose the DOCTYPE and keep the references to its entities,
    which no reader could then resolve; and no entity is ever expanded or fetched."""
    sidecar = library / "coffee.png.xmp"
    content = PERSONS_SIDECAR.replace("<x:xmpmeta", doctype + "<x:xmpmeta").replace(">coffee<", f">{reference}<")
    sidecar.write_text(content, encoding="utf-8")
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 1
    assert sidecar.read_text(encoding="utf-8") == content
    assert "unreadable_sidecar" in capsys.readouterr().err


def test_the_persons_text_keeps_every_character(library):
    """Even where it is mixed with comments: only what pyvision adds is laid out."""
    sidecar = library / "coffee.png.xmp"
    title = """<dc:title>
    <rdf:Alt>
      <rdf:li xml:lang="x-default"><!-- from the camera -->Mittens
        on the sofa</rdf:li>
    </rdf:Alt>
   </dc:title>"""
    sidecar.write_text(PERSONS_SIDECAR.replace("<rdf:li>coffee</rdf:li>", "<rdf:li><!--c-->Mittens</rdf:li>")
                       .replace("<lr:hierarchicalSubject>", title + "\n   <lr:hierarchicalSubject>"), encoding="utf-8")
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    written = sidecar.read_text(encoding="utf-8")
    assert "<rdf:li><!--c-->Mittens</rdf:li>" in written and title in written
    assert "espresso" in as_list(exiftool(sidecar)["coffee.png.xmp"]["XMP-dc:Subject"])


@pytest.mark.parametrize("attributes, properties", [
    ("", ("<dc:subject><rdf:Seq><rdf:li>mine</rdf:li></rdf:Seq></dc:subject>"
          "<lr:hierarchicalSubject><rdf:Seq><rdf:li>Places|Rome</rdf:li></rdf:Seq></lr:hierarchicalSubject>")),
    ("", ('<dc:subject><rdf:Alt><rdf:li xml:lang="x-default">mine</rdf:li></rdf:Alt></dc:subject>'
          '<lr:hierarchicalSubject><rdf:Alt><rdf:li xml:lang="x-default">Places|Rome</rdf:li></rdf:Alt>'
          '</lr:hierarchicalSubject>')),
    ("", "<dc:subject>mine</dc:subject><lr:hierarchicalSubject>Places|Rome</lr:hierarchicalSubject>"),
    (' dc:subject="mine" lr:hierarchicalSubject="Places|Rome"', ""),
], ids=["Seq", "Alt", "text", "attribute"])
def test_the_persons_keywords_in_any_rdf_form_get_pyvisions_beside_them(library, attributes, properties):
    """A second dc:subject would be read by photo managers in place of the first, or dropped."""
    sidecar = library / "coffee.png.xmp"
    start = PERSONS_SIDECAR.index('xmp:Rating="4">')
    end = PERSONS_SIDECAR.index("</lr:hierarchicalSubject>") + len("</lr:hierarchicalSubject>")
    sidecar.write_text(f'{PERSONS_SIDECAR[:start]}xmp:Rating="4"{attributes}>{properties}{PERSONS_SIDECAR[end:]}',
                       encoding="utf-8")
    assert cli.main(["tag", "--xmp", "--lang", "zh-hans", str(library / "coffee.png")]) == 0
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    tree = etree.parse(sidecar)
    for name in ("dc:subject", "lr:hierarchicalSubject"):
        assert len(tree.xpath(f"//{name} | //@{name}", namespaces=xmp.NS)) == 1
    tags = exiftool(sidecar)["coffee.png.xmp"]
    assert sorted(as_list(tags["XMP-dc:Subject"])) == ["espresso", "mine"]
    assert sorted(as_list(tags["XMP-lr:HierarchicalSubject"])) == [
        "Places|Rome", "pyvision|matter|food|beverage|coffee|espresso"]


def test_a_sidecar_larger_than_any_real_one_is_left_alone(library, capsys):
    sidecar = library / "coffee.png.xmp"
    # Each comment under libxml2's limit on one text, which would refuse it for another reason.
    content = PERSONS_SIDECAR.replace("<!-- written by digiKam -->", f"<!-- {' ' * 2**23} -->" * 3).encode()
    sidecar.write_bytes(content)
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 1
    assert sidecar.read_bytes() == content
    assert "unreadable_sidecar" in capsys.readouterr().err


def test_a_sidecar_padded_with_whitespace_does_not_grow_with_each_run(library):
    # The whitespace before the person's first property is what pyvision's own elements
    # are laid out with: megabytes of it were copied once for each keyword.
    sidecar = library / "coffee.png.xmp"
    padded = PERSONS_SIDECAR.replace('xmp:Rating="4">', 'xmp:Rating="4">' + " " * 2**20)
    sidecar.write_text(padded, encoding="utf-8")
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", str(library / "coffee.png")]) == 0
    assert sidecar.stat().st_size < len(padded.encode()) + 10_000
    assert "Granny's cup" in sidecar.read_text(encoding="utf-8")


def test_a_device_as_sidecar_is_not_read(library, capsys):
    """Were it /dev/zero, reading it would fill the memory."""
    sidecar = library / "coffee.png.xmp"
    sidecar.symlink_to(os.devnull)
    assert xmp.read_stamp(sidecar) is None
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 1
    assert "unwritable_sidecar" in capsys.readouterr().err
    assert sidecar.is_symlink()


def test_a_sidecar_that_is_a_link_is_left_as_it_is(library, capsys):
    # Replaced, the link would become a file; written through, another photo's sidecar
    # would get this photo's keywords.
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    target = library / "coffee.png.xmp"
    before = target.read_bytes()
    linked = library / "2024" / "chelsea.png.xmp"
    linked.symlink_to(target)
    assert cli.main(["tag", "--xmp", "--force", str(library)]) == 1
    assert "chelsea.png.xmp is a symbolic link: it is left as it is" in capsys.readouterr().err
    assert linked.is_symlink() and target.read_bytes() == before


def test_a_fifo_as_sidecar_is_not_waited_on(library, capsys):
    sidecar = library / "coffee.png.xmp"
    os.mkfifo(sidecar)
    stop = threading.Event()
    # Should pyvision open the FIFO, this writer answers (with no XML), so that the test
    # fails rather than waits forever.
    writer = threading.Thread(target=_feed, args=(sidecar, stop))
    writer.start()
    try:
        assert xmp.read_stamp(sidecar) is None
        assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 1
        err = capsys.readouterr().err
        assert "unreadable_sidecar" in err and "not a regular file" in err
        assert stat.S_ISFIFO(os.stat(sidecar).st_mode)
    finally:
        stop.set()
        # Held open until the writer is gone: its open(), whether waiting already or not yet
        # called, then returns at once.
        reader = os.open(sidecar, os.O_RDONLY | os.O_NONBLOCK)
        writer.join()
        os.close(reader)


def _feed(fifo, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with open(fifo, "wb") as f:
                f.write(b"not xml")
        except BrokenPipeError:
            pass


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_root_rewriting_a_sidecar_leaves_it_its_owners(library):
    sidecar = library / "coffee.png.xmp"
    sidecar.write_text(PERSONS_SIDECAR, encoding="utf-8")
    sidecar.chmod(0o600)
    os.chown(sidecar, 65534, 65534)
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    info = sidecar.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o600)
    assert "espresso" in sidecar.read_text(encoding="utf-8")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_a_link_put_in_place_of_the_temporary_file_gives_nothing_away(library, tmp_path, monkeypatch):
    # Root tags only folders no one else may write in (test_running_as_root.py); were one
    # to slip through, a link swapped in for the new sidecar between its creation and its
    # change of owner must not give the link's target away.
    victim = tmp_path / "shadow"
    victim.write_text("root's", encoding="utf-8")
    victim.chmod(0o600)
    (library / "coffee.png.xmp").write_text(PERSONS_SIDECAR, encoding="utf-8")
    os.chown(library / "coffee.png.xmp", 65534, 65534)
    keep_owner = xmp._keep_owner

    def swapped_first(*args):
        temporary, = library.glob(".pyvision-*.xmp.tmp")
        temporary.unlink()
        temporary.symlink_to(victim)
        keep_owner(*args)

    monkeypatch.setattr(xmp, "_keep_owner", swapped_first)
    cli.main(["tag", "--xmp", str(library / "coffee.png")])
    info = victim.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o600)


def test_a_sidecar_made_a_link_as_it_is_read_lends_nothing_of_its_target(library, tmp_path, monkeypatch):
    # Swapped for a link between being looked at and being opened, the target's text would
    # be copied into the new sidecar, in a folder its owner may read.
    secret = tmp_path / "secret.xmp"
    secret.write_text(PERSONS_SIDECAR.replace("Granny's cup", "topsecret"), encoding="utf-8")
    sidecar = library / "coffee.png.xmp"
    sidecar.write_text(PERSONS_SIDECAR, encoding="utf-8")
    require_regular = xmp._require_regular

    def swapped_first(info, path):
        if not path.is_symlink():
            path.unlink()
            path.symlink_to(secret)
        require_regular(info, path)

    monkeypatch.setattr(xmp, "_require_regular", swapped_first)
    # --force: else the swap happens as the stamp is read, before the writing looks.
    assert cli.main(["tag", "--xmp", "--force", str(library / "coffee.png")]) == 1
    assert not any("topsecret" in f.read_text(encoding="utf-8", errors="replace")
                   for f in library.iterdir() if f.is_file() and not f.is_symlink())


def test_a_folder_made_to_lead_elsewhere_as_its_sidecar_is_rewritten_changes_nothing_there(library, tmp_path,
                                                                                            monkeypatch):
    # Someone who may write in the library swaps a folder for a link to another of the
    # runner's, whose sidecar of the same name would be replaced by this one.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "chelsea.png.xmp").write_text("their own", encoding="utf-8")
    folder = library / "2024"
    (folder / "chelsea.png.xmp").write_text(PERSONS_SIDECAR, encoding="utf-8")
    parse = xmp._parse

    def swapped_first(data):
        if not folder.is_symlink():
            folder.rename(library / "2024.real")
            folder.symlink_to(elsewhere)
        return parse(data)

    monkeypatch.setattr(xmp, "_parse", swapped_first)
    assert cli.main(["tag", "--xmp", "--force", str(folder / "chelsea.png")]) == 0
    assert (elsewhere / "chelsea.png.xmp").read_text(encoding="utf-8") == "their own"
    assert "Granny's cup" in (library / "2024.real" / "chelsea.png.xmp").read_text(encoding="utf-8")


def test_a_new_sidecar_has_the_mode_of_any_new_file(library):
    previous = os.umask(0o027)
    try:
        assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((library / "coffee.png.xmp").stat().st_mode) == 0o640


def test_a_private_photos_new_sidecar_is_private(library):
    # What a photo shows is no one else's to read, in its sidecar either.
    (library / "coffee.png").chmod(0o600)
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 0
    assert stat.S_IMODE((library / "coffee.png.xmp").stat().st_mode) == 0o600


def test_a_photo_swapped_for_a_link_once_the_walk_has_looked_is_not_read(library, tmp_path, monkeypatch, capsys):
    # In a folder others may write in, the link could point at the runner's private photo,
    # whose keywords would land in a sidecar they can read.
    private = tmp_path / "private.png"
    shutil.copy(library / "2024" / "chelsea.png", private)
    walk = photos_module.photos

    def swapped_after_the_walk(*args, **kwargs):
        found = list(walk(*args, **kwargs))
        (library / "coffee.png").unlink()
        (library / "coffee.png").symlink_to(private)
        return iter(found)

    monkeypatch.setattr(photos_module, "photos", swapped_after_the_walk)
    assert cli.main(["tag", "--xmp", str(library / "coffee.png")]) == 1
    assert "was replaced since its folder was walked" in capsys.readouterr().err
    assert not (library / "coffee.png.xmp").exists()


def test_a_folder_swapped_for_a_link_before_its_sidecar_is_written_gets_none(library, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = library / "2024"
    sidecar_path = xmp.sidecar_path

    def swapped_first(photo, **kwargs):
        if not folder.is_symlink():
            folder.rename(library / "2024.real")
            folder.symlink_to(elsewhere)
        return sidecar_path(photo, **kwargs)

    monkeypatch.setattr(xmp, "sidecar_path", swapped_first)
    # --force: else the sidecar's path is asked for its stamp before the photo is read.
    assert cli.main(["tag", "--xmp", "--force", str(folder / "chelsea.png")]) == 1
    assert "was replaced since its photos were found" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == [] and not list((library / "2024.real").glob("*.xmp"))
