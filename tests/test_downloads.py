"""Downloads: every CSV parses, and its numbers are the numbers ``perfcore indicators`` prints.

One test per kind of download (a table's CSV, a chart's CSV, the month's CSV and
its Parquet), on reporting_builders' small real warehouse, rendered through the
same code a build runs (``display``'s bundles → ``render.notebook``); hostile
text in a cell is neutralised; each month file sits in its audience's folder and
is linked and searchable there (``render.site``). The demo site's end-to-end
check is the slow test at the end.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import reporting_builders as rb
from perfcore.config.parameters import CONSORTIUM
from perfcore.render.notebook import notebook_to_markdown
from perfcore.reporting import charts, display, downloads, report

DUNDEE = "S12000042"


@pytest.fixture(scope="module")
def data(reporting_warehouse):
    return rb.load(reporting_warehouse)


@pytest.fixture(scope="module")
def printed(reporting_warehouse):
    """``perfcore indicators --format json`` for an area and month, run in this process."""
    from contextlib import redirect_stdout

    from perfcore.cli import main

    seen: dict[tuple[str, str], dict[str, float | None]] = {}

    def values(area: str, period: str = rb.PERIOD) -> dict[str, float | None]:
        if (area, period) not in seen:
            out = io.StringIO()
            with redirect_stdout(out):
                status = main(
                    [
                        "indicators",
                        "--warehouse",
                        str(reporting_warehouse),
                        "--parameters",
                        str(rb.ROOT / "parameters"),
                        "--council",
                        area,
                        "--period",
                        period,
                        "--format",
                        "json",
                    ]
                )
            assert status == 0
            seen[(area, period)] = json.loads(out.getvalue())
        return seen[(area, period)]

    return values


def _rendered(*bundles: display.Bundle):
    """What render_page writes beside a page for these outputs: the markdown and the assets by name."""
    outputs = [b.as_output() for b in bundles]
    cell = new_code_cell("show.table(...)")
    cell.outputs = outputs
    result = notebook_to_markdown(new_notebook(cells=[cell]), assets_prefix="page_files")
    return result.markdown, {a.name: a.content.decode("utf-8") for a in result.assets}


def _rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows, "the CSV has no rows"
    return rows


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None and (b is None or math.isnan(b))
    return a == b  # unrounded: the same number to the last bit


def _check_tidy(rows: list[dict[str, str]], data, printed) -> int:
    """Every row's value is what ``perfcore indicators`` prints for its area, month and indicator."""
    for row in rows:
        assert _same(_number(row["value"]), printed(row["area"], row["period"])[row["indicator"]]), row
        indicator = data.framework.indicator(row["indicator"])
        assert row["unit"] == indicator.unit and row["framework_version"] == data.framework.version
    return len(rows)


def test_a_tables_csv_holds_its_figures_unrounded_and_tidy(data, printed):
    ids = data.framework.ids[:3]
    shown = report.benchmark_table(data, ids)
    bundle = display.table_bundle(shown, "Benchmarks", id="benchmark", download=report.benchmark_data(data, ids))
    markdown, assets = _rendered(bundle)
    assert 'data-csv="page_files/table-01-benchmark.csv" data-title="Benchmarks"' in markdown
    rows = _rows(assets["table-01-benchmark.csv"])
    table = data.table
    assert _check_tidy(rows, data, printed) == len(
        table[(table["period"] == data.period) & table["indicator"].isin(ids)]
    )
    days = [r for r in rows if r["indicator"] == "new_claims_days"]
    # the page shows one decimal; the CSV every digit, with the status and the library's rank
    assert {r["area"] for r in days} == {*data.consortium.codes, CONSORTIUM}
    assert next(r for r in days if r["area"] == DUNDEE)["rank"] == "1"
    assert all(r["status"] in ("green", "amber", "red", "") for r in rows)


def test_the_council_pages_position_table_and_best_performers_are_tidy_too(data, printed):
    others = report.from_other_councils(data, DUNDEE)
    rows = _rows(downloads.csv_text(report.position_data(data, DUNDEE, others.positions)))
    assert {r["area"] for r in rows} == {DUNDEE}  # the council's own figures; the consortium's beside them
    _check_tidy(rows, data, printed)
    for row in rows:
        assert _same(_number(row["consortium_value"]), printed(CONSORTIUM)[row["indicator"]])
    best = _rows(downloads.csv_text(report.best_performers_data(data)))
    _check_tidy(best, data, printed)
    assert {r["area"] for r in best if r["indicator"] == "new_claims_days"} == {DUNDEE, CONSORTIUM}


def test_a_table_without_tidy_figures_downloads_its_own_columns_whole(data):
    long = "x" * (display.TEXT_LIMIT + 50)
    shown = pd.DataFrame({"File": [long], "Records": [3]})
    _, assets = _rendered(display.table_bundle(shown, "Files received", id="files"))
    assert _rows(assets["table-01-files.csv"]) == [{"File": long, "Records": "3"}]  # the page cuts it; the CSV not


