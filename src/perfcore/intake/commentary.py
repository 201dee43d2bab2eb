"""The commentary return: a manager's words beside the figures, and the actions that follow.

``authority,period,indicator,commentary,action,owner,due`` rows (hbpe-1.0.md,
"Commentary return"). A broken file is rejected whole, as a manual return is
(the same CSV reading: UTF-8, size, quotes, line numbers); a row that breaks a
rule is rejected with its line and the other rows load.

Commentary is untrusted text. It is stored exactly as sent (control
characters excepted, which are refused) and escaped wherever it is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from perfcore.config.parameters import Consortium
from perfcore.exceptions import FileRejected
from perfcore.intake import manual
from perfcore.intake.manual import RowError

HEADER = ("authority", "period", "indicator", "commentary", "action", "owner", "due")
MAX_COMMENTARY = 2_000  # characters, as the spec says
MAX_ACTION, MAX_OWNER = 500, 200
DONE = "done"  # in `action`: closes the open action for that council and indicator
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class CommentaryRow:
    line: int
    authority: str
    period: str
    indicator: str  # "" for the month as a whole
    commentary: str
    action: str | None
    owner: str | None
    due: str | None  # YYYY-MM-DD


@dataclass(frozen=True)
class CommentaryReturn:
    rows: tuple[CommentaryRow, ...]
    errors: tuple[RowError, ...]


def is_commentary(path: Path) -> bool:
    """A .csv whose header is the commentary return's (the manual return has its own)."""
    try:
        first = path.open("rb").readline(4096).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    return tuple(f.strip().lower() for f in first.strip().split(",")) == HEADER


def read_commentary(path: Path, consortium: Consortium, indicator_ids: set[str], today: date) -> CommentaryReturn:
    manual.check_size(path)
    records = manual.csv_records(path.name, manual.decode(path))
    _check_header(path.name, next(records, None))
    rows: list[CommentaryRow] = []
    errors: list[RowError] = []
    for line, fields in records:
        if isinstance(fields, RowError):
            errors.append(fields)
            continue
        if not any(f.strip() for f in fields):
            continue
        if len(rows) + len(errors) == manual.MAX_ROWS:
            raise FileRejected(
                f"has more than {manual.MAX_ROWS:,} rows",
                file=path.name,
                line=line,
                hint="split the return into smaller files",
            )
        row = _check_row(line, fields, consortium, indicator_ids, today)
        (errors if isinstance(row, RowError) else rows).append(row)
    if not rows and not errors:
        raise FileRejected(
            "has no rows after the header", file=path.name, line=2, hint="add one row per council, month and indicator"
        )
    return CommentaryReturn(tuple(rows), tuple(errors))


def _check_header(file: str, record) -> None:
    if record is None or isinstance(record[1], RowError) or tuple(h.strip().lower() for h in record[1]) != HEADER:
        raise FileRejected(
            "the header is not the commentary return's",
            file=file,
            line=1,
            field="header",
            hint="the first row must be exactly " + ",".join(HEADER),
        )


def _check_row(
    line: int, fields: list[str], consortium: Consortium, indicator_ids: set[str], today: date
) -> CommentaryRow | RowError:
    if len(fields) != len(HEADER):
        return RowError(line, None, "row", f"has {len(fields)} fields; expected 7: {','.join(HEADER)}")
    authority, period, indicator, text, action, owner, due = (f.strip() for f in fields)
    ref = f"{manual.clip(authority)} {manual.clip(period)} {manual.clip(indicator) or '(month)'}"
    if not consortium.is_member(authority):
        return RowError(line, ref, "authority", f"'{manual.clip(authority)}' is not a consortium member's GSS code")
    period_error = manual.period_error(period, today)
    if period_error:
        return RowError(line, ref, "period", period_error)
    if indicator and indicator not in indicator_ids:
        return RowError(
            line,
            ref,
            "indicator",
            f"'{manual.clip(indicator)}' is not an indicator of the framework; "
            "leave it empty for a comment on the month as a whole",
        )
    for name, value, limit in (
        ("commentary", text, MAX_COMMENTARY),
        ("action", action, MAX_ACTION),
        ("owner", owner, MAX_OWNER),
    ):
        if len(value) > limit:
            return RowError(line, ref, name, f"is {len(value):,} characters; at most {limit:,}")
        if _CONTROL.search(value):
            return RowError(line, ref, name, "holds control or invisible formatting characters; write plain text")
    return _action(line, ref, authority, period, indicator, text, action, owner, due)


def _action(line, ref, authority, period, indicator, text, action, owner, due) -> CommentaryRow | RowError:
    if action.lower() == DONE:
        return CommentaryRow(line, authority, period, indicator, text, DONE, owner or None, None)
    if not (action or owner or due):
        if not text:
            return RowError(line, ref, "commentary", "is empty: write the commentary, an action, or both")
        return CommentaryRow(line, authority, period, indicator, text, None, None, None)
    if not (action and owner and due):
        return RowError(line, ref, "action", "an action needs all three of action, owner and due (YYYY-MM-DD)")
    if not _DATE.fullmatch(due):
        return RowError(line, ref, "due", f"'{manual.clip(due)}' is not a date (YYYY-MM-DD)")
    try:
        date.fromisoformat(due)
    except ValueError:
        return RowError(line, ref, "due", f"{due} is not a real date")
    return CommentaryRow(line, authority, period, indicator, text, action, owner, due)
