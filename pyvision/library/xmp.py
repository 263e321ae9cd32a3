"""XMP sidecars: keywords beside a photo, never in it.

``dc:subject`` holds plain keywords (every photo manager reads it) and
``lr:hierarchicalSubject`` the keyword tree (Lightroom, digiKam, darktable). A sidecar
that exists is edited, not replaced: everything pyvision did not write stays as it was
(the person's keywords, rating, edits, namespaces, comments). What pyvision wrote is
recorded in its own namespace, so the next run replaces exactly that.
"""

import contextlib
import errno
import os
import re
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .keywords import ROOT, SEPARATOR
from .reading import identity, read_at_most

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "pyvision": "urn:pyvision:xmp:1.0/",
}
UNREADABLE_SIDECAR = "unreadable_sidecar"
UNWRITABLE_SIDECAR = "unwritable_sidecar"

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
# darktable keeps its whole edit history in the sidecar, and that is still well under a megabyte.
_LARGEST_SIDECAR = 16 * 2**20
# The whitespace before an element that pyvision copies to lay its own out: a line break
# and an indent, as photo managers write them.
_LONGEST_LAYOUT = 64
_LISTS = {f"{{{NS['rdf']}}}{kind}" for kind in ("Bag", "Seq", "Alt")}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Compiled once: an XPath given as text is compiled again on each call, for every photo.
_PYVISION_KEYWORDS = etree.XPath(".//pyvision:Keywords//rdf:li/text()", namespaces=NS)
_PYVISION_PATHS = etree.XPath(".//pyvision:HierarchicalKeywords//rdf:li/text()", namespaces=NS)
# Said by a text, not by the list of paths itself: exiftool drops an empty list when it
# edits a sidecar, and the sidecar would then pass for one whose paths were not recorded.
_PYVISION_PATHS_RECORDED = etree.XPath("boolean(.//pyvision:PathsRecorded)", namespaces=NS)
_PYVISION_ELEMENTS = etree.XPath(".//pyvision:*", namespaces=NS)


class SidecarError(Exception):
    """A sidecar that is there but cannot be read: it is left alone."""

    code = UNREADABLE_SIDECAR


class FolderReplaced(SidecarError):
    """A photo's folder that is no longer the one it was found in: swapped for a link, it
    would have the sidecar written wherever the link points."""

    code = UNWRITABLE_SIDECAR


class SidecarLinked(SidecarError):
    """A sidecar that is a symbolic link: replaced, the link would become a file; written
    through, its target would get this photo's keywords, whoever else it belongs to."""

    code = UNWRITABLE_SIDECAR


@dataclass(frozen=True)
class Stamp:
    """What a sidecar's pyvision keywords were made from: a later run with the same
    stamp has nothing to add."""

    model: str
    settings: str
    source_size: int
    source_modified_ns: int

    @classmethod
    def of(cls, photo: os.stat_result, model: str, settings: str) -> "Stamp":
        return cls(model, settings, photo.st_size, photo.st_mtime_ns)


def sidecar_path(photo: Path, *, basename: bool = False) -> Path:
    """digiKam and darktable: ``IMG_1.CR2.xmp``; Lightroom (``basename``): ``IMG_1.xmp``."""
    return photo.with_suffix(".xmp") if basename else photo.with_name(photo.name + ".xmp")


def read_stamp(sidecar: Path) -> Stamp | None:
    """The stamp of pyvision's last keywords in this sidecar, if it has some."""
    try:
        tree = _parse(_read(sidecar)[0])
        values = {name: tree.findtext(f".//pyvision:{name}", namespaces=NS)
                  for name in ("Model", "Settings", "SourceSize", "SourceModified")}
        return Stamp(values["Model"], values["Settings"], int(values["SourceSize"]), int(values["SourceModified"]))
    except (OSError, SidecarError, TypeError, ValueError):
        return None


