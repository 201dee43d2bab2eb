"""Reading HBPE 1.0 extracts: hardened, streaming, schema-validated.

``read_extract`` walks a file once with lxml's ``iterparse``, validating
against the XSD as it goes, and hands records to a sink in batches (one
section each, values kept flat so columns are cheap slices). Memory stays flat
in file size: each record element is dropped from the tree once the next one
has been read, and a batch is handed on at ``batch_rows`` records. File-level
problems raise ``FileRejected`` naming the file, the line and what to do.
Record-level rules (dates outside the period and so on) are not checked here:
the warehouse checks them in SQL over the whole file, where they are fast and
where the duplicate-ref rule can see every record.

Hardening: the prolog is scanned before lxml sees the file, so a DTD (and
with it every billion-laughs or XXE trick) is refused before any entity is
declared, and so is a file that is not UTF-8 (a byte-order mark of UTF-16 or
UTF-32, or a NUL byte). The scan reads only the first 64 KB, so the parser is
the real wall: lxml reads every file as UTF-8 whatever it declares, runs with
entities unresolved, no DTD loading, no network and huge-tree protections on,
and the document is refused at its first element if it has a DOCTYPE at all.
XInclude is never processed, and an ``xi:include`` element is simply not valid HBPE.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.exceptions import FileRejected
from perfcore.intake import hbpe

if TYPE_CHECKING:
    from lxml import etree

NS = hbpe.NS
_Q = "{" + NS + "}"
BATCH_ROWS = 10_000  # a few MB of strings per batch; from 2k to 50k rows the speed is the same
_PROLOG_LIMIT = 64 * 1024
# Byte-order marks of encodings HBPE forbids (UTF-32 LE before UTF-16 LE: it starts the same).
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)

# The sections, their attributes and the header are described once, in ``hbpe``.
Section = hbpe.Section
SECTIONS = hbpe.SECTIONS
Header = hbpe.Header
SECTION_BY_TAG = {_Q + s.element: s for s in SECTIONS}


class Batch:
    """Records of one section in file order: their lines, and their attribute values.

    ``values`` is flat, row by row in ``Section.names`` order (None for an
    absent optional attribute): the hot loop extends one list per record
    instead of building a tuple, and a column is then one C-level slice.
    """

    __slots__ = ("section", "lines", "values")

    def __init__(self, section: Section) -> None:
        self.section = section
        self.lines: list[int] = []
        self.values: list[str | None] = []

    def __len__(self) -> int:
        return len(self.lines)

    def columns(self) -> list[list[str | None]]:
        """One list per attribute, in ``Section.names`` order."""
        width = len(self.section.names)
        return [self.values[i::width] for i in range(width)]


Sink = Callable[[Batch], None]
HeaderCheck = Callable[[Header], None]


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    from lxml import etree

    with resources.files("perfcore.intake").joinpath("schema/hbpe-1.0.xsd").open("rb") as handle:
        return etree.XMLSchema(etree.parse(handle))


def check_prolog(path: Path) -> None:
    """Refuse a DTD, entity declaration or non-UTF-8 encoding before parsing."""
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_LIMIT)
    _check_utf8_bytes(path, head)
    text = head.decode("utf-8", errors="replace")
    prolog = _strip_prolog_noise(text)
    if re.search(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", prolog, re.IGNORECASE):
        raise FileRejected(
            "the document declares a DTD or entities, which HBPE 1.0 forbids",
            file=path.name,
            line=_line_of(text, "<!"),
            field="DOCTYPE",
            hint="remove the <!DOCTYPE ...> declaration and export plain XML",
        )
    declared = re.match(r"\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)", text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise FileRejected(
            f"declared encoding {declared.group(1)!r}; HBPE 1.0 files are UTF-8",
            file=path.name,
            line=1,
            field="encoding",
            hint="export the file as UTF-8",
        )


def _check_utf8_bytes(path: Path, head: bytes) -> None:
    """UTF-16 and UTF-32 show in the first bytes: a byte-order mark, or NUL bytes
    (XML 1.0 allows no NUL character, and UTF-8 text has no NUL byte otherwise)."""
    foreign = next((name for bom, name in _FOREIGN_BOMS if head.startswith(bom)), None)
    if foreign is None and b"\0" in head:
        foreign = "UTF-16 or UTF-32" if head.startswith((b"\0", b"<\0")) else None
        if foreign is None:
            raise FileRejected(
                "the file holds a NUL byte, which XML forbids",
                file=path.name,
                line=head.count(b"\n", 0, head.index(b"\0")) + 1,
                hint="the file is damaged or not XML; export it again from the benefits system",
            )
    if foreign is not None:
        raise FileRejected(
            f"the file is encoded as {foreign}; HBPE 1.0 files are UTF-8",
            file=path.name,
            line=1,
            field="encoding",
            hint="export the file as UTF-8",
        )


def _strip_prolog_noise(text: str) -> str:
    """The prolog up to the root element, without comments and processing instructions."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"<\?.*?\?>", "", text, flags=re.DOTALL)
    root = re.search(r"<[A-Za-z_]", text)
    return text[: root.start()] if root else text


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def read_extract(path: Path, sink: Sink, check_header: HeaderCheck, batch_rows: int = BATCH_ROWS) -> Header:
    """Validate and stream one extract. Returns its header (with caseload and expenditure).

    ``check_header`` runs as soon as the header has been read, before any
    record, so a file for a non-member or a future period stops early.
    """
    from lxml import etree

    check_prolog(path)
    # The (thread-local) error log tells schema errors from syntax errors below:
    # entries left by an earlier file must not decide this one's.
    etree.clear_error_log()
    # lxml raises schema errors a little after the offending element has been
    # yielded, so a batch holding a bad value can reach the sink first. The
    # sink's failure is held back until the parse ends: a schema error, which
    # names the real problem, takes precedence.
    guarded = _GuardedSink(sink)
    try:
        with _collector_paused():
            # encoding="utf-8" overrides whatever the file declares or its BOM says.
            context = etree.iterparse(
                str(path),
                events=("end",),
                schema=schema(),
                resolve_entities=False,
                load_dtd=False,
                no_network=True,
                huge_tree=False,
                remove_comments=True,
                encoding="utf-8",
            )
            events = _refuse_doctype(path, context)
            header, totals, complete = _walk(events, guarded, check_header, batch_rows)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, exc) from exc
    if not complete:
        # With a schema attached, lxml can end a truncated file's iterparse
        # quietly instead of raising: the closing </Extract> is the proof of a whole file.
        line, detail = _locate_syntax_error(path)
        raise FileRejected(
            f"not well-formed XML: the file ends before </Extract>{f' ({detail})' if detail else ''}",
            file=path.name,
            line=line,
            hint="the file was cut short in transfer or export; send it again complete",
        )
    guarded.raise_held()
    return Header(**{**header.__dict__, "caseload": int(totals["claims"]), "expenditure": totals["amount"]})


