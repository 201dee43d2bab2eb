"""Words the pages use in more than one place: one home, so a sentence, a tile and a table agree.

Threshold phrasing (``≤ 20``, ``at most 20``, ``20 days or fewer``), ordinals,
quartiles, work-on-hand age bands and short month labels. Rule names live
with the rules in ``perfcore.analytics`` (``spc.RULE_WORDING``,
``alerts.rule_title``), which pages read through ``reporting.analysis``.
Nothing here reads data: every function takes plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcore import periods

if TYPE_CHECKING:
    from perfcore.config.parameters import Indicator

_ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else _ORDINAL_SUFFIXES.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_text(rank: int | None, of: int) -> str:
    """'3rd of 10', or 'not ranked'."""
    return f"{ordinal(rank)} of {of}" if rank else "not ranked"


def quartile_text(quartile: int | None) -> str:
    """'Q1 (best)', 'Q2', 'Q3', 'Q4 (worst)', or '' without a quartile."""
    import pandas as pd

    if quartile is None or pd.isna(quartile) or not quartile:  # None, NaN or <NA>: fewer than four ranked
        return ""
    quartile = int(quartile)
    return f"Q{quartile}" + {1: " (best)", 4: " (worst)"}.get(quartile, "")


@dataclass(frozen=True)
class ThresholdWords:
    """How a threshold reads for an indicator with a direction: lower is better, or higher is."""

    symbol: str  # "≤" or "≥", in a table cell
    within: str  # "at most" or "at least", in a sentence
    beyond: str  # "above" or "below": the red side
    suffix: str  # "or fewer" or "or more", after a formatted value on a tile


_LOWER_IS_BETTER = ThresholdWords("≤", "at most", "above", "or fewer")
_HIGHER_IS_BETTER = ThresholdWords("≥", "at least", "below", "or more")


def threshold_words(indicator: Indicator) -> ThresholdWords:
    return _LOWER_IS_BETTER if indicator.better == "lower" else _HIGHER_IS_BETTER


def window_words(indicator: Indicator, *, long: bool = False) -> str:
    """'financial year to date' (with '(April–March)' when ``long``) or 'month' / 'the month'."""
    if indicator.window == "fytd":
        return "financial year to date (April–March)" if long else "financial year to date"
    return "the month" if long else "month"


# Work on hand by age at month end (days from received): (lowest, highest, label).
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 14, "0–14 days"),
    (15, 30, "15–30 days"),
    (31, 60, "31–60 days"),
    (61, 10_000, "over 60 days"),
)
# The bands of items waiting more than 30 days: the early sign the pages point to.
OLDER_THAN_30_DAYS: tuple[str, ...] = tuple(label for low, _, label in AGE_BANDS if low > 30)


def short_month(period: str) -> str:
    """'Oct 2026'."""
    return f"{periods.label(period)[:3]} {period[:4]}"


def month_span(first: str, last: str) -> str:
    """'Oct 2026', or 'Aug 2026 to Oct 2026'."""
    a, b = short_month(first), short_month(last)
    return a if a == b else f"{a} to {b}"


def months_count(n: int) -> str:
    """'is 1 month' or 'are 3 months': the end of 'and there ...'."""
    return "is 1 month" if n == 1 else f"are {n} months"
