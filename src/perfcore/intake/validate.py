"""``perfcore validate``: would these files be accepted? The supplier's conformance check.

Nothing is loaded into the warehouse. Each file goes through ``ingest.ingest_file``
itself, the very code ``perfcore ingest`` runs, against a throwaway warehouse in
a temporary folder (removed afterwards): the same prolog hardening, XSD and
streaming reader, header checks (member, period), manual and commentary row
rules, and the record rules of ``hbpe.SECTIONS`` in SQL. What the scratch
warehouse then holds (the outcome, the rejections) is read back and sorted
into a conformance report, one line per rule: pass, fail with the failing
lines, or not checked.

Submission rules (duplicate, Sequence) need history. By default each file is
judged on its own, in a fresh scratch warehouse, and the Sequence rule is
reported as not checked. ``as_sequence`` submits the files one after another
into one scratch warehouse (a resubmission is judged against the files before
it, as ingest would); ``history_from`` copies the accepted submissions and
current extracts of the real warehouse into the scratch one first (the real
one is opened read-only, and closed at once).

The rule catalogue below names and describes the rules for the report; it
does not implement them. Record rules are read from ``hbpe.SECTIONS``; a
rejection no catalogue entry recognises falls to the level's ``other`` rule,
so nothing is ever dropped from the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from perfcore.config.parameters import Consortium
from perfcore.intake import hbpe

PASS, FAIL, NOT_CHECKED = "pass", "fail", "not checked"


@dataclass(frozen=True)
class Failure:
    """One rejection as ingest records it."""

    line: int | None
    ref: str | None
    field: str | None
    reason: str

    def text(self) -> str:
        where = ", ".join(
            x
            for x in (
                f"line {self.line}" if self.line else "",
                f"ref {self.ref}" if self.ref else "",
                f"field {self.field}" if self.field else "",
            )
            if x
        )
        return f"{where}: {self.reason}" if where else self.reason


@dataclass(frozen=True)
class Rule:
    """A rule as the report names it; ``matches`` recognises its rejections."""

    id: str
    level: str  # file | submission | record
    description: str
    matches: Callable[[Failure], bool] = field(compare=False, repr=False)


def _reason(*words: str) -> Callable[[Failure], bool]:
    return lambda f: any(w in f.reason for w in words)


def _starts(prefix: str) -> Callable[[Failure], bool]:
    return lambda f: f.reason.startswith(prefix)


def _field(*names: str) -> Callable[[Failure], bool]:
    return lambda f: f.field in names


def _always(_: Failure) -> bool:
    return True


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _record_rules() -> tuple[Rule, ...]:
    """One rule per distinct reason of ``hbpe.SECTIONS`` (a reason shared by sections is one rule),
    then the repeated-ref rule."""
    by_reason: dict[str, list[str]] = {}
    for section in hbpe.SECTIONS:
        for rule in section.rules:
            by_reason.setdefault(rule.reason, []).append(section.element)
    rules = [
        Rule(
            f"record.{_slug(reason)}",
            "record",
            f"{'/'.join(elements)}: {reason}",
            lambda f, reason=reason: reason in f.reason.split("; "),
        )
        for reason, elements in by_reason.items()
    ]
    unique = "/".join(s.element for s in hbpe.SECTIONS if s.unique_refs)
    rules.append(
        Rule(
            "record.duplicate-ref",
            "record",
            f"{unique}: {hbpe.DUPLICATE_REF_REASON}",
            lambda f: hbpe.DUPLICATE_REF_REASON in f.reason.split("; "),
        )
    )
    return tuple(rules)


SEQUENCE_RULE = Rule(
    "submission.sequence",
    "submission",
    "a file for a council and month already accepted needs a higher Sequence (same or lower with different "
    "content is a conflict; the same bytes are a duplicate)",
    _always,
)


def _csv_file_rules(header: str, kind: str) -> tuple[Rule, ...]:
    """The file-level rules both CSV returns share (they are read by the same code in ``intake.manual``)."""
    return (
        Rule("file.encoding", "file", "UTF-8 text", _reason("not UTF-8")),
        Rule("file.limits", "file", "at most 4 MiB and 50,000 rows", _reason("at most 4 MiB", "more than")),
        Rule("file.header", "file", f"the header is {header}", _field("header")),
        Rule("file.rows", "file", "at least one row after the header", _reason("no rows after the header")),
        Rule("file.quotes", "file", "every quoted field is closed", _reason("never closed")),
        Rule("file.other", "file", f"the file can be read as {kind}", _always),
    )


RULES: dict[str, tuple[Rule, ...]] = {
    "extract": (
        Rule(
            "file.encoding",
            "file",
            "UTF-8 (no UTF-16/32 byte-order mark or declaration, no NUL byte)",
            lambda f: f.field == "encoding" or "NUL byte" in f.reason,
        ),
        Rule("file.no-dtd", "file", "no DTD or entity declaration", _field("DOCTYPE")),
        Rule("file.well-formed", "file", "well-formed XML, complete to </Extract>", _starts("not well-formed")),
        Rule(
            "file.schema",
            "file",
            "valid against hbpe-1.0.xsd (namespace, version, elements, attributes, values, bounds)",
            _starts("not valid HBPE"),
        ),
        Rule("file.member", "file", "Authority@code is a consortium member", _reason("is not a consortium member")),
        Rule("file.period", "file", "Period is not in the future", _reason("is in the future")),
        Rule("file.other", "file", "the file can be read as an HBPE extract", _always),
        SEQUENCE_RULE,
        *_record_rules(),
        Rule("record.other", "record", "any other record rule", _always),
    ),
    "manual": (
        *_csv_file_rules("authority,period,measure,value", "a manual return"),
        Rule("row.shape", "record", "four fields, quotes well placed", _field("row")),
        Rule("row.length", "record", "each field at most 100 characters", _reason("a field may be at most")),
        Rule("row.authority", "record", "authority is a member's GSS code", _field("authority")),
        Rule("row.period", "record", "period is YYYY-MM from 2000-01 to this month", _field("period")),
        Rule("row.measure", "record", "measure is one of the six manual measures", _field("measure")),
        Rule(
            "row.value",
            "record",
            "value: exact decimal syntax, whole for counts, within the measure's bounds",
            _field("value"),
        ),
        Rule(
            "row.part-whole",
            "record",
            "accuracy_cases_correct <= accuracy_cases_checked and calls_answered <= "
            "calls_offered (in the file or against the values held)",
            _reason("exceeds"),
        ),
        Rule("row.other", "record", "any other row rule", _always),
    ),
    "commentary": (
        *_csv_file_rules("authority,period,indicator,commentary,action,owner,due", "a commentary return"),
        Rule("row.shape", "record", "seven fields, quotes well placed", _field("row")),
        Rule("row.authority", "record", "authority is a member's GSS code", _field("authority")),
        Rule("row.period", "record", "period is YYYY-MM from 2000-01 to this month", _field("period")),
        Rule("row.indicator", "record", "indicator is a framework indicator id, or empty", _field("indicator")),
        Rule(
            "row.text",
            "record",
            "commentary, action and owner within their lengths, plain text",
            lambda f: f.field in ("commentary", "action", "owner") and "characters" in f.reason,
        ),
        Rule(
            "row.action",
            "record",
            "commentary or an action; an action has action, owner and due",
            _field("commentary", "action"),
        ),
        Rule("row.due", "record", "due is a real date YYYY-MM-DD", _field("due")),
        Rule("row.other", "record", "any other row rule", _always),
    ),
}
RULES["unknown"] = (Rule("file.kind", "file", "an .xml extract or a .csv return", _always),)


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    status: str  # pass | fail | not checked
    failures: tuple[Failure, ...] = ()
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "rule": self.rule.id,
            "level": self.rule.level,
            "description": self.rule.description,
            "status": self.status,
            "note": self.note or None,
            "failures": [{"line": f.line, "ref": f.ref, "field": f.field, "reason": f.reason} for f in self.failures],
        }


@dataclass(frozen=True)
class FileReport:
    """One file: ingest's verdict and the rules, each pass, fail (with lines) or not checked."""

    file: str
    path: str
    kind: str
    outcome: str  # accepted | duplicate | rejected | conflict, exactly as ingest would say
    authority: str | None
    period: str | None
    sequence: int | None
    records_loaded: int
    records_rejected: int
    reason: str | None
    rules: tuple[RuleResult, ...]

    @property
    def ok(self) -> bool:
        """Accepted (or already held byte for byte) with no rejected record: what a supplier must reach."""
        return self.outcome in ("accepted", "duplicate") and self.records_rejected == 0

    def verdict(self) -> str:
        if self.outcome == "accepted":
            if self.records_rejected:
                return f"ACCEPTED with {self.records_rejected} rejected record(s): not conformant"
            return f"ACCEPTED: {self.records_loaded} records, none rejected"
        if self.outcome == "duplicate":
            return "DUPLICATE: byte-identical to a file already accepted; nothing would change"
        return f"{self.outcome.upper()}: {self.reason}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "path": self.path,
            "kind": self.kind,
            "outcome": self.outcome,
            "ok": self.ok,
            "authority": self.authority,
            "period": self.period,
            "sequence": self.sequence,
            "records_loaded": self.records_loaded,
            "records_rejected": self.records_rejected,
            "reason": self.reason,
            "rules": [r.to_dict() for r in self.rules],
        }