def test_a_charts_csv_holds_the_plotted_figures_unrounded(data, printed):
    others = report.from_other_councils(data, DUNDEE)
    indicator = data.framework.indicator("new_claims_days")
    figure = charts.trend(others.trend(data, indicator.id), indicator, "Dundee City", id="trend")
    _, assets = _rendered(
        *display.chart_bundles(
            figure.chart, title=figure.title, alt=figure.alt, data=figure.data, id=figure.id, download=figure.download
        )
    )
    rows = [r for r in _rows(assets["chart-01.csv"]) if r["value"] != ""]
    assert {r["area_name"] for r in rows} == {"Dundee City", "Consortium"} and len(rows) == 4  # two months each
    for row in rows:
        area = DUNDEE if row["area_name"] == "Dundee City" else CONSORTIUM
        assert _same(_number(row["value"]), printed(area, row["period"])[indicator.id]), row
        assert row["unit"] == "days" and row["framework_version"] == data.framework.version
    league = charts.league(
        report.league(data, indicator.id),
        indicator,
        report.value(data, CONSORTIUM, indicator.id),
        data.period,
        id="league",
    )
    rows = _rows(downloads.csv_text(league.download))
    assert len(rows) == len(data.consortium.members) + 1
    _check_tidy([r for r in rows if r["value"]], data, printed)


def test_the_months_files_hold_every_figure_each_in_its_audiences_folder(data, printed):
    files = {f.path.as_posix(): f.content for f in downloads.month_files(data)}
    shared = f"consortium/{rb.PERIOD}/indicators-{rb.PERIOD}.csv"
    rows = _rows(files[shared].decode("utf-8"))
    assert _check_tidy(rows, data, printed) == len(data.table[data.table["period"] == rb.PERIOD])
    assert files[f"analysts/{rb.PERIOD}/indicators-{rb.PERIOD}.csv"] == files[shared]
    for council in data.consortium.members:
        path = f"councils/{council.slug}/{rb.PERIOD}/{council.slug}-indicators-{rb.PERIOD}.csv"
        own = _rows(files[path].decode("utf-8"))
        assert {r["area"] for r in own} == {council.code, CONSORTIUM}  # nothing of another council
        _check_tidy(own, data, printed)
    assert all(p.startswith(("consortium/", "analysts/", "councils/")) for p in files)
    assert not any("record" in p or "rejection" in p for p in files)


def test_the_analysts_parquet_holds_the_same_figures(data, printed, tmp_path):
    import pyarrow.parquet as pq

    files = {f.path.as_posix(): f.content for f in downloads.month_files(data)}
    path = tmp_path / "month.parquet"
    path.write_bytes(files[f"analysts/{rb.PERIOD}/indicators-{rb.PERIOD}.parquet"])
    frame = pq.read_table(path).to_pandas()
    assert list(frame.columns) == list(downloads.TIDY_COLUMNS)
    for row in frame.itertuples(index=False):
        value = None if pd.isna(row.value) else float(row.value)
        assert _same(value, printed(row.area, row.period)[row.indicator]), row
    # the same rows as the CSV, read back by DuckDB too (what an analyst would use)
    import duckdb

    counted = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    assert counted == len(_rows(files[f"analysts/{rb.PERIOD}/indicators-{rb.PERIOD}.csv"].decode("utf-8")))


def test_month_files_are_rewritten_only_when_their_bytes_change(data, tmp_path):
    first = downloads.write_month_files(data, tmp_path)
    assert len(first) == 3 + len(data.consortium.members)
    assert downloads.write_month_files(data, tmp_path) == []  # the same bytes, Parquet included: nothing written


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", 'a "quoted",\nline'],
)
def test_hostile_text_in_a_cell_is_neutralised_and_stays_valid_csv(hostile):
    shown = pd.DataFrame({"Ref": [hostile], hostile: [-1.5]})
    _, assets = _rendered(display.table_bundle(shown, "Rejections", id="rejections"))
    text = assets["table-01-rejections.csv"]
    [row] = list(csv.reader(io.StringIO(text, newline="")))[1:]
    header = next(csv.reader(io.StringIO(text, newline="")))
    for cell in (row[0], header[1]):
        assert not cell.startswith(downloads.FORMULA_START), cell  # a spreadsheet shows it as text
        assert cell == ("'" if hostile[0] in "=+-@\t\r" else "") + hostile  # the text itself is kept
    assert row[1] == "-1.5"  # a number stays a number


def test_bidi_and_control_characters_are_dropped_from_cells():
    assert downloads.csv_cell("ref\u202eexe.txt\x00") == "refexe.txt"


