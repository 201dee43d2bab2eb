"""Ingestion: from a submitted file to rows in the warehouse, or a clear rejection.

The pipeline for one file (``ingest_file``):

1. keep it: copy it byte for byte under ``submitted/<sha256>/`` beside the
   warehouse, before anything can go wrong (nothing submitted is ever lost);
2. a byte-identical file already accepted is a duplicate: report it, change nothing;
3. load it in ONE transaction: stream and validate (``extract`` / ``manual``),
   apply the submission rules (member, period, Sequence), check record-level
   rules in SQL, point ``current_extracts`` at it. An extract is read the fast
   way first (``extract.read_extract_fast``); if that reader is in doubt (any
   invalid file, a few unusual layouts) the transaction is rolled back and the
   file read again the careful way (``extract.read_extract``), which words
   every rejection;
4. on any file-level problem roll the transaction back, so nothing of the
   file stays, then record the submission and its reason in a transaction of
   its own.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import queue
import re
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from perfcore import periods, warehouse
from perfcore.config.parameters import Consortium
from perfcore.exceptions import ConflictingSubmission, FileRejected, SubmissionError
from perfcore.intake import extract, hbpe, manual

if TYPE_CHECKING:
    import duckdb

KINDS = {".xml": "extract", ".csv": "manual"}


@dataclass(frozen=True)
class IngestResult:
    file: str
    kind: str
    outcome: str  # accepted | duplicate | rejected | conflict
    submission_id: int
    authority: str | None = None
    period: str | None = None
    sequence: int | None = None
    records_loaded: int = 0
    records_rejected: int = 0
    reason: str | None = None
    replaced: int | None = None  # the submission this one replaced

    @property
    def ok(self) -> bool:
        return self.outcome in ("accepted", "duplicate")

    def line(self) -> str:
        """One line for the CLI: outcome, file, what it was, counts or reason."""
        what = " ".join(x for x in (self.authority, self.period) if x)
        if self.sequence is not None:
            what += f" seq {self.sequence}"
        text = f"{self.outcome.upper():9} {self.file}"
        if what:
            text += f"  [{what}]"
        if self.outcome == "accepted":
            text += f"  {self.records_loaded} records loaded, {self.records_rejected} rejected"
            if self.replaced is not None:
                text += f"; replaces submission {self.replaced}"
        elif self.reason:
            text += f"  {self.reason}"
        return text


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the .xml/.csv files under folders named, in a stable order.

    Only regular files (or links to them): a FIFO or a device such as
    /dev/zero would be read forever. In a folder they are skipped; named, they
    are an error.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # is_file() follows links and is true only for a regular file
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KINDS))
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise _not_a_regular_file(str(path))
        else:
            raise FileRejected("no such file or folder", file=str(path), hint="check the path")
    return found


def _not_a_regular_file(shown: str) -> FileRejected:
    return FileRejected(
        "not a regular file (a folder, FIFO, device or socket cannot be submitted)",
        file=shown,
        hint="name the extract or return file itself, or a folder of them",
    )


def ingest_paths(
    paths: Iterable[str | Path],
    con: duckdb.DuckDBPyConnection,
    consortium: Consortium,
    *,
    today: date,
    channel: str = "cli",
    sender: str | None = None,
    indicator_ids: frozenset[str] | None = None,
) -> Iterator[IngestResult]:
    """Ingest every file; one file's rejection never stops the others."""
    for path in expand(paths):
        yield ingest_file(
            path, con, consortium, today=today, channel=channel, sender=sender, indicator_ids=indicator_ids
        )


