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

Two readers. ``read_extract`` is the careful one: everything above and below
happens in that one validating parse, and it words every rejection.
``read_extract_fast`` is what ``ingest`` tries first: expat gathers the records
while libxml2 validates the same file against the same XSD on a second thread,
building no tree (lxml releases the GIL while it parses, so the two run side by
side on two cores, and even on one they cost less than the careful reader's
tree and per-element Python). It returns only for a file both read whole
without a complaint, with the careful reader's header, batches and lines (past
line 65,534 its lines are exact where lxml's are one too high); anything else,
every invalid file included, raises ``ReadAgain`` and the careful reader decides.

Hardening: the prolog is scanned before lxml sees the file, so a DTD (and
with it every billion-laughs or XXE trick) is refused before any entity is
declared, and so is a file that is not UTF-8 (a byte-order mark of UTF-16 or
UTF-32, or a NUL byte). The scan reads only the first 64 KB, so the parser is
the real wall: lxml reads every file as UTF-8 whatever it declares, runs with
entities unresolved, no DTD loading, no network and huge-tree protections on,
and the document is refused at its first element if it has a DOCTYPE at all.
XInclude is never processed, and an ``xi:include`` element is simply not valid HBPE.
The fast reader has the same walls: the same prolog scan, then both its parsers
stop at a DOCTYPE before any entity is declared, and the careful reader refuses it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import re
import sys
import threading
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

    def __init__(
        self, section: Section, lines: list[int] | None = None, values: list[str | None] | None = None
    ) -> None:
        self.section = section
        self.lines: list[int] = [] if lines is None else lines
        self.values: list[str | None] = [] if values is None else values

    def __len__(self) -> int:
        return len(self.lines)

    def columns(self) -> list[list[str | None]]:
        """One list per attribute, in ``Section.names`` order."""
        width = len(self.section.names)
        return [self.values[i::width] for i in range(width)]

    def text(self) -> str:
        """The batch as one string: a record's values joined by ``VALUE_SEPARATOR``, records by
        ``RECORD_SEPARATOR``, an absent value as ``ABSENT``. XML 1.0 admits none of the three
        characters, not even as a character reference, so none can be part of a value."""
        values = self.values
        if None in values:
            values = [ABSENT if value is None else value for value in values]
        records = map(VALUE_SEPARATOR.join, zip(*[iter(values)] * len(self.section.names)))
        return RECORD_SEPARATOR.join(records)


RECORD_SEPARATOR = "\x1e"
VALUE_SEPARATOR = "\x1f"
ABSENT = "\x1d"


class _TextBatch(Batch):
    """A batch as the fast reader gathers it: each record already as ``text()`` joins its values
    (one ``str.join`` per record, in C), so ``text()`` is one more join."""

    __slots__ = ("records",)

    def __init__(self, section: Section, lines: list[int], records: list[str]) -> None:
        self.section = section
        self.lines = lines
        self.records = records

    def text(self) -> str:
        return RECORD_SEPARATOR.join(self.records)

    @property
    def values(self) -> list[str | None]:  # row by row, as ``Batch.values``
        return [
            None if value == ABSENT else value for record in self.records for value in record.split(VALUE_SEPARATOR)
        ]


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


class _SwitchInterval:
    """How often the parsing thread hands the GIL over, shortened while any fast read runs.

    The validator needs the GIL for a moment between chunks, the section writer
    around each INSERT; with Python's 5 ms each wait stalls a whole core (a
    million records: about 4% of the ingest, bench/bench_ingest.py). The
    interval is the interpreter's, so concurrent reads share one shortening and
    the last to finish puts the old interval back.
    """

    SHORT = 0.001  # seconds

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers = 0
        self._saved = 0.0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._readers == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, self.SHORT))
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1
                if self._readers == 0:
                    sys.setswitchinterval(self._saved)


_switching_often = _SwitchInterval()


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
    except (AttributeError, TypeError, ValueError):
        return None
    return _plausible(header)


def _plausible(header: Header) -> Header | None:
    """The header if its code, period and Sequence look as the schema says, else None."""
    try:
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


# -- the fast way: expat reads while libxml2 validates on another thread ------------------------


class ReadAgain(Exception):
    """``read_extract_fast`` could not vouch for the file: read it again with ``read_extract``.

    Whatever the sink was handed is to be thrown away (``ingest`` rolls its
    transaction back). The careful reader then decides, and words, the outcome
    exactly as it always has.
    """


_CHUNK = 1 << 20  # bytes handed to each parser at a time
# No valid extract has megabytes without markup, nor a token (a tag, a comment) that long:
# past these the careful reader decides. libxml2 refuses a text node over 10,000,000
# characters only when it builds a tree, which the validator never does; and expat would
# hold a whole token in memory.
_RUN_LIMIT = 1 << 22
_TOKEN_LIMIT = 1 << 22


