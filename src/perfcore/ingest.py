"""Ingestion: from a submitted file to rows in the warehouse, or a clear rejection.

The pipeline for one file (``ingest_file``):

1. keep it: copy it byte for byte under ``submitted/<sha256>/`` beside the
   warehouse, before anything can go wrong (nothing submitted is ever lost);
2. a byte-identical file already accepted is a duplicate: report it, change nothing;
3. load it in ONE transaction: stream and validate (``extract`` / ``manual``),
   apply the submission rules (member, period, Sequence), check record-level
   rules in SQL, point ``current_extracts`` at it;
4. on any file-level problem roll the transaction back, so nothing of the
   file stays, then record the submission and its reason in a transaction of
   its own.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import extract, manual, periods, warehouse
from perfcore.exceptions import ConflictingSubmission, FileRejected, SubmissionError
from perfcore.parameters import Consortium

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
    """Files named, and the .xml/.csv files under folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KINDS))
        elif path.exists():
            found.append(path)
        else:
            raise FileRejected("no such file or folder", file=str(path), hint="check the path")
    return found


def ingest_paths(
    paths: Iterable[str | Path],
    con: "duckdb.DuckDBPyConnection",
    consortium: Consortium,
    *,
    today: date,
    channel: str = "cli",
    sender: str | None = None,
) -> Iterator[IngestResult]:
    """Ingest every file; one file's rejection never stops the others."""
    for path in expand(paths):
        yield ingest_file(path, con, consortium, today=today, channel=channel, sender=sender)


def ingest_file(
    path: Path,
    con: "duckdb.DuckDBPyConnection",
    consortium: Consortium,
    *,
    today: date,
    channel: str = "cli",
    sender: str | None = None,
    name: str | None = None,
) -> IngestResult:
    name = name or path.name
    kind = KINDS.get(path.suffix.lower(), "unknown")
    stored, digest, size = keep(path, con, name)
    submission = _Submission(
        id=warehouse.next_submission_id(con), file_name=name, stored_path=stored, sha256=digest,
        size_bytes=size, kind=kind, channel=channel, sender=sender,
    )
    earlier = _accepted_with_same_bytes(con, digest)
    if earlier is not None:
        return _record_duplicate(con, submission, earlier)
    try:
        with warehouse.transaction(con):
            if kind == "extract":
                result = _load_extract(con, path, submission, consortium, today)
            elif kind == "manual":
                result = _load_manual(con, path, submission, consortium, today)
            else:
                raise FileRejected(
                    f"unknown kind of file {path.suffix or '(no extension)'!r}",
                    file=name, hint="send an HBPE extract (.xml) or a manual return (.csv)",
                )
    except SubmissionError as error:
        return _record_rejection(con, submission, error)
    return result


# -- keeping every file -------------------------------------------------------------------