def test_the_month_index_links_the_files_and_each_audiences_search_lists_its_own(data, tmp_path):
    from bs4 import BeautifulSoup

    from perfcore.render import build_site, load_site_config, page_context, page_paths, render_page
    from render_notebooks import report_notebook, write_notebook

    config = load_site_config(rb.ROOT)
    notebook = write_notebook(tmp_path / "page.ipynb", report_notebook())
    site, dundee = tmp_path / "site", data.consortium.council(DUNDEE)
    contexts = [
        page_context(config, audience="consortium", period=rb.PERIOD, report="benchmarks", report_title="Benchmarks"),
        page_context(config, audience="analysts", period=rb.PERIOD, report="analytics", report_title="Analytics"),
        page_context(
            config,
            audience="council",
            period=rb.PERIOD,
            report="report",
            report_title="Monthly report",
            council_name=dundee.name,
            council_slug=dundee.slug,
        ),
    ]
    pages = []
    for context in contexts:
        out_html, _ = page_paths(site, context)
        pages.append(render_page(notebook, out_html=out_html, out_pdf=None, context=context, config=config))
    downloads.write_month_files(data, site)
    build_site(pages, config, site)

    index = BeautifulSoup((site / "councils" / dundee.slug / rb.PERIOD / "index.html").read_text(), "html.parser")
    link = index.find("a", href=f"{dundee.slug}-indicators-{rb.PERIOD}.csv")
    assert link is not None and link.has_attr("download")
    assert link.get_text() == f"Every indicator for {dundee.name} and the consortium, October 2026 (CSV)"
    searched = {
        folder: [e["url"] for e in json.loads((site / folder / "search.json").read_text()) if e["report"] == ""]
        for folder in ("consortium", "analysts", f"councils/{dundee.slug}")
    }
    assert searched == {
        "consortium": [f"consortium/{rb.PERIOD}/indicators-{rb.PERIOD}.csv"],
        "analysts": [
            f"analysts/{rb.PERIOD}/indicators-{rb.PERIOD}.csv",
            f"analysts/{rb.PERIOD}/indicators-{rb.PERIOD}.parquet",
        ],
        f"councils/{dundee.slug}": [f"councils/{dundee.slug}/{rb.PERIOD}/{dundee.slug}-indicators-{rb.PERIOD}.csv"],
    }
    # the page's own table gets its download link, named after the table for a screen reader
    page = BeautifulSoup(pages[0].html.read_text(), "html.parser")
    table_link = page.select_one(".table-download a")
    assert table_link.get_text(" ", strip=True).startswith("Download this table (CSV)")
    assert (pages[0].html.parent / table_link["href"]).is_file()


def _pandas_csv(frame):
    return downloads._csv(downloads.safe_frame(frame))


def _frames():
    import numpy as np
    import pandas as pd

    hostile = ["=cmd()", "+1", "-2", "@a", "\tx", "a,b", 'say "hi"', "line\nbreak", "cr\rx", "\u202eevil", None, ""]
    yield pd.DataFrame({"text": hostile, "n": range(len(hostile))})
    yield pd.DataFrame({"f": [0.1, 1 / 3, 1e-05, 1e16, 123456789.0, -0.0, float("nan"), 2.0, float("inf"), 7e22]})
    yield pd.DataFrame({"i": [1, -2, 3], "b": [True, False, True], "u": np.array([1, 2, 3], dtype="uint8")})
    yield pd.DataFrame({"mixed": ["x", 1, 2.5, True, None, float("nan")]}, dtype=object)
    yield pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=str)})
    yield pd.DataFrame({"v": [1.5, 2.5]}, index=pd.Index(["x", "y"], name="area"))
    yield pd.DataFrame({3: [1], "=x": [2]})
    yield pd.DataFrame({"d": pd.to_datetime(["2026-10-01", None]), "c": pd.Categorical(["a", "b"])})
    yield pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "f32": np.array([0.1, 0.2], dtype="float32")})
    yield pd.DataFrame({"rank": pd.array([None, 2], dtype="Int64"), "share": pd.array([0.5, None], dtype="Float64")})


def test_the_csv_writer_gives_pandas_bytes_for_every_kind_of_column():
    for frame in _frames():
        assert downloads.csv_text(frame) == _pandas_csv(frame), frame.dtypes
        for name in frame.columns:  # each column alone too: one column left to pandas sends its whole frame there
            assert downloads.csv_text(frame[[name]]) == _pandas_csv(frame[[name]]), frame[name].dtype


def test_records_give_the_bytes_of_their_data_frame():
    import pandas as pd

    cases = [
        [{"a": 1, "b": "x"}, {"a": 2, "b": None}],
        [{"a": 1, "b": None}, {"c": 2.5, "a": None}],  # a gap makes integers floats: 1.0
        [{"flag": True}, {"flag": None}],
        [{"flag": True}, {"flag": False}],
        [{"n": 1}, {"n": 2.25}],
        [{"v": None}, {"v": None}],
        [{"text": "=SUM(A1)", "sha": "-abc", "n": 10**20}],
        [{"x": 1, "y": "two"}, {"x": "1", "y": 2}],
        [],
    ]
    for records in cases:
        assert downloads.records_csv(records) == downloads.csv_text(pd.DataFrame(records)), records