def ingest_file(
    path: Path,
    con: duckdb.DuckDBPyConnection,
    consortium: Consortium,
    *,
    today: date,
    channel: str = "cli",
    sender: str | None = None,
    name: str | None = None,
    indicator_ids: frozenset[str] | None = None,
) -> IngestResult:
    """One file through the pipeline (module docstring). ``indicator_ids``: the framework's, for
    a commentary return (default: read from the parameters folder when one arrives)."""
    name = name if name is not None else path.name
    kind = _kind_of(path)
    stored, digest, size = keep(path, con, name)
    # From here on only the kept copy is read: the bytes loaded are the bytes
    # kept and hashed, whatever happens to the original meanwhile.
    kept = warehouse.database_path(con).parent / stored
    with warehouse.storage_errors(f"{_printable(name)}: loading"):
        submission = _Submission(
            id=warehouse.next_submission_id(con),
            file_name=name,
            stored_path=stored,
            sha256=digest,
            size_bytes=size,
            kind=kind,
            channel=channel,
            sender=sender,
        )
        earlier = _accepted_with_same_bytes(con, digest)
        if earlier is not None:
            return _record_duplicate(con, submission, earlier)
        try:
            if kind == "extract":
                try:
                    with warehouse.transaction(con):
                        return _load_extract(con, kept, submission, consortium, today, fast=True)
                except extract.ReadAgain:  # rolled back: the careful reader decides, in a transaction of its own
                    with warehouse.transaction(con):
                        return _load_extract(con, kept, submission, consortium, today, fast=False)
            with warehouse.transaction(con):
                if kind == "manual":
                    result = _load_manual(con, kept, submission, consortium, today)
                elif kind == "commentary":
                    result = _load_commentary(con, kept, submission, consortium, today, indicator_ids)
                else:
                    raise FileRejected(
                        f"unknown kind of file {path.suffix or '(no extension)'!r}",
                        file=name,
                        hint="send an HBPE extract (.xml) or a manual return (.csv)",
                    )
        except SubmissionError as error:
            return _record_rejection(con, submission, error)
    return result


# -- keeping every file -------------------------------------------------------------------


def keep(path: Path, con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, str, int]:
    """Copy the file byte for byte beside the warehouse; return (relative path, sha256, size).

    One read both hashes and copies, into a temporary file renamed into place
    once complete: a full disk or a crash leaves no half-written copy, only
    the original where it was.
    """
    submitted = warehouse.database_path(con).parent / "submitted"
    with warehouse.storage_errors(f"{_printable(name)}: keeping a copy"):
        submitted.mkdir(parents=True, exist_ok=True)
        with _open_regular_file(path, name) as source:
            temporary, sha, size = _copy_hashing(source, submitted)
        relative = Path("submitted") / sha / _stored_name(name, path.suffix)
        _move_into_place(temporary, submitted.parent / relative)
    return relative.as_posix(), sha, size


def _open_regular_file(path: Path, name: str):
    """Open for reading, refusing anything but a regular file. O_NONBLOCK: opening a
    FIFO must not wait for a writer; fstat then judges what was really opened."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise FileRejected("no such file", file=_printable(name), hint="check the path") from exc
    except OSError as exc:
        raise FileRejected(
            f"cannot be read: {exc.strerror}", file=_printable(name), hint="check the file's permissions"
        ) from exc
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise _not_a_regular_file(_printable(str(path)))
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def _copy_hashing(source, folder: Path) -> tuple[Path, str, int]:
    """Copy ``source`` into a new hidden file in ``folder``, flushed to disk; return it, its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    descriptor, name = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".partial")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as copy:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                copy.write(chunk)
                size += len(chunk)
            copy.flush()
            os.fsync(copy.fileno())  # the copy is on disk before anything depends on it
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, digest.hexdigest(), size


def _move_into_place(temporary: Path, target: Path) -> None:
    """Rename the complete copy to its final name; the same bytes already kept need no second copy."""
    try:
        if target.exists():
            temporary.unlink()
            return
        target.parent.mkdir(exist_ok=True)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # only if empty: never a folder holding a kept file
        raise


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_NAME_BYTES = 255  # the longest file name most file systems allow