def write(sidecar: Path, keywords: list[str], hierarchy: list[str], stamp: Stamp, *,
          folder: tuple[int, int] | None = None, photo: os.stat_result | None = None) -> None:
    """Put pyvision's keywords in the sidecar, in place of those it wrote before; only in
    the ``folder`` (device, inode) its photo was found in, if given. A new sidecar is the
    ``photo``'s owner's, and no more readable than it."""
    keywords, hierarchy = _xml_text(keywords), _xml_text(hierarchy)
    # Opened once: the old sidecar is read and the new one renamed over it in the same
    # folder, even if someone who may write above it makes its path lead elsewhere meanwhile.
    handle = os.open(sidecar.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        info = os.fstat(handle)
        if folder is not None and identity(info) != folder:
            raise FolderReplaced(f"{sidecar.parent} was replaced since its photos were found: nothing is written there.")
        _write(sidecar, handle, keywords, hierarchy, stamp, photo)
    finally:
        os.close(handle)


def _write(sidecar: Path, folder: int, keywords: list[str], hierarchy: list[str], stamp: Stamp,
           photo: os.stat_result | None) -> None:
    try:
        # Not through a link: its target's text would be copied into the new sidecar.
        data, old = _read(sidecar, folder=folder)
    except FileNotFoundError:
        data, old = _NEW, None
    tree = _parse(data)
    rdf = tree.getroot() if tree.getroot().tag == _name("rdf", "RDF") else tree.find(".//rdf:RDF", NS)
    if rdf is None:
        raise SidecarError(f"{sidecar} has no rdf:RDF element.")
    keyword_was_pyvisions = set(_PYVISION_KEYWORDS(rdf)).__contains__
    if _PYVISION_PATHS_RECORDED(rdf) or not _PYVISION_ELEMENTS(rdf):
        path_was_pyvisions = set(_PYVISION_PATHS(rdf)).__contains__
    else:  # written by a pyvision that did not record its paths: every path in its tree was its own
        path_was_pyvisions = _in_pyvisions_tree
    _remove_pyvision_properties(rdf)
    description = rdf.find("rdf:Description", NS)
    if description is None:
        description = etree.Element(_name("rdf", "Description"), {_name("rdf", "about"): ""})
        _insert(rdf, len(rdf), [description])

    subjects = _list(rdf, description, "dc", "subject")
    added = _put_in(subjects, keywords, keyword_was_pyvisions)
    paths = _list(rdf, description, "lr", "hierarchicalSubject")
    added_paths = _put_in(paths, hierarchy, path_was_pyvisions)

    recorded = [_element("pyvision", name, str(value)) for name, value in (
        ("Model", stamp.model), ("Settings", stamp.settings),
        ("SourceSize", stamp.source_size), ("SourceModified", stamp.source_modified_ns), ("PathsRecorded", "True"))]
    _insert(description, 0, recorded)
    _add_items(_new_bag(description, len(recorded), _name("pyvision", "Keywords")), added)
    _add_items(_new_bag(description, len(recorded) + 1, _name("pyvision", "HierarchicalKeywords")), added_paths)
    for bag in (subjects, paths):
        if len(bag) == 0:
            bag.getparent().getparent().remove(bag.getparent())
    etree.cleanup_namespaces(description, top_nsmap={p: NS[p] for p in ("dc", "lr", "pyvision")})
    written = etree.tostring(tree, encoding="utf-8")
    if len(written) > _LARGEST_SIDECAR:
        raise SidecarError(f"{sidecar} would be larger than {_LARGEST_SIDECAR // 2**20} MB, which no sidecar is.")
    _replace(sidecar, folder, written, old or photo, new=old is None)


def _put_in(items: etree._Element, values: list[str], was_pyvisions) -> list[str]:
    """pyvision's ``values`` in a list (dc:subject, lr:hierarchicalSubject), in place of the
    items it wrote before. One the person already has (a keyword, or a path they put in
    pyvision's tree, a class they corrected) stays theirs: pyvision neither repeats nor
    owns it. Returns the values added."""
    for li in items.findall("rdf:li", NS):
        if was_pyvisions(li.text):
            items.remove(li)
    present = {li.text for li in items.findall("rdf:li", NS)}
    added = [value for value in dict.fromkeys(values) if value not in present]
    _add_items(items, added)
    return added


def _in_pyvisions_tree(path: str | None) -> bool:
    return (path or "").startswith(ROOT + SEPARATOR)


def _read(sidecar: Path, *, folder: int | None = None) -> tuple[bytes, os.stat_result]:
    """The sidecar's bytes and what the open file's status said of it, if it is a regular
    file of a sidecar's size. Named in the ``folder`` opened for rewriting it, a link is
    refused (SidecarLinked); else a link to a regular file is read."""
    name, where = (sidecar.name, {"dir_fd": folder}) if folder is not None else (sidecar, {})
    # Looked at before opening it, as opening a device may do something (a tape rewinds);
    # and again once open, in case it was swapped in between. Opening a FIFO would wait
    # for a writer, but not when non-blocking.
    info = os.stat(name, follow_symlinks=folder is None, **where)
    if stat.S_ISLNK(info.st_mode):
        raise SidecarLinked(f"{sidecar} is a symbolic link: it is left as it is.")
    _require_regular(info, sidecar)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if folder is not None else 0), **where)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a link since it was looked at
            raise SidecarLinked(f"{sidecar} is a symbolic link: it is left as it is.") from None
        raise
    with open(fd, "rb") as f:
        info = os.fstat(f.fileno())
        _require_regular(info, sidecar)
        data = read_at_most(f, info.st_size, _LARGEST_SIDECAR)
    if data is None:
        raise SidecarError(f"{sidecar} is larger than {_LARGEST_SIDECAR // 2**20} MB, which no sidecar is.")
    return data, info