@dataclass(frozen=True)
class Report:
    files: tuple[FileReport, ...]
    history: str  # what the submission rules were checked against

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "submission_rules_checked_against": self.history,
            "files": [f.to_dict() for f in self.files],
        }

    def lines(self) -> list[str]:
        out = []
        for report in self.files:
            what = " ".join(str(x) for x in (report.authority, report.period) if x)
            if report.sequence is not None:
                what += f" Sequence {report.sequence}"
            out.append(f"{report.file} ({report.kind}{', ' + what if what else ''})")
            skipped = 0
            for result in report.rules:
                if result.status == NOT_CHECKED and report.outcome != "accepted":
                    skipped += 1  # rejected whole, or a duplicate: one line says why below
                    continue
                mark = {PASS: "PASS", FAIL: "FAIL", NOT_CHECKED: "----"}[result.status]
                note = f"  ({result.note})" if result.note else ""
                out.append(f"  {mark}  {result.rule.id:52} {result.rule.description}{note}")
                out.extend(f"          {failure.text()}" for failure in result.failures)
            if skipped:
                why = (
                    "the file is already accepted byte for byte"
                    if report.outcome == "duplicate"
                    else "the file is rejected as a whole"
                )
                out.append(f"  ----  {skipped} other rule(s) not checked: {why}")
            out.append(f"  => {report.verdict()}")
        out.append(f"submission rules (duplicate, Sequence) judged against {self.history}")
        good = sum(f.ok for f in self.files)
        out.append(f"{good} of {len(self.files)} file(s) would be accepted with no rejected records")
        return out