def _printable(name: str) -> str:
    """A submitted name fit for a one-line message: control characters shown as '?'."""
    return _UNPRINTABLE.sub("?", name)


def _stored_name(name: str, suffix: str) -> str:
    """The name the copy is kept under: the submitted name's last part, made safe.

    The name comes from outside (an e-mail attachment, say): no folder part,
    no control character, no leading dot, at most 255 bytes with its suffix kept;
    a name with nothing left becomes 'submission' plus the file's suffix.
    """
    base = _UNPRINTABLE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    if not base:
        base = "submission" + suffix.lower()
    if len(base.encode("utf-8")) > _NAME_BYTES:
        stem, ending = os.path.splitext(base)
        if len(ending) > 16:  # not a real suffix
            stem, ending = base, ""
        room = _NAME_BYTES - len(ending.encode("utf-8"))
        base = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore") + ending
    return base


@dataclass(frozen=True)
class _Submission:
    id: int
    file_name: str
    stored_path: str
    sha256: str
    size_bytes: int
    kind: str
    channel: str
    sender: str | None


def _insert_submission(
    con, s: _Submission, outcome: str, *, authority=None, period=None, sequence=None, reason=None, loaded=0, rejected=0
) -> None:
    con.execute(
        "insert into submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            s.id,
            s.file_name,
            s.stored_path,
            s.sha256,
            s.size_bytes,
            s.kind,
            s.channel,
            s.sender,
            datetime.now(UTC).replace(tzinfo=None),
            authority,
            period,
            sequence,
            outcome,
            reason,
            loaded,
            rejected,
        ],
    )


def _accepted_with_same_bytes(con, digest: str) -> tuple | None:
    """The first accepted submission with these bytes (sorted here: ORDER BY ... LIMIT costs DuckDB ~1 ms)."""
    return min(
        con.execute(
            "select id, authority, period, sequence from submissions where sha256 = ? and outcome = 'accepted'",
            [digest],
        ).fetchall(),
        default=None,
    )


def _record_duplicate(con, submission: _Submission, earlier: tuple) -> IngestResult:
    earlier_id, authority, period, sequence = earlier
    reason = f"byte-identical to submission {earlier_id}; nothing changed"
    with warehouse.transaction(con):
        _insert_submission(
            con, submission, "duplicate", authority=authority, period=period, sequence=sequence, reason=reason
        )
    return IngestResult(
        submission.file_name, submission.kind, "duplicate", submission.id, authority, period, sequence, reason=reason
    )


def _record_rejection(con, submission: _Submission, error: SubmissionError) -> IngestResult:
    outcome = "conflict" if isinstance(error, ConflictingSubmission) else "rejected"
    context = error.context
    with warehouse.transaction(con):
        _insert_submission(con, submission, outcome, reason=error.describe(), **context)
        con.execute(
            "insert into rejections values (?, ?, 'file', ?, null, ?, ?)",
            [
                submission.id,
                submission.file_name,
                error.line,
                error.field,
                error.reason + (f" ({error.hint})" if error.hint else ""),
            ],
        )
    return IngestResult(
        submission.file_name, submission.kind, outcome, submission.id, reason=error.describe(with_file=False), **context
    )


# -- extracts ---------------------------------------------------------------------------------