def read_extract_fast(path: Path, sink: Sink, check_header: HeaderCheck, batch_rows: int = BATCH_ROWS) -> Header:
    """``read_extract`` for a file that is whole and valid, in about half the time; else ``ReadAgain``.

    Two readers go through the file at once. On a second thread libxml2
    validates it against the XSD with the careful reader's options, building
    nothing (lxml releases the GIL while it parses, so this runs beside the
    Python below); here expat reads the header and the records into batches
    for ``sink``, calling ``check_header`` when the header ends. The header is
    returned only when both read the whole file without a complaint, and then
    the values, lines and batches are the careful reader's: expat and libxml2
    read a valid document alike, and a record's line is taken where its start
    tag ends, as libxml2 counts it.

    Anything else raises ``ReadAgain``, before the end when it can: the
    validator objecting, expat refusing the file, a DOCTYPE, ``check_header``
    raising, and the few layouts where the two could differ (a comment inside a
    record, a CDATA section, a carriage return not followed by a line feed, a
    run of megabytes without markup). The careful reader then rejects the
    file, with the message, line and field it always gave, or loads it. A
    sink's failure is held and raised only when the file proved valid, as
    there. Memory stays flat: one chunk, one batch per section, nothing else.
    """
    check_prolog(path)
    etree_schema = schema()  # compiled here, once, not raced for by the validator's thread
    validator = _Validator(path, etree_schema)
    guarded = _GuardedSink(sink)
    validator.start()
    try:
        with _collector_paused(), _switching_often():
            header, totals = _ExpatReader(path, guarded, check_header, batch_rows, validator).read()
        if not validator.valid():
            raise ReadAgain("the validator objected")
    except ReadAgain:
        raise
    except Exception as exc:  # expat's error, check_header's, a doubt: the careful reader decides
        raise ReadAgain(f"{type(exc).__name__}: {exc}") from exc
    finally:
        validator.stop()
    guarded.raise_held()
    return Header(**{**header.__dict__, "caseload": int(totals["claims"]), "expenditure": totals["amount"]})


class _Doubt(Exception):
    """The expat reader met something it leaves to the careful reader."""