def validate(
    paths: Iterable[str | Path],
    consortium: Consortium,
    *,
    today: date,
    indicator_ids: frozenset[str],
    history_from: str | Path | None = None,
    as_sequence: bool = False,
) -> Report:
    """Run every file through ``ingest.ingest_file`` on a scratch warehouse and report rule by rule.

    Each file is judged on its own (a fresh scratch warehouse each), unless ``as_sequence``: then the files
    are submitted one after another, in the order given, as a council resubmitting would. ``history_from``:
    a warehouse whose accepted submissions and current extracts are copied into each scratch warehouse
    first (opened read-only), so the submission rules are judged against it too.
    """
    from perfcore import warehouse
    from perfcore.intake import ingest

    files = ingest.expand(paths)
    source = warehouse.warehouse_path(history_from) if history_from is not None else None
    against = [
        *(["the files before each, in the order given"] if as_sequence else []),
        *([f"the warehouse {source} (read-only)"] if source else []),
    ]
    history = " and ".join(against) or NOT_AGAINST
    reports = []
    with tempfile.TemporaryDirectory(prefix="perfcore-validate-") as scratch:
        con = None
        try:
            for n, path in enumerate(files):
                if con is None or not as_sequence:
                    if con is not None:
                        _close_scratch(con)
                    con = warehouse.connect(Path(scratch) / str(n) / "scratch.duckdb")
                    if source is not None:
                        _copy_history(source, con)
                result = ingest.ingest_file(path, con, consortium, today=today, indicator_ids=indicator_ids)
                reports.append(_file_report(con, path, result, sequence_checked=bool(against)))
        finally:
            if con is not None:
                _close_scratch(con)
    return Report(tuple(reports), history)


def _close_scratch(con) -> None:
    """Close a scratch warehouse without the checkpoint DuckDB makes on close: it is deleted unread."""
    import duckdb

    with contextlib.suppress(duckdb.Error):  # a connection a failure has invalidated closes as it is
        con.execute("pragma disable_checkpoint_on_shutdown")
    con.close()


NOT_AGAINST = (
    "nothing: each file on its own (give --history to judge against the warehouse, --as-sequence for a run of files)"
)


def _copy_history(source: Path, con) -> None:
    """The accepted submissions and current extracts of the real warehouse, into the scratch one: ingest's
    own duplicate and Sequence checks then see them. The real warehouse is only read."""
    from perfcore import warehouse

    real = warehouse.connect(source, read_only=True)
    try:
        accepted = real.execute("select * from submissions where outcome = 'accepted'").df()
        current = real.execute("select * from current_extracts").df()
    finally:
        real.close()
    con.register("history_submissions", accepted)
    con.register("history_current", current)
    con.execute("insert into submissions select * from history_submissions")
    con.execute("insert into current_extracts select * from history_current")
    con.unregister("history_submissions")
    con.unregister("history_current")
    start = int(con.execute("select coalesce(max(id), 0) + 1 from submissions").fetchone()[0])
    con.execute(f"create or replace sequence submission_ids start {start}")