def _load_extract(
    con, path: Path, submission: _Submission, consortium: Consortium, today: date, *, fast: bool
) -> IngestResult:
    """Read, check and load one extract inside the caller's transaction.

    ``fast``: with ``extract.read_extract_fast``, which raises ``extract.ReadAgain``
    (the caller rolls back and calls again with ``fast=False``) for any file it
    cannot vouch for; every rejection is therefore made by ``read_extract``.
    """
    state: dict[str, object] = {}
    read = extract.read_extract_fast if fast else extract.read_extract

    def check_header(header: extract.Header) -> None:
        state["header"] = header
        _check_extract_header(header, consortium, today, submission.file_name)

    try:
        with _SectionWriter(con, submission.id) as writer:
            header = read(path, writer, check_header)
    except SubmissionError as error:
        if "header" in state:
            h = state["header"]
            error.context = {"authority": h.authority, "period": h.period, "sequence": h.sequence}
        raise
    try:
        current = _check_sequence(con, header, submission.file_name)
    except SubmissionError as error:
        error.context = {"authority": header.authority, "period": header.period, "sequence": header.sequence}
        raise
    rejected = _reject_bad_records(con, submission, header.period, writer.tables)
    loaded = writer.rows - rejected
    con.execute(
        "insert into extract_headers values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            submission.id,
            header.authority,
            header.authority_name,
            header.period,
            header.supplier,
            header.system,
            header.system_version,
            header.created,
            header.sequence,
            header.caseload,
            header.expenditure,
        ],
    )
    replaced = _make_current(con, submission.id, header, current)
    _insert_submission(
        con,
        submission,
        "accepted",
        authority=header.authority,
        period=header.period,
        sequence=header.sequence,
        loaded=loaded,
        rejected=rejected,
    )
    return IngestResult(
        submission.file_name,
        "extract",
        "accepted",
        submission.id,
        header.authority,
        header.period,
        header.sequence,
        loaded,
        rejected,
        replaced=replaced,
    )


def _check_extract_header(header: extract.Header, consortium: Consortium, today: date, file: str) -> None:
    """Runs on the parsing thread while the section writer owns the connection: no database here."""
    if not consortium.is_member(header.authority):
        raise FileRejected(
            f"authority {header.authority} is not a consortium member",
            file=file,
            line=header.line_of("Authority"),
            field="Authority@code",
            hint="check the GSS code; new members are added to parameters/consortium.yaml",
        )
    extract.check_period_not_future(header.period, today, file=file, line=header.line_of("Period"), field="Period")


def _check_sequence(con, header: extract.Header, file: str) -> tuple[int, int] | None:
    """Run after the whole file is valid: a conflict is reported only for a valid file.

    Returns the current (submission id, Sequence) for the council-month, if any.
    """
    current = con.execute(
        "select submission_id, sequence from current_extracts where authority = ? and period = ?",
        [header.authority, header.period],
    ).fetchone()
    if current is not None and header.sequence <= current[1]:
        raise ConflictingSubmission(
            f"Sequence {header.sequence} for {header.authority} {header.period} conflicts with the accepted "
            f"Sequence {current[1]} (submission {current[0]}) and its content differs",
            file=file,
            line=header.line_of("Sequence"),
            field="Sequence",
            hint=f"a correction must carry a higher Sequence (at least {current[1] + 1})",
        )
    return current


class _SectionWriter:
    """The sink for the extract readers: inserts each batch on a second thread.

    Why a thread: the parsing thread holds the GIL, DuckDB releases it while it
    inserts, so the two overlap. A batch travels as one string (``_batch_text``)
    and one INSERT splits it (``_insert_batch``): the parsing thread only joins
    strings. DuckDB writes full row groups to the database file as they fill,
    inside the still-open transaction, so uncommitted rows are not all held in
    memory; and the queue is bounded, so at most ``_QUEUE_DEPTH`` batches wait:
    memory stays flat in file size.

    Between entering and leaving, the connection belongs to the writer thread:
    the caller must not use it. A database error is held: the next batch
    handed in raises it (the readers hold it in turn, so a schema error still
    wins), and leaving raises it unless the body raised first; what is still
    queued is then dropped unwritten.
    """

    def __init__(self, con, submission_id: int) -> None:
        self._con = con
        self._submission_id = submission_id
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name="perfcore-section-writer", daemon=True)
        self._stop: BaseException | None = None  # the first failure, on either side
        self.rows = 0  # records inserted
        self.tables: set[str] = set()  # tables that received records

    def __enter__(self) -> _SectionWriter:
        self._thread.start()
        return self

    def __call__(self, batch: extract.Batch) -> None:
        if self._stop is not None:
            raise self._stop
        # Joined here, on the parsing thread, while the batch's strings are still in this core's cache.
        self._queue.put(_Batch(batch.section, _compact(batch.lines), _batch_text(batch)))

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None and self._stop is None:
            self._stop = error  # the parse failed: stop inserting, drop the rest
        self._queue.put(_END)
        self._thread.join()
        if error is None and self._stop is not None:
            raise self._stop

    def _run(self) -> None:
        while (batch := self._queue.get()) is not _END:
            if self._stop is not None:
                continue  # drain, so the parser never blocks on a full queue
            try:
                self.rows += _insert_batch(self._con, self._submission_id, batch)
                self.tables.add(batch.section.table)
            except BaseException as exc:  # raised to the parser, and by __exit__ unless the parse fails too
                self._stop = exc


