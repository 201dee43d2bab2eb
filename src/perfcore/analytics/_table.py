"""Reading the long indicator table (``perfcore.warehouse.indicators.indicator_table``).

The table has one row per area, period and indicator, with columns ``area``
(GSS code or ``'consortium'``), ``period`` ('YYYY-MM'), ``indicator``,
``value`` (NaN when null), ``numerator``, ``denominator`` and
``framework_version``. Everything in ``perfcore.analytics`` reads it through
these helpers, so the contract is checked in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.exceptions import AnalyticsError

CONSORTIUM = "consortium"
REQUIRED = ("area", "period", "indicator", "value")


def check(table: pd.DataFrame, *, components: bool = False) -> pd.DataFrame:
    """The table itself, after checking it has the columns the methods read."""
    required = REQUIRED + (("numerator", "denominator") if components else ())
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise AnalyticsError(f"indicator table lacks column(s) {missing}; expected {', '.join(required)}")
    return table


def up_to(table: pd.DataFrame, period: str | None) -> pd.DataFrame:
    """Rows up to and including ``period`` (all rows when None): the view as at that month."""
    if period is None:
        return table
    if not periods.is_period(period):
        raise AnalyticsError(f"not a period (YYYY-MM): {period!r}")
    return table[table["period"] <= period]


def latest_period(table: pd.DataFrame) -> str:
    values = check(table).dropna(subset=["value"])["period"]
    if values.empty:
        raise AnalyticsError("the indicator table has no values")
    return str(values.max())


def councils(table: pd.DataFrame, areas: Iterable[str] | None = None) -> list[str]:
    """Council codes present in the table (never the pooled consortium), optionally restricted."""
    present = sorted(a for a in check(table)["area"].unique() if a != CONSORTIUM)
    if areas is None:
        return present
    wanted = set(areas)
    return [a for a in present if a in wanted]


def series(table: pd.DataFrame, area: str, indicator: str) -> pd.Series:
    """One area's monthly values of one indicator, by period, nulls left out."""
    rows = check(table)
    rows = rows[(rows["area"] == area) & (rows["indicator"] == indicator)]
    return _as_series(rows)


def _as_series(rows: pd.DataFrame) -> pd.Series:
    out = rows.set_index("period")["value"].astype(float).dropna().sort_index()
    out.index = out.index.astype(str)
    if out.index.has_duplicates:
        raise AnalyticsError(
            f"indicator table has more than one row for a period: {sorted(set(out.index[out.index.duplicated()]))}"
        )
    return out


def all_series(table: pd.DataFrame, indicators: Iterable[str] | None = None) -> dict[tuple[str, str], pd.Series]:
    """Every (area, indicator) series at once: one sort of the table, then plain array slices."""
    rows = check(table)
    if indicators is not None:
        rows = rows[rows["indicator"].isin(list(indicators))]
    if rows.empty:
        return {}
    rows = rows.sort_values(["area", "indicator", "period"])
    area = rows["area"].astype(str).to_numpy(dtype=object)
    indicator = rows["indicator"].astype(str).to_numpy(dtype=object)
    period = rows["period"].astype(str).to_numpy(dtype=object)
    value = rows["value"].to_numpy(dtype=float)
    starts = [0, *(i for i in range(1, len(rows)) if area[i] != area[i - 1] or indicator[i] != indicator[i - 1])]
    out = {}
    for start, stop in zip(starts, [*starts[1:], len(rows)]):
        months = period[start:stop]
        if any(months[i] == months[i - 1] for i in range(1, len(months))):
            raise AnalyticsError(
                f"indicator table has more than one row for {area[start]} {indicator[start]} in a period"
            )
        keep = ~np.isnan(value[start:stop])
        out[(area[start], indicator[start])] = pd.Series(
            value[start:stop][keep], index=pd.Index(months[keep], dtype=object, name="period"), name="value"
        )
    return out


def wide(
    table: pd.DataFrame, indicator: str, column: str = "value", areas: Iterable[str] | None = None
) -> pd.DataFrame:
    """Periods (every calendar month from first to last, gaps as NaN) by council, for one indicator."""
    rows = check(table)
    rows = rows[(rows["indicator"] == indicator) & (rows["area"] != CONSORTIUM)]
    if areas is not None:
        rows = rows[rows["area"].isin(list(areas))]
    if rows.empty:
        return pd.DataFrame(dtype=float)
    grid = rows.pivot_table(index="period", columns="area", values=column, aggfunc="first", dropna=False)
    full = periods.span(str(grid.index.min()), str(grid.index.max()))
    return grid.reindex(full).astype(float)