def _file_report(con, path: Path, result, *, sequence_checked: bool) -> FileReport:
    rows = con.execute(
        "select level, line, ref, field, reason from rejections where submission_id = ? order by line nulls first",
        [result.submission_id],
    ).fetchall()
    failures = {"file": [], "record": []}
    for level, line, ref, fld, reason in rows:
        failures[level].append(Failure(line, ref, fld, reason))
    kind = result.kind if result.kind in RULES else "unknown"
    return FileReport(
        file=result.file,
        path=str(path),
        kind=kind,
        outcome=result.outcome,
        authority=result.authority,
        period=result.period,
        sequence=result.sequence,
        records_loaded=result.records_loaded,
        records_rejected=result.records_rejected,
        reason=result.reason,
        rules=_judge(RULES[kind], result.outcome, failures["file"], failures["record"], sequence_checked),
    )


def _judge(
    rules: tuple[Rule, ...],
    outcome: str,
    file_failures: list[Failure],
    record_failures: list[Failure],
    sequence_checked: bool,
) -> tuple[RuleResult, ...]:
    """Each rejection goes to the first rule of its level that recognises it."""
    found: dict[str, list[Failure]] = {}
    if outcome == "conflict":
        found[SEQUENCE_RULE.id] = file_failures
    else:
        _assign(rules, "file", file_failures, found)
    _assign(rules, "record", record_failures, found)
    rejected_whole = outcome in ("rejected", "conflict")
    results = []
    for rule in rules:
        failed = found.get(rule.id, ())
        if failed:
            results.append(RuleResult(rule, FAIL, tuple(failed)))
        elif rule.id.endswith(".other") or rule.id == "file.kind":
            continue  # the catch-alls show only when they caught something
        elif rule is SEQUENCE_RULE and not sequence_checked:
            results.append(RuleResult(rule, NOT_CHECKED, note="no history: give --history or --as-sequence"))
        elif outcome == "duplicate":
            results.append(RuleResult(rule, NOT_CHECKED, note="already accepted byte for byte: not read again"))
        elif rejected_whole:
            results.append(RuleResult(rule, NOT_CHECKED, note="the file is rejected as a whole by another rule"))
        else:
            results.append(RuleResult(rule, PASS))
    return tuple(results)


def _assign(rules: tuple[Rule, ...], level: str, failures: list[Failure], found: dict[str, list[Failure]]) -> None:
    candidates = [r for r in rules if r.level == level]
    for failure in failures:
        rule = next((r for r in candidates if r.matches(failure)), None)
        if rule is not None:
            found.setdefault(rule.id, []).append(failure)


# -- the command ----------------------------------------------------------------------------------------


def validate_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "paths",
        nargs="+",
        metavar="FILE",
        help="HBPE extracts (.xml), manual or commentary returns (.csv), or folders of them; judged in the order given",
    )
    sub.add_argument(
        "--history",
        action="store_true",
        help="also judge the submission rules (duplicate, Sequence) against the files the warehouse "
        "(--warehouse) has accepted; it is opened read-only. Without it, nothing of the "
        "warehouse is read",
    )
    sub.add_argument(
        "--as-sequence",
        action="store_true",
        help="judge the files as one council's run of submissions, in the order given (a "
        "resubmission's Sequence against the files before it); default: each file on its own",
    )
    sub.add_argument("--format", choices=("json", "table"), default="table")


def cmd_validate(args) -> int:
    """Every file, submission and record rule, without loading anything: exit 0 only when every file
    would be accepted with no rejected record."""
    from perfcore import settings, warehouse
    from perfcore.config.parameters import load_consortium, load_framework, parameters_dir
    from perfcore.terminal import safe

    folder = parameters_dir(args.parameters)
    consortium = load_consortium(folder)
    ids = frozenset(load_framework(folder / "framework.yaml").ids)
    report = validate(
        args.paths,
        consortium,
        today=settings.today(args.today),
        indicator_ids=ids,
        history_from=warehouse.warehouse_path(args.warehouse) if args.history else None,
        as_sequence=args.as_sequence,
    )
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=1))
    else:
        for line in report.lines():
            print(safe(line))
    return 0 if report.ok else 1


COMMANDS = (
    (
        "validate",
        cmd_validate,
        "Check extracts and returns against every HBPE rule without loading them (a conformance report).",
        validate_arguments,
    ),
)