class _Batch(NamedTuple):
    section: hbpe.Section
    lines: list[int] | range
    text: str


def _compact(lines: list[int]) -> list[int] | range:
    """Records one to a line (the usual layout) as a ``range``: DuckDB then makes the lines
    itself, where a list is converted int by int on the writer thread, holding the GIL
    the parsing thread needs (about 4% of a large extract's ingest)."""
    if lines and lines[-1] - lines[0] == len(lines) - 1:
        consecutive = range(lines[0], lines[-1] + 1)
        if lines == list(consecutive):
            return consecutive
    return lines


_END = None  # queued after the last batch
_QUEUE_DEPTH = 2


def _select_sql(section: hbpe.Section) -> str:
    """The section's columns from the strings read, cast to their warehouse types (quoted: ``infoComplete``)."""
    return ", ".join(f'"{a.name}"' + ("" if a.sql_type == "varchar" else f"::{a.sql_type}") for a in section.attributes)


# Per table: what the INSERT selects from a batch (a dict, so a test can swap in a failing cast).
_COLUMN_SQL = {section.table: _select_sql(section) for section in hbpe.SECTIONS}


def _batch_text(batch: extract.Batch) -> str:
    """``batch.text()``, checked: the separators cannot be in parsed XML; should one ever
    be, refuse the batch rather than misalign its values."""
    text, rows, width = batch.text(), len(batch), len(batch.section.names)
    if text.count(extract.RECORD_SEPARATOR) != rows - 1 or text.count(extract.VALUE_SEPARATOR) != rows * (width - 1):
        raise ValueError(f"a value of {batch.section.element} holds a separator (U+001E or U+001F)")
    return text


@functools.cache
def _insert_sql(section: hbpe.Section, lines_as_range: bool) -> str:
    """One batch's records from its lines and its text: split, absent values NULL, cast.

    The lines are a list parameter, or (``lines_as_range``) two: the first line and one past the last.
    """
    record, value, absent = (
        f"chr({ord(c)})" for c in (extract.RECORD_SEPARATOR, extract.VALUE_SEPARATOR, extract.ABSENT)
    )
    values = ", ".join(f'nullif(v[{i}], {absent}) as "{name}"' for i, name in enumerate(section.names, 1))
    split = f"string_split(unnest(string_split(?, {record})), {value})"
    lines = "unnest(range(?, ?))::integer" if lines_as_range else "unnest(?::integer[])"
    return f"select line, {values} from (select {lines} as line, {split} as v)"


def _insert_batch(con, submission_id: int, batch: _Batch) -> int:
    """INSERT one batch; returns the rows inserted.

    Values arrive as the strings the file held; DuckDB casts them to dates and
    decimals as it inserts (``_COLUMN_SQL``).
    """
    table, lines = batch.section.table, batch.lines
    as_range = isinstance(lines, range)
    records = _insert_sql(batch.section, as_range)
    return con.execute(
        f"insert into {table} select {submission_id}, line, {_COLUMN_SQL[table]} from ({records})",
        [lines.start, lines.stop, batch.text] if as_range else [lines, batch.text],
    ).fetchone()[0]


