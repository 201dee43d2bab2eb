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
    import numpy as np
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
    Rows: indicator by indicator in framework order, each the councils (by
    code, then month) and then the consortium (by month).

    Every indicator is computed side by side in one wide frame: one sort, one
    grouping of the councils' months into financial years and one pooling of
    the councils, where a frame per indicator paid pandas' fixed costs once per
    indicator (~0.3 s for any warehouse, ten times the SQL). The arithmetic is
    the same, operation for operation, so every figure is the same to the last bit.
    """
    import numpy as np
    import pandas as pd

    frame = components if members is None else components[components["authority"].isin(members)]
    frame = frame.sort_values(["authority", "period"]).reset_index(drop=True)
    chosen = framework.indicators
    if not chosen:
        table = pd.DataFrame(columns=COLUMNS[:-1])
        table["framework_version"] = framework.version
        return table[list(COLUMNS)]
    sums = _monthly_sums(frame, chosen)
    # The consortium's months: the members' sums added up, a month counting if any member's does.
    pooled_months = sums.groupby("period", as_index=False).agg(
        **{
            column: (column, how)
            for k in range(len(chosen))
            for column, how in ((f"num{k}", "sum"), (f"den{k}", "sum"), (f"valid{k}", "any"))
        },
        fy=("fy", "first"),
    )
    pooled_months["authority"] = CONSORTIUM
    councils, pooled = _accumulate(sums, chosen), _accumulate(pooled_months, chosen)
    rows = len(councils.areas) + len(pooled.areas)
    areas = pd.concat([councils.areas, pooled.areas], ignore_index=True)
    months = pd.concat([councils.periods, pooled.periods], ignore_index=True)
    # indicator by indicator: its councils' rows, then its consortium rows
    value, numerator, denominator = (
        np.concatenate([figures[k][j] for k in range(len(chosen)) for figures in (councils.parts, pooled.parts)])
        for j in range(3)
    )
    table = pd.DataFrame(
        {
            "area": pd.concat([areas] * len(chosen), ignore_index=True),
            "period": pd.concat([months] * len(chosen), ignore_index=True),
            "indicator": pd.Series([indicator.id for indicator in chosen]).repeat(rows).reset_index(drop=True),
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
        }
    )
    table["framework_version"] = framework.version
    return table[list(COLUMNS)]


def _monthly_sums(frame: pd.DataFrame, chosen: tuple[Indicator, ...]) -> pd.DataFrame:
    """Per council-month, for indicator k: ``num{k}`` and ``den{k}`` (0 when not valid) and ``valid{k}``
    (every input exists); and ``fy``, the month's financial year."""
    import numpy as np
    import pandas as pd

    columns = {"authority": frame["authority"], "period": frame["period"]}
    for k, indicator in enumerate(chosen):
        num = _sum_all_present(frame, indicator.numerator).to_numpy()
        den = _sum_all_present(frame, indicator.denominator).to_numpy() if indicator.is_ratio else np.zeros(len(frame))
        valid = ~np.isnan(num) & ~np.isnan(den)  # a month counts only where every input exists
        columns[f"num{k}"] = np.where(valid, num, 0.0)
        columns[f"den{k}"] = np.where(valid, den, 0.0)
        columns[f"valid{k}"] = valid
    sums = pd.DataFrame(columns)
    sums["fy"] = sums["period"].map(periods.financial_year_start)
    return sums


def _sum_all_present(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    return frame[list(names)].sum(axis=1, min_count=len(names))


@dataclass(frozen=True)
class _Values:
    areas: pd.Series
    periods: pd.Series
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per indicator: value, numerator, denominator


def _accumulate(sums: pd.DataFrame, chosen: tuple[Indicator, ...]) -> _Values:
    """Apply each indicator's window (month or FYTD) and turn sums into values."""
    import numpy as np

    out = sums.sort_values(["authority", "period"])
    fytd = [k for k, indicator in enumerate(chosen) if indicator.window == "fytd"]
    if fytd:
        group = out.groupby(["authority", "fy"], sort=False)
        running = group[[f"{sum_}{k}" for k in fytd for sum_ in ("num", "den")]].cumsum()
        seen = group[[f"valid{k}" for k in fytd]].cumsum() > 0
    parts = []
    for k, indicator in enumerate(chosen):
        sums_of, data_in = (running, seen) if indicator.window == "fytd" else (out, out)
        numerator, denominator = sums_of[f"num{k}"].to_numpy(), sums_of[f"den{k}"].to_numpy()
        has_data = data_in[f"valid{k}"].to_numpy()
        if indicator.is_ratio:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = indicator.scale * numerator / denominator
            value = np.where(has_data & (denominator > 0), value, np.nan)
        else:
            value = np.where(has_data, indicator.scale * numerator, np.nan)
            denominator = np.full(len(out), np.nan)
        parts.append((value, np.where(has_data, numerator, np.nan), denominator))
    return _Values(out["authority"], out["period"], parts)


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
