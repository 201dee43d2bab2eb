"""Calendar months ("periods", ``YYYY-MM``) and financial years (April-March)."""

from __future__ import annotations

import calendar
import re
from datetime import date

_PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])\Z")  # ASCII digits only; \Z: no "\n" after


def is_period(text: str) -> bool:
    return bool(_PERIOD.match(text))


def parse(text: str) -> tuple[int, int]:
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"not a period (YYYY-MM): {text!r}")
    return int(match.group(1)), int(match.group(2))


def first_day(period: str) -> date:
    year, month = parse(period)
    return date(year, month, 1)


def last_day(period: str) -> date:
    year, month = parse(period)
    return date(year, month, calendar.monthrange(year, month)[1])


def of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift(period: str, months: int) -> str:
    year, month = parse(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def span(start: str, end: str) -> list[str]:
    """Every period from start to end inclusive."""
    out, current = [], start
    while current <= end:
        out.append(current)
        current = shift(current, 1)
    return out


def financial_year_start(period: str) -> str:
    """April of the financial year the period falls in (April-March)."""
    year, month = parse(period)
    return f"{year if month >= 4 else year - 1:04d}-04"


def financial_year_label(period: str) -> str:
    start = int(financial_year_start(period)[:4])
    return f"{start}/{(start + 1) % 100:02d}"


def last_complete(today: date) -> str:
    """The last calendar month that has ended by ``today``."""
    return shift(of(today), -1)


def is_complete(period: str, *, members_in: int, members: int, today: date, complete_after_days: int) -> bool:
    """The rule for a complete month, defined once: every member's extract for it is in, or it
    ended more than ``complete_after_days`` days ago (consortium.yaml), whoever is missing."""
    return members_in >= members or (today - last_day(period)).days > complete_after_days


def label(period: str) -> str:
    """'October 2026'."""
    year, month = parse(period)
    return f"{calendar.month_name[month]} {year}"