def _require_regular(info: os.stat_result, sidecar: Path) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SidecarError(f"{sidecar} is not a regular file.")


def _parse(data: bytes) -> etree._ElementTree:
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise SidecarError(f"The sidecar is not well-formed XML ({exc}).") from None
    if tree.docinfo.doctype:
        # Written again, it would lose its DOCTYPE and keep references to the entities that
        # were declared there, which then no reader can resolve. No XMP packet has a DTD.
        raise SidecarError("The sidecar has a DOCTYPE, which no XMP packet has.")
    return tree


def _name(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


def _remove_pyvision_properties(rdf: etree._Element) -> None:
    for element in _PYVISION_ELEMENTS(rdf):
        if element.getparent() is not None and not element.getparent().tag.startswith(_name("pyvision", "")):
            element.getparent().remove(element)
    for description in rdf.findall("rdf:Description", NS):
        for attribute in [a for a in description.attrib if a.startswith(_name("pyvision", ""))]:
            del description.attrib[attribute]


def _list(rdf: etree._Element, description: etree._Element, prefix: str, local: str) -> etree._Element:
    """The list (rdf:Bag, Seq or Alt) of a property wherever a description of the sidecar
    has it, or a new Bag. A single value, which RDF also allows as the property's text or
    as an attribute of the description, becomes a Bag holding it: a second property beside
    it would be read by photo managers in its place, or dropped."""
    name = _name(prefix, local)
    prop = rdf.find(f"rdf:Description/{prefix}:{local}", NS)
    if prop is not None:
        return _list_of(prop, f"{prefix}:{local}")
    holder = rdf.find(f"rdf:Description[@{prefix}:{local}]", NS)
    if holder is None:
        return _new_bag(description, 0, name)
    bag = _new_bag(holder, 0, name)
    _add_items(bag, [holder.attrib.pop(name)])
    return bag


def _list_of(prop: etree._Element, label: str) -> etree._Element:
    lists = [child for child in prop if child.tag in _LISTS]
    if lists:
        return lists[0]
    # xml:lang, the text's language, stays on the property: the list's items inherit it.
    if len(prop) or set(prop.attrib) - {_XML_LANG}:
        raise SidecarError(f"The sidecar's {label} is neither a list nor a text.")
    value, prop.text = (prop.text or "").strip(), None
    bag = etree.Element(_name("rdf", "Bag"))
    _insert(prop, 0, [bag])
    _add_items(bag, [value] if value else [])
    return bag


def _xml_text(values: list[str]) -> list[str]:
    """Keywords as XML can hold them: a custom model's label may hold control characters,
    which no XML document may."""
    return [_NOT_XML.sub("", value) for value in values]


def _new_bag(parent: etree._Element, index: int, name: str) -> etree._Element:
    """A new property holding an empty rdf:Bag, put at index in parent."""
    prop = etree.Element(name)
    _insert(parent, index, [prop])
    bag = etree.Element(_name("rdf", "Bag"))
    _insert(prop, 0, [bag])
    return bag


def _add_items(container: etree._Element, values) -> None:
    # A Seq's order is the person's and an Alt's first item its default: pyvision's go last there.
    index = 0 if container.tag == _name("rdf", "Bag") else len(container)
    _insert(container, index, [_element("rdf", "li", value) for value in values])


def _element(prefix: str, local: str, text: str) -> etree._Element:
    element = etree.Element(_name(prefix, local))
    element.text = text
    return element


def _insert(parent: etree._Element, index: int, elements: list[etree._Element]) -> None:
    """Put pyvision's new elements at index in parent, each followed by a copy of the
    whitespace in front of the first one: what the person had keeps its exact text,
    whitespace included, and taking them out again, tails and all, leaves it as it was."""
    laid_out = bool(elements) and len(parent) == 0 and not (parent.text or "").strip()
    if laid_out:
        # Nothing but whitespace in it, so no text to keep: indented one level in.
        closing = _line_at(parent)
        parent.text = closing + " "
    space = parent.text if index == 0 else parent[index - 1].tail
    if space and len(space) > _LONGEST_LAYOUT:
        # Copied once for each keyword, a sidecar padded with megabytes of it would grow
        # tenfold on each run.
        space = _line_at(parent)
    for offset, element in enumerate(elements):
        element.tail = space if not (space or "").strip() else None
        parent.insert(index + offset, element)
    if laid_out:
        elements[-1].tail = closing


def _line_at(parent: etree._Element) -> str:
    """A line break, indented as deep as the element is."""
    return "\n" + " " * sum(1 for _ in parent.iterancestors())


def _replace(path: Path, folder: int, data: bytes, like: os.stat_result | None, *, new: bool) -> None:
    """Write a new file beside the old one in the open ``folder``, then rename it over: an
    interrupted run leaves the old sidecar or the new one, never half of one. It takes
    the owner and mode of the file it is ``like``: the old sidecar, or for a ``new`` one,
    its photo (read and write bits only, less the umask)."""
    # Named before it exists, so that an interrupt landing anywhere below can remove it.
    # Not named after the sidecar: a legal 255-byte sidecar name leaves no room for more.
    temporary = f".pyvision-{os.getpid()}-{threading.get_ident()}.xmp.tmp"
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _created_mode(like, new=new),
                          dir_fd=folder), "wb") as f:
            f.write(data)
            # Owner and mode are set through the open file, never by name: whoever may
            # write in the folder could put a link to /etc/shadow in the temporary's place.
            if like is not None:
                _keep_owner(f.fileno(), like)
            if like is not None and not new:
                # After the owner, which may clear them: the permissions alone, a sidecar
                # is no program to run as its owner.
                os.fchmod(f.fileno(), like.st_mode & 0o777)
                # The old sidecar may hold the person's own keywords: the new one must be
                # on disk before the rename, even if the power fails. A new sidecar lost
                # that way costs only a re-tag.
                f.flush()
                os.fsync(f.fileno())
        os.replace(temporary, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        raise


def _created_mode(like: os.stat_result | None, *, new: bool) -> int:
    """A sidecar says what its photo shows: one of a private photo is private. A new one
    is made no more readable than its photo (as any new file without one); one that
    replaces another is private until it has the old one's owner and mode."""
    if not new:
        return 0o600
    return 0o666 if like is None else like.st_mode & 0o666


def _keep_owner(fd: int, like: os.stat_result) -> None:
    """Root writing a person's sidecar must not make it root's, which its owner may then
    not read or change."""
    try:
        os.fchown(fd, like.st_uid, like.st_gid)
    except PermissionError:
        # Only root may give a file away: anyone else's rewrite is theirs, as any file they write.
        pass