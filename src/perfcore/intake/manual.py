"""The manual return: measures no back-office system holds, sent as CSV.

A council's designated updater sends ``authority,period,measure,value`` rows
(see hbpe-1.0.md and the README's manual-return rules). A broken file (not
UTF-8, no header, over the size limit, a quote never closed) is rejected
whole; a row that breaks a rule is rejected with its line number and the
other rows load.

Row rules are checked here, row by row. The part ≤ whole rule needs the
values already held, so it runs in SQL over the loaded rows
(``parts_exceeding_wholes``), one set-based query whatever the file's size.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.config.parameters import Consortium
from perfcore.exceptions import FileRejected

if TYPE_CHECKING:
    import duckdb

HEADER = ("authority", "period", "measure", "value")


@dataclass(frozen=True)
class MeasureRule:
    """What a measure's value may be: how many digits after the point, and a sane maximum."""

    decimals: int  # 0: a count, a whole number
    maximum: int


# The documented bounds (README, manual-return rules): far above any council's
# month, so a value beyond one is a typing slip, not a big council.
MEASURE_RULES: dict[str, MeasureRule] = {
    "accuracy_cases_checked": MeasureRule(0, 100_000),
    "accuracy_cases_correct": MeasureRule(0, 100_000),
    "admin_cost_gbp": MeasureRule(2, 100_000_000),
    "staff_fte": MeasureRule(2, 5_000),
    "calls_offered": MeasureRule(0, 10_000_000),
    "calls_answered": MeasureRule(0, 10_000_000),
}
MEASURES = tuple(MEASURE_RULES)
# (part, whole): the part may not exceed the whole for the same council and month.
PART_OF_WHOLE = (
    ("accuracy_cases_correct", "accuracy_cases_checked"),
    ("calls_answered", "calls_offered"),
)
FIRST_PERIOD = "2000-01"

# Limits on one return, so a runaway file cannot hold the write lock for long.
MAX_BYTES = 4 * 1024 * 1024
MAX_ROWS = 50_000
MAX_FIELD_CHARS = 100  # longer fields are rejected and only their start is quoted back