def keep(path: Path, con: "duckdb.DuckDBPyConnection", name: str) -> tuple[str, str, int]:
    """Copy the file byte for byte beside the warehouse; return (relative path, sha256, size)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    relative = Path("submitted") / sha / Path(name).name
    target = warehouse.database_path(con).parent / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target.with_suffix(target.suffix + ".partial"))
        target.with_suffix(target.suffix + ".partial").replace(target)
    return relative.as_posix(), sha, path.stat().st_size


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


def _insert_submission(con, s: _Submission, outcome: str, *, authority=None, period=None, sequence=None,
                       reason=None, loaded=0, rejected=0) -> None:
    con.execute(
        "insert into submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [s.id, s.file_name, s.stored_path, s.sha256, s.size_bytes, s.kind, s.channel, s.sender,
         datetime.now(timezone.utc).replace(tzinfo=None), authority, period, sequence, outcome, reason,
         loaded, rejected],
    )


def _accepted_with_same_bytes(con, digest: str) -> tuple | None:
    return con.execute(
        "select id, authority, period, sequence from submissions "
        "where sha256 = ? and outcome = 'accepted' order by id limit 1",
        [digest],
    ).fetchone()


def _record_duplicate(con, submission: _Submission, earlier: tuple) -> IngestResult:
    earlier_id, authority, period, sequence = earlier
    reason = f"byte-identical to submission {earlier_id}; nothing changed"
    with warehouse.transaction(con):
        _insert_submission(con, submission, "duplicate", authority=authority, period=period,
                           sequence=sequence, reason=reason)
    return IngestResult(submission.file_name, submission.kind, "duplicate", submission.id,
                        authority, period, sequence, reason=reason)


def _record_rejection(con, submission: _Submission, error: SubmissionError) -> IngestResult:
    outcome = "conflict" if isinstance(error, ConflictingSubmission) else "rejected"
    context = getattr(error, "context", {})
    with warehouse.transaction(con):
        _insert_submission(con, submission, outcome, reason=error.describe(), **context)
        con.execute(
            "insert into rejections values (?, ?, 'file', ?, null, ?, ?)",
            [submission.id, submission.file_name, error.line, error.field,
             error.reason + (f" ({error.hint})" if error.hint else "")],
        )
    return IngestResult(submission.file_name, submission.kind, outcome, submission.id,
                        reason=error.describe(with_file=False), **{k: v for k, v in context.items()})


# -- extracts ---------------------------------------------------------------------------------


def _load_extract(con, path: Path, submission: _Submission, consortium: Consortium, today: date) -> IngestResult:
    state: dict[str, object] = {}

    def check_header(header: extract.Header) -> None:
        state["header"] = header
        _check_extract_header(con, header, consortium, today, submission.file_name)

    def sink(section: extract.Section, batch: extract.Batch) -> None:
        _insert_batch(con, submission.id, section, batch)

    try:
        header = extract.read_extract(path, sink, check_header)
    except SubmissionError as error:
        if "header" in state:
            h = state["header"]
            error.context = {"authority": h.authority, "period": h.period, "sequence": h.sequence}
        raise
    try:
        _check_sequence(con, header, submission.file_name)
    except SubmissionError as error:
        error.context = {"authority": header.authority, "period": header.period, "sequence": header.sequence}
        raise
    rejected = _reject_bad_records(con, submission, header.period)
    loaded = _count_records(con, submission.id)
    con.execute(
        "insert into extract_headers values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [submission.id, header.authority, header.authority_name, header.period, header.supplier,
         header.system, header.system_version, header.created, header.sequence, header.caseload,
         header.expenditure],
    )
    replaced = _make_current(con, submission.id, header)
    _insert_submission(con, submission, "accepted", authority=header.authority, period=header.period,
                       sequence=header.sequence, loaded=loaded, rejected=rejected)
    return IngestResult(submission.file_name, "extract", "accepted", submission.id, header.authority,
                        header.period, header.sequence, loaded, rejected, replaced=replaced)


def _check_extract_header(con, header: extract.Header, consortium: Consortium, today: date, file: str) -> None:
    if not consortium.is_member(header.authority):
        raise FileRejected(
            f"authority {header.authority} is not a consortium member",
            file=file, line=_HEADER_LINE, field="Authority@code",
            hint="check the GSS code; new members are added to parameters/consortium.yaml",
        )
    extract.check_period_not_future(header.period, today, file=file, line=_HEADER_LINE + 1, field="Period")


def _check_sequence(con, header: extract.Header, file: str) -> None:
    """Run after the whole file is valid: a conflict is reported only for a valid file."""
    current = con.execute(
        "select submission_id, sequence from current_extracts where authority = ? and period = ?",
        [header.authority, header.period],
    ).fetchone()
    if current is not None and header.sequence <= current[1]:
        raise ConflictingSubmission(
            f"Sequence {header.sequence} for {header.authority} {header.period} conflicts with the accepted "
            f"Sequence {current[1]} (submission {current[0]}) and its content differs",
            file=file, line=_HEADER_LINE + 4, field="Sequence",
            hint=f"a correction must carry a higher Sequence (at least {current[1] + 1})",
        )


_HEADER_LINE = 3  # Authority sits on line 3 of an extract laid out as the standard shows


_COLUMN_SQL = {
    "claims": "ref, received::date, \"infoComplete\"::date, decided::date, outcome, tenure",
    "changes": "ref, claim, type, notified::date, effective::date, actioned::date",
    "work_items": "ref, kind, received::date",
    "overpayments": "ref, claim, identified::date, amount::decimal(12,2), cause",
    "recoveries": "overpayment, date::date, amount::decimal(12,2)",
    "write_offs": "overpayment, date::date, amount::decimal(12,2)",
}


def _insert_batch(con, submission_id: int, section: extract.Section, batch: extract.Batch) -> None:
    import pandas as pd

    frame = pd.DataFrame(batch, columns=["line", *section.attributes])
    con.register("incoming_batch", frame)
    try:
        con.execute(
            f"insert into {section.table} select {submission_id}, line, {_COLUMN_SQL[section.table]} from incoming_batch"
        )
    finally:
        con.unregister("incoming_batch")


# Record-level rules of hbpe-1.0.md, as SQL over one submission's rows.
# (table, field named in the error, condition that breaks the rule, reason)
RECORD_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("claims", "received", "received > decided", "received after decided"),
    ("claims", "infoComplete", "info_complete < received", "infoComplete before received"),
    ("claims", "infoComplete", "info_complete > decided", "infoComplete after decided"),
    ("claims", "decided", "not (decided between $first and $last)", "decided outside the Period"),
    ("changes", "notified", "notified > actioned", "notified after actioned"),
    ("changes", "actioned", "not (actioned between $first and $last)", "actioned outside the Period"),
    ("work_items", "received", "received > $last", "received after the last day of the Period"),
    ("overpayments", "identified", "not (identified between $first and $last)", "identified outside the Period"),
    ("recoveries", "date", "not (date between $first and $last)", "date outside the Period"),
    ("write_offs", "date", "not (date between $first and $last)", "date outside the Period"),
)
_REF_COLUMN = {"recoveries": "overpayment", "write_offs": "overpayment"}
_REF_TABLES = ("claims", "changes", "work_items", "overpayments")
_RECORD_TABLES = ("claims", "changes", "work_items", "overpayments", "recoveries", "write_offs")


def _reject_bad_records(con, submission: _Submission, period: str) -> int:
    """Move records that break a record-level rule into ``rejections``; return how many."""
    first, last = periods.first_day(period).isoformat(), periods.last_day(period).isoformat()
    rejected = 0
    for table in _RECORD_TABLES:
        ref = _REF_COLUMN.get(table, "ref")
        checks = [
            (field, cond.replace("$first", f"date '{first}'").replace("$last", f"date '{last}'"), reason)
            for t, field, cond, reason in RECORD_RULES if t == table
        ]
        if table in _REF_TABLES:
            checks.append(("ref", "duplicate_ref", "ref already used by an earlier record in this section"))
        reasons = ", ".join(f"case when coalesce({cond}, false) then '{reason}' end" for _, cond, reason in checks)
        fields = ", ".join(f"case when coalesce({cond}, false) then '{field}' end" for field, cond, _ in checks)
        duplicate = (
            f"row_number() over (partition by ref order by line) > 1" if table in _REF_TABLES else "false"
        )
        con.execute(f"""
            create or replace temp table bad_records as
            select line, ref_value, concat_ws('; ', {reasons}) as reasons, concat_ws(',', {fields}) as fields
            from (select *, {ref} as ref_value, {duplicate} as duplicate_ref
                  from {table} where submission_id = {submission.id})
            where concat_ws('; ', {reasons}) <> ''
        """)
        count = con.execute("select count(*) from bad_records").fetchone()[0]
        if count:
            con.execute(
                "insert into rejections select ?, ?, 'record', line, ref_value, fields, reasons "
                "from bad_records",
                [submission.id, submission.file_name],
            )
            con.execute(
                f"delete from {table} where submission_id = ? and line in (select line from bad_records)",
                [submission.id],
            )
            rejected += count
    con.execute("drop table if exists bad_records")
    return rejected


def _count_records(con, submission_id: int) -> int:
    union = " union all ".join(f"select count(*) as n from {t} where submission_id = {submission_id}" for t in _RECORD_TABLES)
    return int(con.execute(f"select sum(n) from ({union})").fetchone()[0])


def _make_current(con, submission_id: int, header: extract.Header) -> int | None:
    """Point the council's month at this submission; keep the one it replaces in the history."""
    previous = con.execute(
        "select submission_id from current_extracts where authority = ? and period = ?",
        [header.authority, header.period],
    ).fetchone()
    if previous is not None:
        con.execute(
            "insert into replacements values (?, ?, ?, ?, ?)",
            [header.authority, header.period, previous[0], submission_id,
             datetime.now(timezone.utc).replace(tzinfo=None)],
        )
        con.execute(
            "update current_extracts set submission_id = ?, sequence = ? where authority = ? and period = ?",
            [submission_id, header.sequence, header.authority, header.period],
        )
        return int(previous[0])
    con.execute(
        "insert into current_extracts values (?, ?, ?, ?)",
        [header.authority, header.period, submission_id, header.sequence],
    )
    return None