def _refuse_doctype(path: Path, context) -> Iterator:
    """The parser's own DTD wall: by the first element's end the whole prolog has been
    read, so the tree knows of any DOCTYPE, however far into the file it sat."""
    first = next(context, None)
    if first is None:
        return iter(())
    if _has_doctype(first[1]):
        raise _doctype_rejected(path)
    # chain is C-level: the hot loop below pays nothing for the first event being peeked.
    return itertools.chain((first,), context)


def _has_doctype(element: etree._Element) -> bool:
    docinfo = element.getroottree().docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None


def _doctype_rejected(path: Path) -> FileRejected:
    return FileRejected(
        "the document declares a DTD or entities, which HBPE 1.0 forbids",
        file=path.name,
        field="DOCTYPE",
        hint="remove the <!DOCTYPE ...> declaration and export plain XML",
    )


def _declares_doctype(path: Path) -> bool:
    """For a file that failed before its first element ended (an entity used in it,
    say): the root's start is enough to know whether a DOCTYPE came first."""
    from lxml import etree

    try:
        events = etree.iterparse(
            str(path), events=("start",), resolve_entities=False, load_dtd=False, no_network=True, encoding="utf-8"
        )
        first = next(events, None)
    except etree.XMLSyntaxError:
        return False
    return first is not None and _has_doctype(first[1])


