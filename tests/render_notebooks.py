"""Synthetic executed notebooks for the render tests: built with nbformat, no kernel, no warehouse.

Outputs come from perfcore.reporting.display's ``*_bundle`` builders, i.e. exactly what
a report notebook's cells publish when papermill runs them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from perfcore.reporting import display

MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
DAYS = [21.4, 20.9, 19.8, 18.7, 19.5, 18.2]
TARGET = [22.0] * 6


def claims_frame():
    import pandas as pd

    return pd.DataFrame({"Month": MONTHS, "Average days": DAYS, "Target (days)": TARGET})


def claims_chart():
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(
        {
            "Month": MONTHS * 2,
            "Days": DAYS + TARGET,
            "Series": ["Dundee City"] * 6 + ["Target"] * 6,
        }
    )
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("Month:O", title="Month"),
            y=alt.Y("Days:Q", title="Average days to decide", scale=alt.Scale(zero=True)),
            color=alt.Color("Series:N", title=None),
            strokeDash=alt.StrokeDash("Series:N", title=None),  # dashes as well as colour
        )
        .properties(width=520, height=220)
    )


def _code(source: str, *outputs) -> nbformat.NotebookNode:
    cell = new_code_cell(source, execution_count=1)
    cell.outputs = list(outputs)
    return cell


def report_notebook(*, with_error: bool = False, chart: bool = True) -> nbformat.NotebookNode:
    """A small monthly report: title, tiles, prose, table, chart with data, callout, noise to drop."""
    import pandas as pd

    tiles = display.tiles_bundle(
        [
            display.Tile(
                "New claims: average days to decide",
                "18.2 days",
                rag="green",
                direction="down",
                improving=True,
                change="down from 19.5 days in September 2026",
                target="Green: 22.0 days or fewer",
            ),
            display.Tile(
                "Changes of circumstances: average days",
                "9.6 days",
                rag="amber",
                direction="up",
                improving=False,
                change="up from 8.9 days in September 2026",
                target="Green: 8.0 days or fewer",
            ),
            display.Tile(
                "Overpayments recovered",
                "61.3%",
                rag="red",
                direction="same",
                improving=None,
                change="same as September 2026",
                target="Green: 70.0% or more",
            ),
            display.Tile(
                "Caseload",
                "16,842",
                rag=None,
                direction="up",
                improving=None,
                change="up from 16,790 in September 2026",
            ),
        ]
    )
    table = display.table_bundle(
        pd.DataFrame(
            {
                "Indicator": ["New claims decided", "Average days (new claims)", "Claims over 50 days | backlog"],
                "October 2026": ["412", "18.2", "7"],
                "September 2026": ["398", "19.5", "11"],
            }
        ),
        "Headline figures, October 2026",
        id="tbl-headline",
    )
    cells = [
        _code("# Parameters\ncouncil = 'S12000042'\nperiod = '2026-10'\n"),
        new_markdown_cell("# Monthly summary: Dundee City, October 2026"),
        _code(
            "import secret_code_should_not_show\nshow.tiles(...)",
            tiles.as_output(),
            new_output("stream", name="stdout", text="debug: loaded 412 rows\n"),
            new_output("stream", name="stderr", text="warning: something noisy\n"),
        ),
        new_markdown_cell("## Speed of processing\n\nNew claims were decided faster than in September."),
        _code("show.table(headline)", table.as_output()),
    ]
    if chart:
        figure, data = display.chart_bundles(
            claims_chart(),
            title="Average days to decide new claims, May to October 2026",
            alt="Line chart: average days to decide new claims fell from 21.4 in May to 18.2 in October, "
            "below the 22-day target every month.",
            data=claims_frame(),
            id="fig-claims",
        )
        cells.append(_code("show.chart(chart, ...)", figure.as_output(), data.as_output()))
    cells += [
        new_markdown_cell("### Notes on the data\n\nFigures for October are provisional."),
        _code(
            "show.callout('warning', ...)",
            display.callout_bundle("warning", "Two returns arrived late; **October** is provisional.").as_output(),
        ),
        _code(
            "#| output: false\nshow.markdown('hidden')", display.markdown_bundle("This must not appear.").as_output()
        ),
        _code("df.head()", new_output("execute_result", data={"text/plain": "   a  b\n0  1  2"}, execution_count=3)),
    ]
    if with_error:
        cells.append(
            _code(
                "1/0",
                new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=["\x1b[31mTraceback\x1b[0m"],
                ),
            )
        )
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_notebook(path: Path, notebook: nbformat.NotebookNode | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook or report_notebook(), str(path))
    return path