PLAUSIBLE_YEARS = hbpe.PLAUSIBLE_YEARS  # the record rules themselves are ``hbpe.Section.rules``
_SECTION_OF_TABLE = {section.table: section for section in hbpe.SECTIONS}


def _reject_bad_records(con, submission: _Submission, period: str, tables: set[str]) -> int:
    """Move records that break a record-level rule into ``rejections``; return how many.

    Most files break no rule, so a cheap count comes first: one aggregate per
    section, no window and no subquery, where the full query below takes
    DuckDB ~10 ms just to plan. Only when it finds something are the reasons
    worked out, inserted, and the records deleted by ``rowid`` (so a record
    sharing its line with a good one goes alone).
    """
    checks = {s.table: _rule_checks(s, period) for s in hbpe.SECTIONS if s.table in tables}
    if not checks or not _any_bad_records(con, submission.id, checks):
        return 0
    bad = {table: _bad_records_sql(table, submission.id, table_checks) for table, table_checks in checks.items()}
    rejected = con.execute(
        "insert into rejections select ?, ?, 'record', line, ref_value, fields, reasons from ("
        + " union all ".join(bad.values())
        + ")",
        [submission.id, submission.file_name],
    ).fetchone()[0]
    for table, query in bad.items():
        con.execute(f"delete from {table} where rowid in (select row_id from ({query}))")
    return int(rejected)


def _rule_checks(section: hbpe.Section, period: str) -> list[tuple[str, str, str]]:
    """(field, condition, reason) of each record rule of ``section``, dates of ``period`` filled in."""
    year, month = periods.parse(period)
    bounds = {
        "$first": periods.first_day(period),
        "$last": periods.last_day(period),
        "$floor": periods.first_day(f"{year - PLAUSIBLE_YEARS:04d}-{month:02d}"),
        "$ceiling": periods.last_day(f"{year + PLAUSIBLE_YEARS:04d}-{month:02d}"),
    }
    return [(rule.field, _fill_dates(rule.breaks, bounds), rule.reason) for rule in section.rules]


def _fill_dates(condition: str, bounds: dict[str, date]) -> str:
    for name, day in bounds.items():
        condition = condition.replace(name, f"date '{day.isoformat()}'")
    return condition


def _any_bad_records(con, submission_id: int, checks: dict[str, list[tuple[str, str, str]]]) -> bool:
    """Whether any record breaks a rule; a repeated ref shows as count(*) > count(distinct ref)."""
    counts = []
    for table, table_checks in checks.items():
        broken = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in table_checks) or "false"
        repeated = "count(*) - count(distinct ref)" if _SECTION_OF_TABLE[table].unique_refs else "0"
        counts.append(
            f"select count(*) filter (where {broken}) + {repeated} as n "
            f"from {table} where submission_id = {submission_id}"
        )
    return bool(con.execute(f"select sum(n) from ({' union all '.join(counts)})").fetchone()[0])


def _bad_records_sql(table: str, submission_id: int, checks: list[tuple[str, str, str]]) -> str:
    """The records of one section breaking a rule: row_id, line, ref_value, fields, reasons."""
    section = _SECTION_OF_TABLE[table]
    duplicate = "false"
    if section.unique_refs:
        checks = [*checks, ("ref", "duplicate_ref", hbpe.DUPLICATE_REF_REASON)]
        duplicate = _duplicate_sql(table, submission_id)
    reasons = ", ".join(f"case when coalesce({cond}, false) then '{reason}' end" for _, cond, reason in checks)
    fields = ", ".join(f"case when coalesce({cond}, false) then '{field}' end" for field, cond, _ in checks)
    return f"""
        select row_id, line, ref_value, reasons, fields from (
            select row_id, line, ref_value, concat_ws('; ', {reasons}) as reasons, concat_ws(',', {fields}) as fields
            from (select *, rowid as row_id, {section.column_of(section.ref)} as ref_value, {duplicate} as duplicate_ref
                  from {table} where submission_id = {submission_id})
        ) where reasons <> ''"""