def _walk(
    context, sink: Sink, check_header: HeaderCheck, batch_rows: int
) -> tuple[Header | None, dict[str, str], bool]:
    """The hot loop: records gathered into the open batch, handed on full, elements dropped as we go.

    Sections are contiguous (the schema says so), so one batch is open at a
    time; a record of another kind closes it. Per record there are only
    C-level calls: ``map(get)`` gathers the attributes, and deleting the
    earlier siblings keeps the tree at one record (the section's last one
    goes when its parent is cleared).
    """
    header: Header | None = None
    totals: dict[str, str] = {}
    batch: Batch | None = None
    complete = False
    for _event, element in context:
        section = SECTION_BY_TAG.get(element.tag)
        if section is not None:
            if batch is None or batch.section is not section:
                _hand_on(batch, sink)
                batch = Batch(section)
            batch.lines.append(element.sourceline)
            batch.values.extend(map(element.get, section.names))
            if len(batch.lines) >= batch_rows:
                sink(batch)
                batch = Batch(section)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
        elif element.tag == _HEADER:
            if header is None:
                header = _read_header(element)
                if header is not None:
                    check_header(header)
            element.clear(keep_tail=False)
        elif element.tag in _TOTALS:
            totals.update(element.attrib)
        elif element.tag in _SECTION_PARENTS:
            _hand_on(batch, sink)
            batch = None
            element.clear(keep_tail=False)  # drops the section's last record
        elif element.tag == _ROOT:
            complete = True  # keep iterating: lxml raises a pending schema error only at the end
    _hand_on(batch, sink)
    return header, totals, complete and header is not None and {"claims", "amount"} <= totals.keys()


def _hand_on(batch: Batch | None, sink: Sink) -> None:
    if batch:
        sink(batch)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the loop makes millions of short-lived
    tuples and no cycles, and gen-0 collections would cost ~10% of the parse."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_ROOT = _Q + "Extract"
_HEADER = _Q + "Header"
_TOTALS = (_Q + "Caseload", _Q + "Expenditure")
_SECTION_PARENTS = frozenset(_Q + section.parent for section in SECTIONS)


class _GuardedSink:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._held: BaseException | None = None

    def __call__(self, batch: Batch) -> None:
        if self._held is None:
            try:
                self._sink(batch)
            except Exception as exc:  # re-raised by raise_held unless the schema objects first
                self._held = exc

    def raise_held(self) -> None:
        if self._held is not None:
            raise self._held


def _read_header(element: etree._Element) -> Header | None:
    """The header's values, or None if it is not shaped as the schema requires.

    This runs on input not yet validated (lxml reports a schema error a little
    after yielding the element): a malformed header is left to the schema
    error, which names what is wrong, and never reaches ``check_header``.
    """

    def child(name: str) -> etree._Element:
        return element.find(_Q + name)

    try:
        authority, source = child("Authority"), child("Source")
        header = Header(
            authority=authority.get("code"),
            authority_name=(authority.text or "").strip(),
            period=child("Period").text.strip(),
            supplier=source.get("supplier"),
            system=source.get("system"),
            system_version=source.get("version"),
            created=child("Created").text.strip(),
            sequence=int(child("Sequence").text),
            lines=tuple((name, child(name).sourceline) for name in ("Authority", "Period", "Sequence")),
        )
        plausible = (
            hbpe.GSS.match(header.authority)
            and periods.is_period(header.period)
            and 0 < header.sequence <= hbpe.SEQUENCE_MAX
        )
    except (AttributeError, TypeError, ValueError):
        return None
    return header if plausible else None


def check_period_not_future(period: str, today: date, *, file: str, line: int | None, field: str) -> None:
    if period > periods.of(today):
        raise FileRejected(
            f"period {period} is in the future (today is {today.isoformat()})",
            file=file,
            line=line,
            field=field,
            hint="check the period the system was asked to extract",
        )


