"""The report's data: ``load`` once, then read figures and the warehouse's history from it.

Every other reporting module takes the frozen ``ReportData`` this returns. The
indicator table is computed once in ``load``; the SQL reads of what was
submitted and rejected are here too, so the reporting layer talks to the
warehouse in one module, read-only.

A process that makes many pages (a build's warm kernel, ``build.kernels``)
computes each thing once: ``load`` keeps the indicator table of a warehouse
file and parameters folder for as long as neither changes (``stamp``: their
files' identities, sizes and times), and ``memoised`` keeps what a function
derives from one month of that table (the consortium's alerts, positions,
initiative estimates), keyed by the same stamp and the month. Each page gets
its own shallow copy of the table (pandas copies on write), so a page that
changes its table changes nobody else's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Consortium, Framework

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class NotYet:
    """What a page cannot show yet, and why: returned in place of an analysis that needs more data.

    A new member, or a new consortium, gets a complete page that says so
    (``charts`` draws this as a callout) instead of a page cut off by an exception.
    """

    reason: str  # a sentence for the reader: "Not enough data yet: ... needs 8 months, ... has 3."


@dataclass(frozen=True)
class ReportData:
    consortium: Consortium
    framework: Framework
    table: pd.DataFrame  # indicators.indicator_table
    period: str
    warehouse: Path
    parameters: Path
    status: Any = None  # indicators.MonthStatus of the period: is it complete, or provisional?
    stamp: str = ""  # the warehouse and parameters files' identity (``stamp``): "" means never memoised

    @property
    def provisional(self) -> bool:
        return self.status is not None and not self.status.complete

    def area_name(self, area: str) -> str:
        return self.consortium.area_name(area)

    @property
    def periods(self) -> list[str]:
        """The reporting window: 24 months up to the period."""
        return periods.span(periods.shift(self.period, -23), self.period)


def load(
    period: str | None = None,
    *,
    warehouse: str | Path | None = None,
    parameters: str | Path | None = None,
    today: str | None = None,
) -> ReportData:
    """Everything a report needs, read once from the warehouse (read-only)."""
    from perfcore import settings
    from perfcore import warehouse as wh
    from perfcore.config.parameters import parameters_dir
    from perfcore.warehouse import indicators

    params = parameters_dir(str(parameters) if parameters else None)
    database = wh.warehouse_path(warehouse)
    if not database.exists():
        wh.connect(database, read_only=True)  # raises the one-line "no warehouse yet"
    key = stamp(database, params)
    consortium, framework, table, counts = _read(database, params, key)
    day = settings.today(today)
    if period:
        indicators.check_period(period)
    else:  # the latest complete month (periods.is_complete), not one early extract's month
        period = indicators.default_period(table, framework, counts, consortium, day) or periods.last_complete(day)
    status = indicators.month_status(period, counts, consortium, day)
    return ReportData(consortium, framework, table.copy(deep=False), period, database, params, status, key)


READS_KEPT = 2  # warehouse files (with their parameters) whose indicator tables a process keeps


@functools.lru_cache(maxsize=READS_KEPT)
def _read(database: Path, params: Path, key: str) -> tuple[Consortium, Framework, pd.DataFrame, dict[str, int]]:
    """The parameters and the indicator table: computed once per ``key`` (``stamp``) in a process."""
    from perfcore import warehouse as wh
    from perfcore.config.parameters import load_consortium, load_framework
    from perfcore.warehouse import indicators

    consortium = load_consortium(params)
    framework = load_framework(params / "framework.yaml")
    con = wh.connect(database, read_only=True)
    try:
        table = indicators.compute(con, framework, consortium.codes)
        counts = indicators.extracts_in(con, consortium)
    finally:
        con.close()
    return consortium, framework, table, counts


def stamp(database: Path, params: Path) -> str:
    """What changes when the warehouse (or its write-ahead log) or any parameters file changes."""
    parts = []
    for path in (database, database.with_name(database.name + ".wal"), *sorted(params.glob("*.yaml"))):
        try:
            st = path.stat()
        except OSError:
            parts.append(f"{path}:-")
            continue
        parts.append(f"{path.resolve()}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


T = TypeVar("T")
MEMO_SIZE = 512  # results kept per process (a month of 400 councils' pages needs about 3 per council)
_memo: OrderedDict[tuple, Any] = OrderedDict()


def memoised(function: Callable[..., T]) -> Callable[..., T]:
    """``function(data, *args)`` computed once per (warehouse and parameters stamp, month, args) in a process.

    For functions of the month's data only (not of ``status``). A DataFrame result is handed out as a
    shallow copy (pandas copies on write), so a caller that changes it changes nobody else's; other
    results must be values nobody changes (tuples, frozen dataclasses)."""

    @functools.wraps(function)
    def remembered(data: ReportData, *args: Any) -> T:
        if not data.stamp:
            return function(data, *args)
        key = (function.__module__, function.__qualname__, data.stamp, data.period, args)
        if key in _memo:
            _memo.move_to_end(key)
        else:
            _memo[key] = function(data, *args)
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
        return _own_copy(_memo[key])

    return remembered


def _own_copy(result: Any) -> Any:
    copy = getattr(result, "copy", None)
    return copy(deep=False) if copy is not None and hasattr(result, "columns") else result


_rows_index: OrderedDict[str, dict[tuple[str, str], Any]] = OrderedDict()


def rows(data: ReportData, area: str, indicator_id: str) -> pd.DataFrame:
    """The indicator table's rows for one area and indicator, every month: from an index built once per
    table in a process (pages and the build's plan ask this thousands of times)."""
    if not data.stamp:
        return data.table[(data.table["area"] == area) & (data.table["indicator"] == indicator_id)]
    if data.stamp not in _rows_index:
        _rows_index[data.stamp] = {key: frame for key, frame in data.table.groupby(["area", "indicator"], sort=False)}
        while len(_rows_index) > READS_KEPT:
            _rows_index.popitem(last=False)
    found = _rows_index[data.stamp].get((area, indicator_id))
    return found.copy(deep=False) if found is not None else data.table.iloc[0:0]


# -- figures from the indicator table ------------------------------------------------------------


def clean(x: Any) -> float | None:
    """A figure for a page: None for a missing value (NaN)."""
    from perfcore.warehouse.indicators import none_if_nan

    return none_if_nan(x)


def value(data: ReportData, area: str, indicator_id: str, period: str | None = None) -> float | None:
    if data.stamp:
        return _values(data, period or data.period).get((area, indicator_id))
    found = rows(data, area, indicator_id)
    found = found[found["period"] == (period or data.period)]
    return clean(found["value"].iloc[0]) if len(found) else None


@memoised
def _values(data: ReportData, period: str) -> dict[tuple[str, str], float | None]:
    """{(area, indicator): value} for a month, looked up by every ``value`` of every page (and by the
    landing stories, which compare each month with the one before)."""
    month = data.table[data.table["period"] == period]
    return {
        (area, indicator): clean(figure)
        for area, indicator, figure in zip(month["area"], month["indicator"], month["value"], strict=True)
    }


@memoised
def series(data: ReportData, area: str, indicator_id: str) -> pd.DataFrame:
    """period, value for one area over the reporting window (missing months kept as NaN)."""
    import pandas as pd

    frame = pd.DataFrame({"period": data.periods})
    return frame.merge(rows(data, area, indicator_id)[["period", "value"]], on="period", how="left")


def trend(data: ReportData, area: str, indicator_id: str) -> pd.DataFrame:
    """period, value, consortium: an area's series beside the pooled figure."""
    own = series(data, area, indicator_id)
    pooled = series(data, CONSORTIUM, indicator_id).rename(columns={"value": "consortium"})
    return own.merge(pooled, on="period")


def months_with_data(data: ReportData, area: str, indicator_id: str) -> int:
    return int(rows(data, area, indicator_id)["value"].notna().sum())


def names(data: ReportData) -> dict[str, str]:
    """Area code → name, the consortium included."""
    return {c.code: c.name for c in data.consortium.members} | {CONSORTIUM: data.consortium.short_name}


def short_names(data: ReportData) -> dict[str, str]:
    """Indicator id → its short name."""
    return {i.id: i.short for i in data.framework.indicators}


# -- the warehouse's history: what was submitted, rejected, replaced ----------------------------------


def query(data: ReportData, sql: str, parameters: list) -> pd.DataFrame:
    """One read-only query of the report's warehouse (the build's snapshot)."""
    from perfcore import warehouse

    if os.environ.get(KEEP_OPEN) and data.stamp:  # a build's kernel: the snapshot nobody else writes
        return _open_read_only(data.warehouse, data.stamp).execute(sql, parameters).df()
    shared = _kept.connection(data.warehouse)
    if shared is not None:  # the build's own process, while it works on its snapshot
        return shared.execute(sql, parameters).df()
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        return con.execute(sql, parameters).df()
    finally:
        con.close()


# Set by the build for its warm kernels: they read the build's own snapshot of the warehouse, which no one
# writes, so one connection serves every page. Elsewhere (an analyst's notebook) each read opens and closes
# the warehouse, so an open notebook never holds the lock an ingest needs.
KEEP_OPEN = "PERFCORE_KEEP_WAREHOUSE_OPEN"


class _KeptOpen:
    """Read-only connections to the warehouse files a build holds open (``kept_open``): one per thread, since
    a DuckDB connection serves one thread at a time (the build's landing stories and figures pages are made on
    a thread of their own)."""

    def __init__(self) -> None:
        self.files: set[Path] = set()
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()

    def connection(self, database: Path) -> Any:
        if database not in self.files:
            return None
        mine = self.local.__dict__.setdefault("connections", {})
        if database not in mine:
            from perfcore import warehouse

            mine[database] = warehouse.connect(database, read_only=True)
            with self.lock:
                self.opened.append(mine[database])
        return mine[database]

    def close(self, database: Path) -> None:
        with self.lock:
            self.files.discard(database)
            opened, self.opened = self.opened, []
        for con in opened:
            with contextlib.suppress(Exception):
                con.close()
        self.local = threading.local()


_kept = _KeptOpen()


@contextlib.contextmanager
def kept_open(database: Path) -> Iterator[None]:
    """While the block runs, this process's reads of ``database`` share a connection per thread instead of
    opening the file for each query (about 25 ms each: a month's landing stories make hundreds). Only for a
    file nobody writes meanwhile: the build's own snapshot of the warehouse."""
    _kept.files.add(database)
    try:
        yield
    finally:
        _kept.close(database)


@functools.lru_cache(maxsize=1)
def _open_read_only(database: Path, key: str):
    from perfcore import warehouse

    return warehouse.connect(database, read_only=True)


def work_on_hand_items(data: ReportData, area: str, bands: tuple[tuple[int, int, str], ...]) -> pd.DataFrame:
    """kind, age_band, items: work on hand at month end, aged from received to month end."""
    month_end = periods.last_day(data.period).isoformat()
    cases = " ".join(f"when age between {lo} and {hi} then '{label}'" for lo, hi, label in bands)
    return query(
        data,
        f"""
        select kind, case {cases} end as age_band, count(*) as items
        from (select w.kind, date_diff('day', w.received, date '{month_end}') as age
              from work_items w join current_extracts c using (submission_id)
              where c.authority = ? and c.period = ?)
        group by all
    """,
        [area, data.period],
    )


def submissions(data: ReportData, area: str | None = None, period: str | None = None) -> pd.DataFrame:
    """Submissions (optionally for one council and month), newest first."""
    return query(
        data,
        """
        select id, file_name, kind, authority, period, sequence, outcome, received_at,
               records_loaded, records_rejected, reason
        from submissions
        where (? is null or authority = ?) and (? is null or period = ?)
        order by id desc
    """,
        [area, area, period, period],
    )


def rejections(data: ReportData, area: str | None = None, period: str | None = None) -> pd.DataFrame:
    return query(
        data,
        """
        select r.file_name as file, s.authority, s.period, r.level, r.line, r.ref, r.field, r.reason
        from rejections r join submissions s on s.id = r.submission_id
        where (? is null or s.authority = ?) and (? is null or s.period = ?)
        order by r.submission_id, r.line
    """,
        [area, area, period, period],
    )


def current_returns(data: ReportData, period: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current extracts by authority: sequence, received_at, file_name, records_rejected;
    manual measures held by authority: measures)."""
    extracts = query(
        data,
        """
        select c.authority, c.sequence, s.received_at, s.file_name, s.records_rejected
        from current_extracts c join submissions s on s.id = c.submission_id where c.period = ?
    """,
        [period],
    ).set_index("authority")
    manual = query(
        data,
        "select authority, list(measure) as measures from current_manual where period = ? group by authority",
        [period],
    ).set_index("authority")
    return extracts, manual


def replacements(data: ReportData, first: str, last: str) -> pd.DataFrame:
    """Extracts replaced by a higher Sequence for months ``first`` to ``last``."""
    return query(
        data,
        """
        select r.authority, r.period, old.file_name as replaced, old.sequence as old_seq,
               new.file_name as replacement, new.sequence as new_seq, new.records_loaded - old.records_loaded as change
        from replacements r
        join submissions old on old.id = r.replaced_id join submissions new on new.id = r.replaced_by_id
        where r.period between ? and ? order by r.period, r.authority
    """,
        [first, last],
    )


def rejection_window(data: ReportData, area: str, months: int) -> tuple[str, list]:
    """The SQL condition and parameters for one council's rejections over the last ``months`` months.

    A manual return may carry several councils' rows: its rejected rows belong
    to the council and month their reference names ("S12000042 2026-10 calls_offered").
    """
    first = periods.shift(data.period, 1 - months)
    condition = (
        "((s.authority = ? and s.period between ? and ?) or (s.kind = 'manual' and r.level = 'record' "
        "and split_part(r.ref, ' ', 1) = ? and split_part(r.ref, ' ', 2) between ? and ?))"
    )
    return condition, [area, first, data.period] * 2


def rejection_count(data: ReportData, area: str, months: int = 1) -> int:
    """How many files and records of a council were rejected over the last ``months`` months."""
    where, parameters = rejection_window(data, area, months)
    frame = query(
        data,
        f"select count(*) as n from rejections r join submissions s on s.id = r.submission_id where {where}",
        parameters,
    )
    return int(frame["n"].iloc[0])
