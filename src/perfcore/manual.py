"""The manual return: measures no back-office system holds, sent as CSV.

A council's designated updater sends ``authority,period,measure,value`` rows
(see hbpe-1.0.md). A broken header rejects the file; a row that breaks a rule
is rejected with its line number and the other rows load.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from perfcore import periods
from perfcore.exceptions import FileRejected
from perfcore.parameters import Consortium

HEADER = ("authority", "period", "measure", "value")
MEASURES = (
    "accuracy_cases_checked",
    "accuracy_cases_correct",
    "admin_cost_gbp",
    "staff_fte",
    "calls_offered",
    "calls_answered",
)
# (part, whole): the part may not exceed the whole for the same council and month.
PART_OF_WHOLE = (
    ("accuracy_cases_correct", "accuracy_cases_checked"),
    ("calls_answered", "calls_offered"),
)


@dataclass(frozen=True)
class ManualRow:
    line: int
    authority: str
    period: str
    measure: str
    value: float


@dataclass(frozen=True)
class RowError:
    line: int
    ref: str | None
    field: str
    reason: str


@dataclass(frozen=True)
class ManualReturn:
    rows: tuple[ManualRow, ...]
    errors: tuple[RowError, ...]


def read_manual_return(
    path: Path,
    consortium: Consortium,
    today: date,
    current_value: "callable[[str, str, str], float | None]" = lambda a, p, m: None,
) -> ManualReturn:
    """Parse and check one manual return.

    ``current_value(authority, period, measure)`` gives the value already in
    the warehouse, so a return that sends only ``calls_answered`` is still
    checked against the ``calls_offered`` sent earlier.
    """
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        raise FileRejected(
            f"header is {','.join(header or []) or 'missing'}; expected {','.join(HEADER)}",
            file=path.name, line=1, field="header",
            hint="the first row must be exactly authority,period,measure,value",
        )
    rows: list[ManualRow] = []
    errors: list[RowError] = []
    for line_number, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        row_or_error = _check_row(line_number, fields, consortium, today)
        (errors if isinstance(row_or_error, RowError) else rows).append(row_or_error)
    accepted, broken = _check_part_of_whole(rows, current_value)
    errors.extend(broken)
    return ManualReturn(rows=tuple(accepted), errors=tuple(sorted(errors, key=lambda e: e.line)))


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            "not UTF-8 text", file=path.name, line=line, hint="save the return as CSV UTF-8 and resend it"
        ) from exc


def _check_row(line: int, fields: list[str], consortium: Consortium, today: date) -> ManualRow | RowError:
    if len(fields) != len(HEADER):
        return RowError(line, None, "row", f"has {len(fields)} fields; expected 4: authority,period,measure,value")
    authority, period, measure, raw_value = (f.strip() for f in fields)
    ref = f"{authority} {period} {measure}"
    if not consortium.is_member(authority):
        return RowError(line, ref, "authority", f"{authority!r} is not a consortium member's GSS code")
    if not periods.is_period(period):
        return RowError(line, ref, "period", f"{period!r} is not a month (YYYY-MM)")
    if period > periods.of(today):
        return RowError(line, ref, "period", f"{period} is in the future")
    if measure not in MEASURES:
        return RowError(line, ref, "measure", f"{measure!r} is not a manual-return measure ({', '.join(MEASURES)})")
    try:
        value = float(raw_value)
    except ValueError:
        return RowError(line, ref, "value", f"{raw_value!r} is not a number")
    if not math.isfinite(value) or value < 0:
        return RowError(line, ref, "value", f"{raw_value} must be a non-negative number")
    return ManualRow(line, authority, period, measure, value)


def _check_part_of_whole(rows: list[ManualRow], current_value) -> tuple[list[ManualRow], list[RowError]]:
    """Reject rows so that, once loaded, no part (correct, answered) exceeds its whole (checked, offered).

    A measure's value is the file's latest row for it, else the value already
    held. While a pair breaks the rule, the later of the file's rows involved
    is rejected and the pair is checked again: a return can break the rule
    neither within itself nor against what the warehouse holds.
    """
    rejected: dict[int, RowError] = {}
    for authority, period in sorted({(r.authority, r.period) for r in rows}):
        month = [r for r in rows if (r.authority, r.period) == (authority, period)]
        for part_name, whole_name in PART_OF_WHOLE:
            while (error := _part_exceeds_whole(month, rejected, part_name, whole_name, current_value)) is not None:
                rejected[error.line] = error
    return [r for r in rows if r.line not in rejected], list(rejected.values())


def _part_exceeds_whole(month: list[ManualRow], rejected: dict[int, RowError], part_name: str, whole_name: str,
                        current_value) -> RowError | None:
    """The error for the later row of a part/whole pair that breaks the rule, or None."""
    kept = [r for r in month if r.line not in rejected]
    part = next((r for r in reversed(kept) if r.measure == part_name), None)
    whole = next((r for r in reversed(kept) if r.measure == whole_name), None)
    if part is None and whole is None:
        return None
    authority, period = month[0].authority, month[0].period
    part_value = part.value if part else current_value(authority, period, part_name)
    whole_value = whole.value if whole else current_value(authority, period, whole_name)
    if part_value is None or whole_value is None or part_value <= whole_value:
        return None
    culprit = max((r for r in (part, whole) if r is not None), key=lambda r: r.line)
    held = "" if part and whole else " (with the value already held)"
    return RowError(
        culprit.line, f"{authority} {period} {culprit.measure}", culprit.measure,
        f"{part_name} ({part_value:g}) exceeds {whole_name} ({whole_value:g}) for {authority} {period}{held}",
    )