def _syntax_error(path: Path, exc: etree.XMLSyntaxError) -> FileRejected:
    message = str(exc.msg if hasattr(exc, "msg") else exc).strip()
    message = re.sub(r"\s*\(<string>, line \d+\)$", "", message)
    # Read the (thread-global) error log before any other parse adds to it.
    from_schema = "SCHEMASV" in repr(exc.error_log) or "Element '" in message
    if _declares_doctype(path):
        return _doctype_rejected(path)
    if from_schema:
        line = _locate_schema_error(path, message) or exc.lineno
        return FileRejected(
            f"not valid HBPE 1.0: {_readable(message)}",
            file=path.name,
            line=line or None,
            field=_field_of(message),
            hint="fix the extract (see hbpe-1.0.md) and resubmit it with the same Sequence",
        )
    line, detail = _locate_syntax_error(path)
    return FileRejected(
        f"not well-formed XML: {detail or message}",
        file=path.name,
        line=line or exc.lineno or None,
        hint="the file is damaged or not XML; export it again from the benefits system",
    )


def _locate_syntax_error(path: Path) -> tuple[int | None, str | None]:
    """Re-read without the schema: libxml2 then reports the first well-formedness error
    with its line (under schema validation it can surface later as 'no element found')."""
    from lxml import etree

    try:
        for _event, node in etree.iterparse(
            str(path), resolve_entities=False, load_dtd=False, no_network=True, encoding="utf-8"
        ):
            node.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        return exc.lineno or None, re.sub(r"^line \d+: ", "", str(exc.msg))
    return None, None


def _readable(message: str) -> str:
    return _shorten_quoted(message.replace(_Q, "").replace("{" + NS + "}", ""))


_QUOTED_LIMIT = 80


def _shorten_quoted(message: str) -> str:
    """A value the file holds is quoted in the message: keep a long one to its start,
    so a megabyte of hostile text never becomes a rejection reason."""

    def shorten(match: re.Match) -> str:
        value = match.group(1)
        if len(value) <= _QUOTED_LIMIT:
            return match.group(0)
        return f"'{value[:_QUOTED_LIMIT]}…' ({len(value):,} characters)"

    return re.sub(r"'([^']*)'", shorten, message)


def _field_of(message: str) -> str | None:
    element = re.search(r"Element '(?:\{[^}]*\})?([^']+)'", message)
    attribute = re.search(r"attribute '([^']+)'", message)
    if element and attribute:
        return f"{element.group(1)}@{attribute.group(1)}"
    return element.group(1) if element else None


def _locate_schema_error(path: Path, message: str) -> int | None:
    """lxml reports schema errors during iterparse without a line: find the element again.

    The message names the element and, where it matters, the attribute (a bad
    value, a missing or an unexpected attribute); a second streaming pass
    without the schema finds the first element that fits. Memory stays flat;
    this runs only for rejected files.
    """
    from lxml import etree

    element = re.search(r"Element '(\{[^}]*\}[^']+|[^']+)'", message)
    if not element:
        return None
    tag = element.group(1)
    matches = _error_predicate(message)
    try:
        for event, node in etree.iterparse(
            str(path),
            events=("start", "end"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            encoding="utf-8",
        ):
            if event == "start" and node.tag == tag and matches(node):
                return node.sourceline
            if event == "end" and len(node) == 0:
                node.clear(keep_tail=False)
    except etree.XMLSyntaxError:
        return None
    return None


def _error_predicate(message: str) -> Callable[[etree._Element], bool]:
    bad_value = re.search(r"attribute '([^']+)': '([^']*)'", message)
    if bad_value:
        return lambda node: node.get(bad_value.group(1)) == bad_value.group(2)
    missing = re.search(r"The attribute '([^']+)' is required", message)
    if missing:
        return lambda node: node.get(missing.group(1)) is None
    unexpected = re.search(r"The attribute '([^']+)' is not allowed", message)
    if unexpected:
        return lambda node: node.get(unexpected.group(1)) is not None
    return lambda node: True