def _duplicate_sql(table: str, submission_id: int) -> str:
    """True for a record whose ref an earlier record of its section already used.

    "Earlier" is file order: by line, then by insertion order within a line.
    Only refs used more than once are ranked: grouping one narrow column is
    cheaper than a window over whole records (at 1M records, measured 0.07 s
    and ~58 MiB against 0.12 s and ~74 MiB).
    """
    rows = f"from {table} where submission_id = {submission_id}"
    return f"""rowid in (
        select row_id from (
            select rowid as row_id, row_number() over (partition by ref order by line, rowid) as nth {rows}
            and ref in (select ref {rows} group by ref having count(*) > 1))
        where nth > 1)"""


def _make_current(con, submission_id: int, header: extract.Header, current: tuple[int, int] | None) -> int | None:
    """Point the council's month at this submission; keep the one it replaces in the history.

    ``current`` is what ``_check_sequence`` found, in this same transaction.
    """
    if current is not None:
        con.execute(
            "insert into replacements values (?, ?, ?, ?, ?)",
            [
                header.authority,
                header.period,
                current[0],
                submission_id,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        con.execute(
            "update current_extracts set submission_id = ?, sequence = ? where authority = ? and period = ?",
            [submission_id, header.sequence, header.authority, header.period],
        )
        return int(current[0])
    con.execute(
        "insert into current_extracts values (?, ?, ?, ?)",
        [header.authority, header.period, submission_id, header.sequence],
    )
    return None


# -- manual returns ---------------------------------------------------------------------------


def _load_manual(con, path: Path, submission: _Submission, consortium: Consortium, today: date) -> IngestResult:
    """Load the rows that pass the row rules, then reject (and remove) those breaking part ≤ whole in SQL.

    Rows and rejections go in as Arrow tables, one statement each: a return
    of thousands of rows costs a few statements, not one per row.
    """
    import pyarrow as pa

    parsed = manual.read_manual_return(path, consortium, today)
    if parsed.rows:
        columns = ("line", "authority", "period", "measure", "value")
        frame = pa.table({name: [getattr(r, name) for r in parsed.rows] for name in columns})
        con.register("incoming_rows", frame)
        con.execute(
            f"insert into manual_values select {submission.id}, line, authority, period, measure, value "
            "from incoming_rows"
        )
        # Not in a `finally`: after a failed statement DuckDB refuses all but ROLLBACK.
        con.unregister("incoming_rows")
    pair_errors = manual.parts_exceeding_wholes(con, submission.id) if parsed.rows else []
    errors = [*parsed.errors, *pair_errors]
    if errors:
        _insert_manual_rejections(con, submission, errors)
    rejected_lines = {e.line for e in pair_errors}
    loaded = [r for r in parsed.rows if r.line not in rejected_lines]
    authorities, months = {r.authority for r in loaded}, {r.period for r in loaded}
    authority = next(iter(authorities)) if len(authorities) == 1 else None
    period = next(iter(months)) if len(months) == 1 else None
    _insert_submission(
        con, submission, "accepted", authority=authority, period=period, loaded=len(loaded), rejected=len(errors)
    )
    return IngestResult(
        submission.file_name,
        "manual",
        "accepted",
        submission.id,
        authority,
        period,
        records_loaded=len(loaded),
        records_rejected=len(errors),
    )


def _kind_of(path: Path) -> str:
    """By extension; a .csv is a commentary return when its header is the commentary return's."""
    from perfcore.intake import commentary

    kind = KINDS.get(path.suffix.lower(), "unknown")
    if kind == "manual" and path.is_file() and commentary.is_commentary(path):
        return "commentary"
    return kind


def _load_commentary(
    con, path: Path, submission: _Submission, consortium: Consortium, today: date, indicator_ids: frozenset[str] | None
) -> IngestResult:
    """The rows that pass the row rules; a later row for the same council, month and indicator
    replaces the earlier through the ``current_commentary`` view (both are kept)."""
    import pyarrow as pa

    from perfcore.intake import commentary

    ids = indicator_ids if indicator_ids is not None else _framework_ids()
    parsed = commentary.read_commentary(path, consortium, set(ids), today)
    if parsed.rows:
        columns = ("line", "authority", "period", "indicator", "commentary", "action", "owner", "due")
        frame = pa.table(
            {
                name: pa.array([getattr(r, name) for r in parsed.rows], pa.int32() if name == "line" else pa.string())
                for name in columns
            }
        )
        con.register("incoming_commentary", frame)
        con.execute(
            f"insert into commentary_rows select {submission.id}, line, authority, period, indicator, commentary, "
            "action, owner, due::date from incoming_commentary"
        )
        con.unregister("incoming_commentary")  # not in a `finally`: see _insert_section
    if parsed.errors:
        _insert_manual_rejections(con, submission, list(parsed.errors))
    authorities, months = {r.authority for r in parsed.rows}, {r.period for r in parsed.rows}
    authority = next(iter(authorities)) if len(authorities) == 1 else None
    period = next(iter(months)) if len(months) == 1 else None
    _insert_submission(
        con,
        submission,
        "accepted",
        authority=authority,
        period=period,
        loaded=len(parsed.rows),
        rejected=len(parsed.errors),
    )
    return IngestResult(
        submission.file_name,
        "commentary",
        "accepted",
        submission.id,
        authority,
        period,
        records_loaded=len(parsed.rows),
        records_rejected=len(parsed.errors),
    )


def _framework_ids() -> frozenset[str]:
    from perfcore.config.parameters import load_framework, parameters_dir

    return frozenset(load_framework(parameters_dir(None) / "framework.yaml").ids)


def _insert_manual_rejections(con, submission: _Submission, errors: list[manual.RowError]) -> None:
    """Record the rejected rows, and remove from ``manual_values`` those loaded before part ≤ whole judged them."""
    import pyarrow as pa

    frame = pa.table(
        {
            "line": pa.array([e.line for e in errors], pa.int32()),
            "ref": pa.array([e.ref for e in errors], pa.string()),
            "field": pa.array([e.field for e in errors], pa.string()),
            "reason": pa.array([e.reason for e in errors], pa.string()),
        }
    )
    con.register("incoming_rejections", frame)
    con.execute(
        "insert into rejections select ?, ?, 'record', line, ref, field, reason from incoming_rejections",
        [submission.id, submission.file_name],
    )
    con.execute(
        "delete from manual_values where submission_id = ? and line in (select line from incoming_rejections)",
        [submission.id],
    )
    con.unregister("incoming_rejections")


# -- listing ------------------------------------------------------------------------------------


def rejections(con) -> list[dict]:
    """Every rejected file and record: file, level, line, ref, reason (the CLI's JSON contract)."""
    rows = con.execute(
        "select r.file_name, r.level, r.line, r.ref, r.reason, r.field, s.authority, s.period, r.submission_id "
        "from rejections r left join submissions s on s.id = r.submission_id "
        "order by r.submission_id, r.level, r.line nulls first"
    ).fetchall()
    keys = ("file", "level", "line", "ref", "reason", "field", "authority", "period", "submission")
    return [dict(zip(keys, row)) for row in rows]


def submissions(con) -> list[dict]:
    cursor = con.execute(
        "select id, file_name, kind, channel, sender, received_at, authority, period, sequence, outcome, "
        "records_loaded, records_rejected, reason, sha256, stored_path from submissions order by id"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