# Exactly the documented syntax: ASCII digits, optionally a point and more digits.
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_NUMBER_SYNTAX = (
    "write ASCII digits with an optional decimal point and digits after it, such as 40 or 38.5 "
    "(no sign, spaces, thousands separators or exponent)"
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


def read_manual_return(path: Path, consortium: Consortium, today: date) -> ManualReturn:
    """Parse one manual return and check each row; part ≤ whole is ``parts_exceeding_wholes``."""
    _check_size(path)
    records = _records(path.name, _decode(path))
    _check_header(path.name, next(records, None))
    rows: list[ManualRow] = []
    errors: list[RowError] = []
    for line, fields in records:
        if isinstance(fields, RowError):
            errors.append(fields)
            continue
        if not any(f.strip() for f in fields):
            continue  # blank lines and the empty rows spreadsheets leave are not rows
        if len(rows) + len(errors) == MAX_ROWS:
            raise FileRejected(
                f"has more than {MAX_ROWS:,} rows",
                file=path.name,
                line=line,
                hint="split the return into smaller files",
            )
        row_or_error = _check_row(line, fields, consortium, today)
        (errors if isinstance(row_or_error, RowError) else rows).append(row_or_error)
    if not rows and not errors:
        raise FileRejected(
            "has no rows after the header", file=path.name, line=2, hint="add one row per council, month and measure"
        )
    return ManualReturn(rows=tuple(rows), errors=tuple(errors))


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise FileRejected(
            f"is {size:,} bytes; a manual return may be at most 4 MiB ({MAX_BYTES:,} bytes)",
            file=path.name,
            hint="split the return into smaller files",
        )


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark (Excel's "CSV UTF-8") is fine
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            "not UTF-8 text", file=path.name, line=line, hint="save the return as CSV UTF-8 and resend it"
        ) from exc


def _records(file: str, text: str) -> Iterator[tuple[int, list[str] | RowError]]:
    """(first line, fields) per CSV record; a record the csv module refuses becomes a RowError.

    Lines are counted as an editor shows them (CRLF, LF or CR), and a record
    with a quoted line break is numbered by the line it starts on.
    """
    # The csv module refuses fields over 128 KiB with an error; no field can be
    # longer than the file, and long fields are rejected with a reason below.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):  # the file ended inside a quoted field
                raise FileRejected(
                    "a quoted field opened here is never closed",
                    file=file,
                    line=line,
                    hint='close each opening " with another "; write a " inside a field as ""',
                ) from exc
            yield (
                line,
                RowError(
                    line,
                    None,
                    "row",
                    f'a quote is misplaced ({exc}); quote a whole field, and write a " inside it as ""',
                ),
            )
            continue
        yield line, fields


def _check_header(file: str, record: tuple[int, list[str] | RowError] | None) -> None:
    if record is None:
        raise FileRejected(
            "is empty", file=file, line=1, field="header", hint="the first row must be authority,period,measure,value"
        )
    _, header = record
    if isinstance(header, RowError) or tuple(h.strip().lower() for h in header) != HEADER:
        shown = "unreadable" if isinstance(header, RowError) else _clip(",".join(header))
        raise FileRejected(
            f"header is {shown or 'empty'}; expected {','.join(HEADER)}",
            file=file,
            line=1,
            field="header",
            hint="the first row must be exactly authority,period,measure,value",
        )


def _check_row(line: int, fields: list[str], consortium: Consortium, today: date) -> ManualRow | RowError:
    """One row's rules. Fields are taken exactly as written: a space is part of the field."""
    if len(fields) != len(HEADER):
        return RowError(line, None, "row", f"has {len(fields)} fields; expected 4: authority,period,measure,value")
    authority, period, measure, raw_value = fields
    ref = f"{_clip(authority)} {_clip(period)} {_clip(measure)}"
    for name, text in zip(HEADER, fields):
        if len(text) > MAX_FIELD_CHARS:
            return RowError(
                line,
                ref,
                name,
                f"'{_clip(text)}' is {len(text):,} characters long; a field may be at most {MAX_FIELD_CHARS}",
            )
    if not consortium.is_member(authority):
        return RowError(line, ref, "authority", f"'{authority}' is not a consortium member's GSS code")
    period_error = _period_error(period, today)
    if period_error:
        return RowError(line, ref, "period", period_error)
    if measure not in MEASURE_RULES:
        return RowError(line, ref, "measure", f"'{measure}' is not a manual-return measure ({', '.join(MEASURES)})")
    value_error = _value_error(raw_value, measure)
    if value_error:
        return RowError(line, ref, "value", value_error)
    return ManualRow(line, authority, period, measure, float(raw_value))


def _period_error(period: str, today: date) -> str | None:
    if not _PERIOD.fullmatch(period):
        return f"'{period}' is not a month (YYYY-MM)"
    if period < FIRST_PERIOD:
        return f"{period} is before {FIRST_PERIOD}; the warehouse holds months from {FIRST_PERIOD}"
    if period > periods.of(today):
        return f"{period} is in the future"
    return None


def _value_error(raw: str, measure: str) -> str | None:
    """Why ``raw`` is not a value ``measure`` can take, or None."""
    if not _NUMBER.fullmatch(raw):
        return f"'{raw}' is not a number: {_NUMBER_SYNTAX}"
    rule = MEASURE_RULES[measure]
    fraction = raw.partition(".")[2]
    if rule.decimals == 0 and fraction:
        return f"{raw} must be a whole number: {measure} is a count"
    if len(fraction) > rule.decimals:
        return f"{raw} has more than {rule.decimals} digits after the point"
    if Decimal(raw) > rule.maximum:
        return f"{raw} is more than {rule.maximum:,}, the most {measure} can be for a council in a month"
    return None


def _clip(text: str) -> str:
    """The text itself, or its start when it is too long to quote back whole."""
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return text[:40] + f"… ({len(text):,} characters)"


# -- part ≤ whole, in SQL over the loaded rows ----------------------------------------------------------

# For each council, month and pair, the file's rows of the pair in line order.
# The rule rejects the later of the latest part and latest whole while they
# break it, then looks again: so what is rejected is always every row after
# some line. A row's state is the pair as it stands if the file ended at that
# row (latest part and whole so far, else the value held); the rows after the
# last row whose state is fine are rejected, each with its own state as reason.
_PART_OF_WHOLE_SQL = """
with pairs(part, whole) as (values {pairs}),
incoming as (
    select m.line, m.authority, m.period, m.measure, m.value, p.part, p.whole, m.measure = p.part as is_part
    from manual_values m join pairs p on m.measure = p.part or m.measure = p.whole
    where m.submission_id = $submission
),
held as (
    select authority, period, measure, value from (
        select v.authority, v.period, v.measure, v.value, row_number() over (
            partition by v.authority, v.period, v.measure order by v.submission_id desc, v.line desc) as newest
        from manual_values v semi join (select distinct authority, period from incoming) i
            on v.authority = i.authority and v.period = i.period
        where v.submission_id <> $submission and v.measure in (select part from pairs union all select whole from pairs)
    ) where newest = 1
),
states as (
    select i.line, i.authority, i.period, i.measure, i.part, i.whole,
        coalesce(last_value(case when i.is_part then i.value end ignore nulls) over upto, hp.value) as part_value,
        coalesce(last_value(case when not i.is_part then i.value end ignore nulls) over upto, hw.value) as whole_value,
        bool_or(i.is_part) over upto and bool_or(not i.is_part) over upto as both_in_file
    from incoming i
    left join held hp on hp.authority = i.authority and hp.period = i.period and hp.measure = i.part
    left join held hw on hw.authority = i.authority and hw.period = i.period and hw.measure = i.whole
    window upto as (partition by i.authority, i.period, i.part order by i.line
                    rows between unbounded preceding and current row)
),
judged as (
    select *, max(line) filter (where coalesce(part_value <= whole_value, true)) over (
        partition by authority, period, part) as last_fine
    from states
)
select line, authority, period, measure, part, whole, part_value, whole_value, both_in_file
from judged where line > coalesce(last_fine, 0)
order by line
"""


def parts_exceeding_wholes(con: duckdb.DuckDBPyConnection, submission_id: int) -> list[RowError]:
    """The rows of ``submission_id`` (already in ``manual_values``) to reject so no part exceeds its whole.

    A measure's value is the file's latest row for it, else the value already
    held: a return can break the rule neither within itself nor against what
    the warehouse holds, and a whole sent alone is checked against its part.
    """
    pairs = ", ".join(f"('{part}', '{whole}')" for part, whole in PART_OF_WHOLE)
    found = con.execute(_PART_OF_WHOLE_SQL.format(pairs=pairs), {"submission": submission_id}).fetchall()
    return [_part_error(*row) for row in found]


def _part_error(
    line: int,
    authority: str,
    period: str,
    measure: str,
    part: str,
    whole: str,
    part_value: float,
    whole_value: float,
    both_in_file: bool,
) -> RowError:
    held = "" if both_in_file else " (with the value already held)"
    return RowError(
        line,
        f"{authority} {period} {measure}",
        measure,
        f"{part} ({_number(part_value)}) exceeds {whole} ({_number(whole_value)}) for {authority} {period}{held}",
    )


def _number(value: float) -> str:
    return f"{value:.15g}"


# The commentary return (intake.commentary) reads its CSV exactly as the manual return does.
check_size, decode, csv_records, clip, period_error = _check_size, _decode, _records, _clip, _period_error
