"""What a reader can download: a CSV beside every table and chart, and each month's file per audience.

Tables and charts carry their CSV in the notebook output (``display.table``,
``display.chart``), so the renderer writes it beside the page like a chart's
SVG: the same audience folder, the same freeze. The month's file is written by
the build, without a kernel, from the indicator table the build has already
loaded::

    consortium/<period>/indicators-<period>.csv                  every member and the consortium (aggregates)
    analysts/<period>/indicators-<period>.csv, .parquet          the same, and as Parquet for analysts' tools
    councils/<slug>/<period>/<slug>-indicators-<period>.csv      the council's own figures beside the consortium

Indicator figures are tidy (one row per area, month and indicator) and
unrounded, with the unit and the framework version: the numbers
``perfcore indicators`` prints. Nothing record-level is in a month's file.

Every CSV is written through ``csv_text``: a text cell that a spreadsheet
would run as a formula (starting with = + - @, a tab or a line break) is
prefixed with a quote, and invisible controls are dropped, so hostile refs,
file names and commentary open as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from perfcore import files, periods
from perfcore.config.parameters import CONSORTIUM

if TYPE_CHECKING:
    import pandas as pd

    from perfcore.reporting.data import ReportData

# What makes Excel, LibreOffice and Sheets read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# C0/C1 controls (but tab and line breaks, which CSV quoting carries) and bidi overrides/isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

TIDY_COLUMNS = (
    "area",
    "area_name",
    "period",
    "indicator",
    "indicator_name",
    "value",
    "unit",
    "numerator",
    "denominator",
    "framework_version",
)


def csv_cell(value: object) -> object:
    """A cell safe in a spreadsheet: text that would run as a formula gets a leading quote."""
    if not isinstance(value, str):
        return value
    value = _CONTROLS.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV (RFC 4180: header row, CRLF; no index, an index that means something becomes columns).

    Numbers keep every digit (Python's shortest round-trip form), so a value
    read back is the value computed; a missing value is an empty cell.

    Written cell by cell with the csv module when every column is a plain type (floats, integers, booleans,
    text): the same bytes as pandas' ``to_csv`` of ``safe_frame`` (tests/test_downloads.py compares them), at a
    fraction of its cost for the small tables pages are made of; pandas writes any other frame."""
    import pandas as pd

    frame = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    columns = [_plain_cells(frame.iloc[:, position]) for position in range(frame.shape[1])]
    if not columns or isinstance(frame.columns, pd.MultiIndex) or any(cells is None for cells in columns):
        return _csv(safe_frame(frame))
    return _write_rows([csv_cell(str(c)) for c in frame.columns], zip(*columns, strict=True))


def records_csv(records: list[dict]) -> str:
    """``csv_text(pandas.DataFrame(records))``: the same bytes, without making the frame when every value is
    None, a bool, an int, a float or text (a figures page writes thousands of small tables)."""
    names = list(dict.fromkeys(key for record in records for key in record))
    columns = [_inferred_cells([record.get(name) for record in records]) for name in names]
    if not names or any(cells is None for cells in columns):
        import pandas as pd

        return csv_text(pd.DataFrame(records))
    return _write_rows([csv_cell(str(name)) for name in names], zip(*columns, strict=True))


