"""XMP sidecars: keywords beside a photo, never in it.

``dc:subject`` holds plain keywords (every photo manager reads it) and
``lr:hierarchicalSubject`` the keyword tree (Lightroom, digiKam, darktable). A sidecar
that exists is edited, not replaced: everything pyvision did not write stays as it was
(the person's keywords, rating, edits, namespaces, comments). What pyvision wrote is
recorded in its own namespace, so the next run replaces exactly that.
"""

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .keywords import ROOT, SEPARATOR

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "pyvision": "urn:pyvision:xmp:1.0/",
}
UNREADABLE_SIDECAR = "unreadable_sidecar"

_NEW = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="{NS['x']}" x:xmptk="pyvision">
 <rdf:RDF xmlns:rdf="{NS['rdf']}">
  <rdf:Description rdf:about=""/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
""".encode()
# Sidecars are the person's files: no entity may be expanded, nothing fetched.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class SidecarError(Exception):
    """A sidecar that is there but cannot be read: it is left alone."""

    code = UNREADABLE_SIDECAR


@dataclass(frozen=True)
class Stamp:
    """What a sidecar's pyvision keywords were made from: a later run with the same
    stamp has nothing to add."""

    model: str
    settings: str
    source_size: int
    source_modified_ns: int

    @classmethod
    def of(cls, photo: Path, model: str, settings: str) -> "Stamp":
        info = photo.stat()
        return cls(model, settings, info.st_size, info.st_mtime_ns)


def sidecar_path(photo: Path, *, basename: bool = False) -> Path:
    """digiKam and darktable: ``IMG_1.CR2.xmp``; Lightroom (``basename``): ``IMG_1.xmp``."""
    return photo.with_suffix(".xmp") if basename else photo.with_name(photo.name + ".xmp")


def read_stamp(sidecar: Path) -> Stamp | None:
    """The stamp of pyvision's last keywords in this sidecar, if it has some."""
    try:
        tree = _parse(sidecar.read_bytes())
        values = {name: tree.findtext(f".//pyvision:{name}", namespaces=NS)
                  for name in ("Model", "Settings", "SourceSize", "SourceModified")}
        return Stamp(values["Model"], values["Settings"], int(values["SourceSize"]), int(values["SourceModified"]))
    except (OSError, SidecarError, TypeError, ValueError):
        return None


def write(sidecar: Path, keywords: list[str], hierarchy: list[str], stamp: Stamp) -> None:
    """Put pyvision's keywords in the sidecar, in place of those it wrote before."""
    try:
        data = sidecar.read_bytes()
    except FileNotFoundError:
        data = _NEW
    tree = _parse(data)
    rdf = tree.getroot() if tree.getroot().tag == _name("rdf", "RDF") else tree.find(".//rdf:RDF", NS)
    if rdf is None:
        raise SidecarError(f"{sidecar} has no rdf:RDF element.")
    before = set(rdf.xpath(".//pyvision:Keywords//rdf:li/text()", namespaces=NS))
    _remove_pyvision_properties(rdf)
    description = rdf.find("rdf:Description", NS)
    if description is None:
        description = etree.SubElement(rdf, _name("rdf", "Description"), {_name("rdf", "about"): ""})

    subjects = _bag(rdf, description, "dc", "subject")
    for li in subjects.findall("rdf:li", NS):
        if li.text in before:
            subjects.remove(li)
    present = {li.text for li in subjects.findall("rdf:li", NS)}
    # A keyword the person already has stays theirs: pyvision neither repeats nor owns it.
    added = [k for k in dict.fromkeys(keywords) if k not in present]
    _append(subjects, added)

    paths = _bag(rdf, description, "lr", "hierarchicalSubject")
    for li in paths.findall("rdf:li", NS):
        if (li.text or "").startswith(ROOT + SEPARATOR):
            paths.remove(li)
    _append(paths, dict.fromkeys(hierarchy))

    for name, value in (("Model", stamp.model), ("Settings", stamp.settings),
                        ("SourceSize", stamp.source_size), ("SourceModified", stamp.source_modified_ns)):
        etree.SubElement(description, _name("pyvision", name)).text = str(value)
    _append(etree.SubElement(etree.SubElement(description, _name("pyvision", "Keywords")), _name("rdf", "Bag")), added)
    for bag in (subjects, paths):
        if len(bag) == 0:
            bag.getparent().getparent().remove(bag.getparent())
    etree.cleanup_namespaces(description, top_nsmap={p: NS[p] for p in ("dc", "lr", "pyvision")})
    etree.indent(description, space=" ", level=2)
    _replace(sidecar, etree.tostring(tree, encoding="utf-8"))


def _parse(data: bytes) -> etree._ElementTree:
    try:
        return etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise SidecarError(f"The sidecar is not well-formed XML ({exc}).") from None


def _name(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


def _remove_pyvision_properties(rdf: etree._Element) -> None:
    for element in rdf.xpath(".//pyvision:*", namespaces=NS):
        if element.getparent() is not None and not element.getparent().tag.startswith(_name("pyvision", "")):
            element.getparent().remove(element)
    for description in rdf.findall("rdf:Description", NS):
        for attribute in [a for a in description.attrib if a.startswith(_name("pyvision", ""))]:
            del description.attrib[attribute]


def _bag(rdf: etree._Element, description: etree._Element, prefix: str, local: str) -> etree._Element:
    """The rdf:Bag of a property wherever a description of the sidecar has it, or a new one."""
    bag = rdf.find(f".//{prefix}:{local}/rdf:Bag", NS)
    if bag is None:
        bag = etree.SubElement(etree.SubElement(description, _name(prefix, local)), _name("rdf", "Bag"))
    return bag


def _append(bag: etree._Element, values) -> None:
    for value in values:
        etree.SubElement(bag, _name("rdf", "li")).text = value


def _replace(path: Path, data: bytes) -> None:
    """Write a new file beside the old one, then rename it over: an interrupted run
    leaves the old sidecar or the new one, never half of one."""
    try:
        mode = path.stat().st_mode & 0o7777
        replacing = True
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode, replacing = 0o666 & ~umask, False
    # Named before it exists, so that an interrupt landing anywhere below can remove it.
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
            if replacing:
                # The old sidecar may hold the person's own keywords: the new one must be
                # on disk before the rename, even if the power fails. A new sidecar lost
                # that way costs only a re-tag.
                f.flush()
                os.fsync(f.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
