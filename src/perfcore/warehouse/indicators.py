"""Indicator maths: the framework's ratios of sums, per council and pooled.

For every indicator (parameters/framework.yaml) and every council-month::

    value = scale × Σ numerator components ÷ Σ denominator components

where the sums run over the month, or over April..month for a financial-year-
to-date (FYTD) indicator, counting only months in which every input exists.
The consortium figure sums the same numerators and denominators over the
members with data: a pooled ratio, never a mean of the councils' ratios.
Nothing to divide by, or inputs missing: the value is null (NaN in frames,
None in dicts and JSON), never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Consortium, Framework, Indicator
from perfcore.exceptions import IndicatorError

if TYPE_CHECKING:
    from datetime import date

    import duckdb
    import pandas as pd

COLUMNS = ("area", "period", "indicator", "value", "numerator", "denominator", "framework_version")


def indicator_table(
    components: pd.DataFrame,
    framework: Framework,
    members: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Every indicator for every council-month with data and for the consortium, in long form.

    Columns: area (GSS code or 'consortium'), period, indicator, value,
    numerator, denominator (NaN for counts and totals), framework_version.
    """
    import pandas as pd

    frame = components if members is None else components[components["authority"].isin(members)]
    frame = frame.sort_values(["authority", "period"]).reset_index(drop=True)
    parts = [_one_indicator(frame, indicator) for indicator in framework.indicators]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS[:-1])
    table["framework_version"] = framework.version
    return table[list(COLUMNS)]


def _one_indicator(frame: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    import pandas as pd

    sums = pd.DataFrame({"authority": frame["authority"], "period": frame["period"]})
    sums["num"] = _sum_all_present(frame, indicator.numerator)
    sums["den"] = _sum_all_present(frame, indicator.denominator) if indicator.is_ratio else 0.0
    # A month counts only where every input exists.
    sums["valid"] = sums["num"].notna() & sums["den"].notna()
    sums.loc[~sums["valid"], ["num", "den"]] = 0.0
    sums["fy"] = sums["period"].map(periods.financial_year_start)

    councils = _accumulate(sums, indicator, by=["authority"])
    pooled_months = sums.groupby("period", as_index=False).agg(
        num=("num", "sum"), den=("den", "sum"), valid=("valid", "any"), fy=("fy", "first")
    )
    pooled_months["authority"] = CONSORTIUM
    pooled = _accumulate(pooled_months, indicator, by=["authority"])
    out = pd.concat([councils, pooled], ignore_index=True).rename(columns={"authority": "area"})
    out["indicator"] = indicator.id
    return out[["area", "period", "indicator", "value", "numerator", "denominator"]]


def _sum_all_present(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    return frame[list(names)].sum(axis=1, min_count=len(names))


def _accumulate(sums: pd.DataFrame, indicator: Indicator, by: list[str]) -> pd.DataFrame:
    """Apply the window (month or FYTD) and turn sums into values."""
    import numpy as np

    out = sums.sort_values([*by, "period"]).copy()
    if indicator.window == "fytd":
        group = out.groupby([*by, "fy"], sort=False)
        out["numerator"] = group["num"].cumsum()
        out["denominator"] = group["den"].cumsum()
        out["has_data"] = group["valid"].cumsum() > 0
    else:
        out["numerator"], out["denominator"], out["has_data"] = out["num"], out["den"], out["valid"]
    if indicator.is_ratio:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = indicator.scale * out["numerator"] / out["denominator"]
        out["value"] = value.where(out["has_data"] & (out["denominator"] > 0))
    else:
        out["value"] = (indicator.scale * out["numerator"]).where(out["has_data"])
        out["denominator"] = np.nan
    out.loc[~out["has_data"], "numerator"] = np.nan
    return out[[*by, "period", "value", "numerator", "denominator"]]


def compute(
    con: duckdb.DuckDBPyConnection, framework: Framework, members: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The indicator table straight from the warehouse's current data."""
    from perfcore.warehouse.components import monthly_components

    return indicator_table(monthly_components(con), framework, members)


def check_period(period: str) -> str:
    if not periods.is_period(period):
        raise IndicatorError(f"--period {period!r} is not a month; use YYYY-MM, e.g. 2026-10")
    return period


def values_for(table: pd.DataFrame, framework: Framework, area: str, period: str) -> dict[str, float | None]:
    """{indicator id: value or None} for one area and month: every framework id is a key."""
    check_period(period)
    rows = table[(table["area"] == area) & (table["period"] == period)]
    found = dict(zip(rows["indicator"], rows["value"]))
    return {i: none_if_nan(found.get(i)) for i in framework.ids}


@dataclass(frozen=True)
class MonthStatus:
    """How complete a month's data is (``periods.is_complete``)."""

    period: str
    members_in: int  # members with a current extract for the month
    members: int
    complete: bool

    @property
    def note(self) -> str:
        """'' for a complete month, else 'provisional: 1 of 10 members' extracts in'."""
        return "" if self.complete else f"provisional: {self.members_in} of {self.members} members' extracts in"


def extracts_in(con: duckdb.DuckDBPyConnection, consortium: Consortium) -> dict[str, int]:
    """{period: number of members with a current extract}."""
    rows = con.execute(
        "select period, count(distinct authority) from current_extracts "
        "where list_contains(?, authority) group by period",
        [list(consortium.codes)],
    ).fetchall()
    return {period: int(count) for period, count in rows}


def month_status(period: str, counts: dict[str, int], consortium: Consortium, today: date) -> MonthStatus:
    members = len(consortium.members)
    members_in = counts.get(period, 0)
    complete = periods.is_complete(
        period, members_in=members_in, members=members, today=today, complete_after_days=consortium.complete_after_days
    )
    return MonthStatus(period, members_in, members, complete)


def default_period(
    table: pd.DataFrame, framework: Framework, counts: dict[str, int], consortium: Consortium, today: date
) -> str | None:
    """The latest complete month with data: one early extract must not move every report to a
    month whose consortium figure is one council. With no complete month yet, the latest month with data."""
    months = months_with_data(table, framework)
    complete = [m for m in months if month_status(m, counts, consortium, today).complete]
    return max(complete) if complete else max(months, default=None)


def months_with_data(table: pd.DataFrame, framework: Framework) -> list[str]:
    """Months with a monthly figure for the consortium.

    FYTD indicators carry earlier months forward, so they cannot tell whether
    a month has data of its own (an early manual value alone must not make a
    month 'latest').
    """
    monthly = [i.id for i in framework.indicators if i.window == "month"]
    pooled = table[(table["area"] == CONSORTIUM) & table["value"].notna() & table["indicator"].isin(monthly)]
    return sorted(str(p) for p in pooled["period"].unique())


def latest_period(table: pd.DataFrame, framework: Framework) -> str | None:
    """The latest month with a monthly figure for the consortium, complete or not."""
    return max(months_with_data(table, framework), default=None)


def none_if_nan(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)