def _write_rows(header: list, rows: Iterable[tuple]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # pandas' dialect: minimal quoting, '"' doubled
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _plain_cells(column: pd.Series) -> list | None:
    """The column's cells as ``to_csv`` writes them, or None for a dtype left to pandas."""
    import numpy as np

    dtype = column.dtype
    if str(dtype) == "str":  # pandas' text: str, or NaN for a missing value
        return _text_cells(column.tolist())
    if not isinstance(dtype, np.dtype):  # pandas' own types (nullable integers, categories, ...)
        return None
    if dtype.kind == "f" and dtype.itemsize == 8:
        return [_float_cell(v) for v in column.tolist()]
    if dtype.kind in "iub":
        return [str(v) for v in column.tolist()]
    if dtype.kind == "O":
        return _text_cells(column.tolist())
    return None


def _float_cell(value: float) -> str:
    return "" if value != value else repr(value)  # NaN is a missing value: an empty cell


def _text_cells(values: list) -> list | None:
    """An object or text column's cells: text made safe, missing values empty, plain numbers as pandas
    writes them; None when a value is of another kind (a date, a numpy scalar: pandas decides)."""
    cells = []
    for value in values:
        if value is None or (type(value) is float and value != value):
            cells.append("")
        elif type(value) is str:
            cells.append(csv_cell(value))
        elif type(value) in (int, float, bool):
            cells.append(repr(value))
        else:
            return None
    return cells


def _inferred_cells(values: list) -> list | None:
    """A column of plain Python values as pandas would type it (a ``DataFrame`` of records), then written."""
    kinds = {type(v) for v in values if v is not None and not (type(v) is float and v != v)}
    missing = any(v is None or (type(v) is float and v != v) for v in values)
    if kinds and kinds <= {int} and not missing:
        return [str(v) for v in values]
    if kinds and kinds <= {int, float}:  # integers with a gap are floats in pandas: 3 is written "3.0"
        return [_float_cell(float("nan") if v is None else float(v)) for v in values]
    if kinds == {bool} and not missing:
        return [str(v) for v in values]
    if kinds <= {str, bool, int, float}:
        return _text_cells(values)
    return None


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame whose text cells and column names are ``csv_cell``-safe."""
    import pandas as pd

    frame = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    safe = frame.copy()
    safe.columns = [csv_cell(str(c)) for c in frame.columns]
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            safe.isetitem(position, column.map(csv_cell))
    return safe


def _csv(safe: pd.DataFrame) -> str:
    # RFC 4180's CRLF: the writer quotes a cell holding either character, so a lone CR stays inside its cell
    return safe.to_csv(index=False, lineterminator="\r\n")


def indicator_rows(
    data: ReportData,
    *,
    areas: Iterable[str] | None = None,
    indicator_ids: Iterable[str] | None = None,
    months: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The indicator table's rows, tidy and unrounded, with names and units (``TIDY_COLUMNS``).

    Default: every area (members in consortium order, then the consortium) and
    every indicator for the report's month. Rows follow the areas, then the
    framework's order of indicators."""
    import pandas as pd

    areas = list(areas) if areas is not None else [*data.consortium.codes, CONSORTIUM]
    ids = list(indicator_ids) if indicator_ids is not None else list(data.framework.ids)
    months = list(months) if months is not None else [data.period]
    table = data.table
    rows = table[table["area"].isin(areas) & table["indicator"].isin(ids) & table["period"].isin(months)].copy()
    rows["_area"] = rows["area"].map({a: n for n, a in enumerate(areas)})
    rows["_indicator"] = rows["indicator"].map({i: n for n, i in enumerate(ids)})
    rows = rows.sort_values(["_area", "period", "_indicator"])
    framework = data.framework
    rows["area_name"] = rows["area"].map(data.area_name)
    rows["indicator_name"] = rows["indicator"].map(lambda i: framework.indicator(i).name)
    rows["unit"] = rows["indicator"].map(lambda i: framework.indicator(i).unit)
    return pd.DataFrame(rows[list(TIDY_COLUMNS)]).reset_index(drop=True)


# -- the month's files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFile:
    """One download of a month, ``path`` from the site's root (inside its audience's folder)."""

    path: PurePosixPath
    content: bytes


def month_file_stem(period: str, council_slug: str | None = None) -> str:
    """'indicators-2026-10', or 'dundee-city-indicators-2026-10': a name that says what it is once downloaded."""
    return f"{council_slug}-indicators-{period}" if council_slug else f"indicators-{period}"


def month_file_paths(data: ReportData) -> list[PurePosixPath]:
    """Where the month's files go, from the site's root: the consortium's CSV, the analysts' CSV and
    Parquet, then each member's CSV in consortium order."""
    stem = month_file_stem(data.period)
    paths = [
        PurePosixPath("consortium") / data.period / f"{stem}.csv",
        PurePosixPath("analysts") / data.period / f"{stem}.csv",
        PurePosixPath("analysts") / data.period / f"{stem}.parquet",
    ]
    for council in data.consortium.members:
        name = f"{month_file_stem(data.period, council.slug)}.csv"
        paths.append(PurePosixPath("councils") / council.slug / data.period / name)
    return paths


def month_files(data: ReportData) -> tuple[MonthFile, ...]:
    """Each audience's file for the month: aggregates for the consortium and analysts, a council's own for it."""
    import pandas as pd

    every = indicator_rows(data)
    safe = safe_frame(every)  # made safe once: each council's file is a slice of it
    everything = _csv(safe).encode("utf-8")
    contents = [everything, everything, parquet_bytes(every)]
    by_area = dict(tuple(safe.groupby("area", sort=False)))  # the month's rows, filtered once for all councils
    pooled = by_area.get(CONSORTIUM, safe.iloc[:0])
    for council in data.consortium.members:
        own = pd.concat([by_area.get(council.code, safe.iloc[:0]), pooled], ignore_index=True)
        contents.append(_csv(own).encode("utf-8"))
    return tuple(MonthFile(path, content) for path, content in zip(month_file_paths(data), contents, strict=True))


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet (pyarrow), without pandas' index: the same bytes for the same rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def write_month_files(data: ReportData, site: Path) -> list[Path]:
    """Write the month's files into the site; a file whose bytes are unchanged is left alone (freeze)."""
    written = []
    for month_file in month_files(data):
        if files.write_if_changed(site / month_file.path, month_file.content):
            written.append(site / month_file.path)
    return written


def month_files_written(data: ReportData, site: Path) -> bool:
    """Whether every one of the month's files is on disk (a build that changed nothing need not remake them)."""
    return all((site / path).is_file() for path in month_file_paths(data))


def month_file_title(path: Path, audience_label: str, period: str) -> str:
    """What a month's file holds, in words, for its link and the search index."""
    kind = "Parquet" if path.suffix == ".parquet" else "CSV"
    shared = path.name.startswith("indicators-")
    whose = "every member and the consortium" if shared else f"{audience_label} and the consortium"
    return f"Every indicator for {whose}, {periods.label(period)} ({kind})"