# -- manual returns ---------------------------------------------------------------------------


def _load_manual(con, path: Path, submission: _Submission, consortium: Consortium, today: date) -> IngestResult:
    def current_value(authority: str, period: str, measure: str) -> float | None:
        row = con.execute(
            "select value from current_manual where authority = ? and period = ? and measure = ?",
            [authority, period, measure],
        ).fetchone()
        return None if row is None else float(row[0])

    parsed = manual.read_manual_return(path, consortium, today, current_value)
    if parsed.rows:
        import pandas as pd

        frame = pd.DataFrame([r.__dict__ for r in parsed.rows])
        con.register("incoming_rows", frame)
        try:
            con.execute(
                f"insert into manual_values select {submission.id}, line, authority, period, measure, value "
                "from incoming_rows"
            )
        finally:
            con.unregister("incoming_rows")
    for error in parsed.errors:
        con.execute(
            "insert into rejections values (?, ?, 'record', ?, ?, ?, ?)",
            [submission.id, submission.file_name, error.line, error.ref, error.field, error.reason],
        )
    areas = sorted({(r.authority, r.period) for r in parsed.rows})
    authority = areas[0][0] if len({a for a, _ in areas}) == 1 else None
    period = areas[0][1] if len({p for _, p in areas}) == 1 else None
    _insert_submission(con, submission, "accepted", authority=authority, period=period,
                       loaded=len(parsed.rows), rejected=len(parsed.errors))
    return IngestResult(submission.file_name, "manual", "accepted", submission.id, authority, period,
                        records_loaded=len(parsed.rows), records_rejected=len(parsed.errors))


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