class _Validator:
    """libxml2 and the XSD over the whole file on a thread of its own, building no tree.

    A parser target with no element methods keeps lxml from calling Python per
    element; its ``doctype`` refuses a DTD before any entity is declared. With
    a target, lxml logs schema errors instead of raising them: any entry in
    the log, any exception, counts as an objection.
    """

    def __init__(self, path: Path, xsd: etree.XMLSchema) -> None:
        self._path = path
        self._xsd = xsd
        self._stopping = threading.Event()
        self._verdict: bool | None = None  # None while it runs
        self._thread = threading.Thread(target=self._run, name="perfcore-xsd", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def objected(self) -> bool:
        return self._verdict is False

    def valid(self) -> bool:
        """Wait for the verdict."""
        self._thread.join()
        return bool(self._verdict)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            self._verdict = self._validate()
        except BaseException:
            self._verdict = False

    def _validate(self) -> bool:
        from lxml import etree

        parser = etree.XMLParser(
            target=_NoTree(),
            schema=self._xsd,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            encoding="utf-8",
        )
        with self._path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                if self._stopping.is_set():
                    return False
                parser.feed(chunk)  # parses and validates without the GIL
                if len(parser.feed_error_log):
                    return False
        parser.close()
        return len(parser.feed_error_log) == 0


class _NoTree:
    """lxml's parser target for validating only."""

    def doctype(self, *args) -> None:
        raise _Doubt("DOCTYPE")

    def close(self) -> None:
        return None


class _ExpatReader:
    """The records and the header, read by expat; see ``read_extract_fast``.

    Per record two Python calls: the start handler joins the record's values
    in ``Section.names`` order (``_TextBatch``), the end handler adds the line. For an empty element
    expat reports the end just after ``/>``, on the line libxml2 gives the
    element (where its start tag ends), however the tag is laid out. Records
    gather per section and are handed on between chunks, ``batch_rows`` at a
    time, and at the end of their section.
    """

    def __init__(self, path: Path, sink: Sink, check_header: HeaderCheck, batch_rows: int, validator) -> None:
        import pyexpat

        self._path = path
        self._sink = sink
        self._check_header = check_header
        self._batch_rows = batch_rows
        self._validator = validator
        # encoding="utf-8" overrides whatever the file declares, as the careful reader's does.
        self._parser = parser = pyexpat.ParserCreate("utf-8", " ")
        parser.buffer_text = False
        parser.ordered_attributes = True  # [name, value, name, value, ...]: cheaper than a dict per record
        self._lines: dict[Section, list[int]] = {}
        self._records: dict[Section, list[str]] = {}
        self._starts: dict[str, tuple[Callable[[str], None], Section, dict[tuple[str, ...], _Pick]]] = {}
        self._layouts: dict[Section, dict[tuple[str, ...], _Pick]] = {section: {} for section in SECTIONS}
        self._ends: dict[str, Callable[[int], None]] = {}
        for section in SECTIONS:
            self._open(section, [], [])
        self.header: Header | None = None
        self.totals: dict[str, str] = {}
        self._complete = False
        self._in_header = 0  # depth inside the first Header, 0 outside it
        self._header_parts: dict[str, tuple[dict[str, str], list[str], list[int]]] = {}
        self._text: list[str] | None = None  # the text of the header element being read
        self._text_line: list[int] | None = None
        self._install()

    def _open(self, section: Section, lines: list[int], records: list[str]) -> None:
        tag = _EXPAT_TAG[section]
        self._lines[section], self._records[section] = lines, records
        self._starts[tag] = (records.append, section, self._layouts[section])
        self._ends[tag] = lines.append

    def _install(self) -> None:
        parser = self._parser
        starts, ends = self._starts, self._ends
        other_start, other_end, pick_for = self._other_start, self._other_end, self._pick_for
        line = type(parser).CurrentLineNumber.__get__  # the getter, called without an attribute lookup
        join = VALUE_SEPARATOR.join

        def start(tag: str, attributes: list[str]) -> None:
            record = starts.get(tag)
            if record is None:
                other_start(tag, dict(zip(attributes[::2], attributes[1::2])))
            else:  # the values in Section.names order, an absent one as ABSENT
                pick = record[2].get(tuple(attributes[::2])) or pick_for(record[1], attributes[::2])
                values = attributes[1::2]
                values.append(ABSENT)
                record[0](join(pick(values)))

        def end(tag: str) -> None:
            add = ends.get(tag)
            if add is None:
                other_end(tag)
            else:
                add(line(parser))

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CommentHandler = self._markup
        parser.ProcessingInstructionHandler = self._markup
        parser.StartCdataSectionHandler = self._doubt("a CDATA section")
        parser.StartDoctypeDeclHandler = self._doubt("a DOCTYPE")
        parser.SkippedEntityHandler = self._doubt("an entity")
        parser.ExternalEntityRefHandler = self._doubt("an external entity")

    def _pick_for(self, section: Section, names: list[str]) -> _Pick:
        """For records whose attributes come in the order ``names``: a function from their values
        (with ABSENT appended) to the values in ``Section.names`` order, an absent one as ABSENT.
        A system writes its records in one layout, or a few (optional attributes left out);
        past ``_LAYOUT_LIMIT`` of them the careful reader takes the file."""
        layouts = self._layouts[section]
        if len(layouts) >= _LAYOUT_LIMIT:
            raise _Doubt("records in too many attribute layouts")
        position = {name: i for i, name in enumerate(names)}
        indices = [position.get(name, len(names)) for name in section.names]  # len(names): the ABSENT appended
        pick = operator.itemgetter(*indices)
        if len(indices) == 1:  # itemgetter of one index returns the value itself, not a 1-tuple
            pick = lambda values, only=pick: (only(values),)  # noqa: E731
        layouts[tuple(names)] = pick
        return pick

    @staticmethod
    def _doubt(what: str) -> Callable:
        def handler(*args) -> None:
            raise _Doubt(what)

        return handler

    def _markup(self, *args) -> None:
        """A comment or processing instruction: fine between records, doubtful inside one
        or in the header (a line would be taken after it, not where the start tag ends)."""
        if self._in_header:
            raise _Doubt("markup in the header")
        for section, records in self._records.items():
            if len(records) != len(self._lines[section]):
                raise _Doubt("markup inside a record")

    def read(self) -> tuple[Header, dict[str, str]]:
        parse = self._parser.Parse
        offset = 0  # bytes read so far
        markup = 0  # where the last '<' was
        carriage = False  # the last chunk ended with a carriage return
        with self._path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                # libxml2 counts a line at each line feed, expat also at a lone carriage return.
                if b"\r" in chunk or carriage:
                    lone = chunk.count(b"\r") - chunk.count(b"\r\n") - chunk.endswith(b"\r")
                    if lone or (carriage and not chunk.startswith(b"\n")):
                        raise _Doubt("a carriage return without a line feed")
                    carriage = chunk.endswith(b"\r")
                first = chunk.find(b"<")
                if (offset + len(chunk) if first < 0 else offset + first) - markup > _RUN_LIMIT:
                    raise _Doubt("a run of text without markup")
                if first >= 0:
                    markup = offset + chunk.rfind(b"<")
                parse(chunk, False)
                offset += len(chunk)
                if offset - self._parser.CurrentByteIndex > _TOKEN_LIMIT:
                    raise _Doubt("a token longer than any valid one")
                self._hand_on_full()
                if self._validator.objected:
                    raise _Doubt("the validator objected")
        if carriage:
            raise _Doubt("a carriage return without a line feed")
        parse(b"", True)
        for section in SECTIONS:
            self._hand_on(section, everything=True)
        if not (self._complete and self.header is not None and {"claims", "amount"} <= self.totals.keys()):
            raise _Doubt("the file is not whole")
        return self.header, self.totals

    def _hand_on_full(self) -> None:
        for section, lines in self._lines.items():
            if len(lines) >= self._batch_rows:
                self._hand_on(section, everything=False)

    def _hand_on(self, section: Section, *, everything: bool) -> None:
        """Hand on the section's records in batches of at most ``batch_rows``: all of
        them at the end of the section, else whole batches only."""
        lines, records, rows = self._lines[section], self._records[section], self._batch_rows
        # Between chunks one record may be open (started, not ended): <Claim ...></Claim> split by a chunk.
        if len(records) != len(lines) and (everything or len(records) != len(lines) + 1):
            raise _Doubt("a record inside a record")
        whole = len(lines) if everything else len(lines) - len(lines) % rows
        if not whole:
            return
        for first in range(0, whole, rows):
            last = min(first + rows, whole)
            self._sink(_TextBatch(section, lines[first:last], records[first:last]))
        self._open(section, lines[whole:], records[whole:])

    def _other_start(self, tag: str, attributes: dict[str, str]) -> None:
        if self._in_header:
            self._in_header += 1
            if self._in_header == 2:  # a child of the Header: the first of each name is read
                name = tag[len(_EXPAT_Q) :] if tag.startswith(_EXPAT_Q) else None
                if name in _HEADER_CHILDREN and name not in self._header_parts:
                    self._text, self._text_line = [], []
                    self._header_parts[name] = (attributes, self._text, self._text_line)
                    return
            self._text = self._text_line = None  # text after a child element is not .text
        elif tag == _EXPAT_HEADER and self.header is None:
            self._in_header = 1
            self._parser.CharacterDataHandler = self._header_text
        elif tag in _EXPAT_TOTALS:
            self.totals.update(attributes)

    def _header_text(self, data: str) -> None:
        if self._text is not None:
            if not self._text_line:
                # The text starts just after the start tag's '>': on the line libxml2 gives the element.
                self._text_line.append(self._parser.CurrentLineNumber)
            self._text.append(data)

    def _other_end(self, tag: str) -> None:
        if self._in_header:
            self._in_header -= 1
            self._text = self._text_line = None
            if self._in_header == 0:
                self._parser.CharacterDataHandler = None
                self._read_header()
        elif tag in _EXPAT_PARENTS:
            self._hand_on(_EXPAT_PARENTS[tag], everything=True)
        elif tag == _EXPAT_ROOT:
            self._complete = True

    def _read_header(self) -> None:
        """The header as ``_read_header`` reads it from lxml's tree; ``check_header`` if it is plausible."""
        parts = self._header_parts

        def text(name: str) -> str:
            return "".join(parts[name][1])

        def line(name: str) -> int:
            if not parts[name][2]:
                raise _Doubt(f"no text in {name}")
            return parts[name][2][0]

        try:
            authority, source = parts["Authority"][0], parts["Source"][0]
            header = Header(
                authority=authority.get("code"),
                authority_name=text("Authority").strip(),
                period=text("Period").strip(),
                supplier=source.get("supplier"),
                system=source.get("system"),
                system_version=source.get("version"),
                created=text("Created").strip(),
                sequence=int(text("Sequence")),
                lines=tuple((name, line(name)) for name in ("Authority", "Period", "Sequence")),
            )
        except (KeyError, TypeError, ValueError):
            raise _Doubt("the header is not shaped as the schema says") from None
        header = _plausible(header)
        if header is None:
            raise _Doubt("the header is not shaped as the schema says")
        self.header = header
        self._check_header(header)


_EXPAT_Q = NS + " "  # expat's name for an element in the HBPE namespace: URI, space, local name
_EXPAT_TAG = {section: _EXPAT_Q + section.element for section in SECTIONS}
_EXPAT_ROOT = _EXPAT_Q + "Extract"
_EXPAT_HEADER = _EXPAT_Q + "Header"
_EXPAT_TOTALS = frozenset((_EXPAT_Q + "Caseload", _EXPAT_Q + "Expenditure"))
_EXPAT_PARENTS = {_EXPAT_Q + section.parent: section for section in SECTIONS}
_HEADER_CHILDREN = frozenset(("Authority", "Period", "Source", "Created", "Sequence"))
_LAYOUT_LIMIT = 64  # attribute layouts per section the expat reader keeps a picker for
_Pick = Callable[[list[str]], tuple[str, ...]]
