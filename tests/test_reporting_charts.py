"""Every chart builder on a small real warehouse: the Vega-Lite spec's data and encodings, the title and the
text alternative; and the callout in place of a chart when there is nothing to draw. At the end each kind is
drawn once (SVG), for its size, the size of its words and the consortium's legend mark."""

from __future__ import annotations

import pandas as pd
import pytest

import reporting_builders as rb
from perfcore import analytics
from perfcore.reporting import charts, report
from vegalite_schema import validated

DUNDEE = "S12000042"


@pytest.fixture(scope="module")
def data(reporting_warehouse):
    return rb.load(reporting_warehouse)


def marks(figure: charts.Figure) -> list[dict]:
    """Every mark of a (possibly layered) chart, each with its encoding; the spec checked against the schema."""

    def walk(spec: dict) -> list[dict]:
        return [m for layer in spec["layer"] for m in walk(layer)] if "layer" in spec else [spec]

    return walk(validated(figure.chart))


def rows(figure: charts.Figure) -> list[dict]:
    """Every row of every data set the chart carries (a data set shared by layers once)."""
    found: dict[int, list[dict]] = {}

    def walk(spec: dict) -> None:
        if "data" in spec:
            found[id(spec["data"])] = spec["data"]["values"]
        for layer in spec.get("layer", []):
            walk(layer)

    walk(figure.chart)
    return [row for dataset in found.values() for row in dataset]


def test_trend_draws_the_council_and_the_consortium_with_labelled_bands(data):
    indicator = data.framework.indicator("new_claims_days")
    figure = charts.trend(report.trend(data, DUNDEE, indicator.id), indicator, "Dundee City", id="trend-x")
    assert figure.title == "New claims, days: Dundee City and the consortium, last 24 months"
    assert figure.alt.startswith(
        "Line chart of New claims, days for Dundee City against the consortium. "
        "Dundee City went from 16.0 days in September 2026 to 12.0 days in October 2026 "
        "(consortium 17.8 days)"
    )
    assert figure.alt.endswith("Green is at most 20, amber 25.")
    line = next(m for m in marks(figure) if m["mark"]["type"] == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == ["Dundee City", "Consortium"]
    assert {r["label"] for r in rows(figure) if "label" in r} == {"Green", "Amber", "Red"}
    assert figure.data.columns.tolist() == ["Month", "Dundee City", "Consortium"] and len(figure.data) == 24
    assert figure.data.iloc[-1].tolist() == ["October 2026", "12.0 days", "17.8 days"]


def test_league_bars_every_member_best_first_with_the_consortium_rule(data):
    indicator = data.framework.indicator("new_claims_days")
    figure = charts.league(
        report.league(data, indicator.id),
        indicator,
        report.value(data, "consortium", indicator.id),
        data.period,
        highlight=DUNDEE,
    )
    assert figure.title == "New claims, days, October 2026: all members"
    assert figure.alt == (
        "Bar chart of New claims, days in October 2026 for 10 councils. Best: Dundee City at 12.0 days; "
        "last: Scottish Borders at 26.0 days. The consortium figure is 17.8 days."
    )
    bars = next(m for m in marks(figure) if m["mark"]["type"] == "bar")
    assert bars["encoding"]["y"]["field"] == "council" and bars["encoding"]["x"]["field"] == "value"
    assert [m["mark"]["type"] for m in marks(figure)] == ["bar", "text", "rule"]
    assert figure.data["Rank"].tolist()[:3] == ["1", "1", "3"]


def test_work_on_hand_bars_by_age_and_kind(data):
    frame = report.work_on_hand_age(data, DUNDEE)
    figure = charts.work_on_hand(frame, "Dundee City", data.period)
    assert figure.title == "Work on hand by age, end of October 2026"
    assert figure.alt == (
        "Bar chart of work on hand at the end of October 2026 for Dundee City: 3 items, of which 1 older than 30 days."
    )
    (bars,) = marks(figure)
    assert (bars["encoding"]["x"]["field"], bars["encoding"]["xOffset"]["field"]) == ("Age", "Kind")
    assert sum(r["Items"] for r in rows(figure)) == 3
    empty = charts.work_on_hand(frame.assign(**{"New claims": 0, "Changes": 0}), "Dundee City", data.period)
    assert empty.chart is None and "nothing to chart by age" in empty.notice


def test_control_chart_marks_special_causes_by_shape(data):
    indicator = data.framework.indicator("new_claims_days")
    values = [10.0, 12.0] * 6 + [30.0]
    series = pd.Series(values, index=[f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"])
    chart = analytics.xmr(
        series,
        better="lower",
        target=20.0,
        settings=report.analytics_settings(data).spc,
        area=DUNDEE,
        indicator=indicator.id,
    )
    figure = charts.control_chart(chart, indicator, "Dundee City")
    assert figure.title == "New claims, days: Dundee City, process control chart"
    assert "Special-cause months: January 2026." in figure.alt and "Variation: special cause concerning" in figure.alt
    points = next(m for m in marks(figure) if m["mark"]["type"] == "point")
    assert points["encoding"]["shape"]["field"] == "point"
    assert figure.data.iloc[-1]["Special cause"] == "beyond limits"
    # its CSV: the values charted, unrounded, with the limits, the unit and the framework version
    download = figure.download
    assert list(download["value"]) == values and list(download["period"]) == list(series.index)
    assert set(download["unit"]) == {"days"} and set(download["framework_version"]) == {data.framework.version}
    assert {"mean", "lower", "upper", "special_cause"} <= set(download.columns)
    not_yet = charts.control_chart(report.spc_for(data, DUNDEE, indicator.id), indicator, "Dundee City")
    assert not_yet.chart is None and "it needs 8 months" in not_yet.notice


def test_funnel_plots_each_council_against_limits(data):
    indicator = data.framework.indicator("new_claims_days")
    figure = charts.funnel(report.funnel_for(data, indicator.id), indicator, report.names(data))
    assert figure.title.startswith("New claims, days: funnel plot, ")
    assert figure.alt.startswith("Funnel plot of New claims, days, ")
    kinds = [m["mark"]["type"] for m in marks(figure)]
    assert kinds == ["line", "line", "point", "text"]
    assert len(figure.data) == 10 and set(figure.data["Council"]) == set(report.names(data).values()) - {"Consortium"}
    # its CSV: each council's pooled figure unrounded, its cases and limits, over the window named
    download = figure.download
    assert len(download) == 10 and "period" not in download and set(download["unit"]) == {"days"}
    assert (download["value"] == indicator.scale * download["numerator"] / download["denominator"]).all()
    assert (download["lower_95"] <= download["upper_95"]).all() and download["last_period"].eq(data.period).all()


def test_correlation_matrix_and_impact(data):
    matrix = pd.DataFrame(
        [[1.0, 0.62], [-0.2, 1.0]],
        index=["new_claims_days", "changes_days"],
        columns=["new_claims_days", "changes_days"],
    )
    figure = charts.correlation_matrix(matrix, report.short_names(data), 1)
    assert figure.title == "How indicators move together, 1 month(s) apart"
    assert "Strongest: New claims, days with New claims, days (r = +1.00)." in figure.alt
    assert [m["mark"]["type"] for m in marks(figure)] == ["rect", "text"]
    assert charts.correlation_matrix(report.NotYet("Too little."), {}, 1).notice == "Too little."

    indicator = data.framework.indicator("new_claims_days")
    own = report.series(data, DUNDEE, indicator.id)
    peers = report.peer_average(data, DUNDEE, indicator.id, ("S12000008", "S12000011"))
    figure = charts.impact(own, indicator, "Dundee City", "2026-10", "Faster claims", peers)
    assert figure.alt == (
        "Line chart of New claims, days for Dundee City before and after 'Faster claims' started in "
        "October 2026: average 16.0 days before, 12.0 days since, with the peer councils' average for comparison."
    )
    assert figure.data.columns.tolist() == ["Month", "Dundee City", "Peer councils (average)"]
    assert figure.data.iloc[-1].tolist() == ["October 2026", "12.0 days", "13.0 days"]


# --- drawn: reading size, palette, legend ---------------------------------------------------------------


def _drawn(data) -> dict[str, str]:
    """Each builder's chart drawn to SVG, as the pages get it."""
    from perfcore.reporting.display import chart_svg

    indicator = data.framework.indicator("new_claims_days")
    own = report.series(data, DUNDEE, indicator.id)
    figures = {
        "trend": charts.trend(report.trend(data, DUNDEE, indicator.id), indicator, "Dundee City"),
        "league": charts.league(
            report.league(data, indicator.id), indicator, report.value(data, "consortium", indicator.id), data.period
        ),
        "work on hand": charts.work_on_hand(report.work_on_hand_age(data, DUNDEE), "Dundee City", data.period),
        "funnel": charts.funnel(report.funnel_for(data, indicator.id), indicator, report.names(data)),
        "impact": charts.impact(own, indicator, "Dundee City", "2026-10", "Faster claims", own),
        "matrix": charts.correlation_matrix(
            pd.DataFrame([[1.0, 0.6], [-0.2, 1.0]], index=["new_claims_days", "changes_days"]).set_axis(
                ["new_claims_days", "changes_days"], axis=1
            ),
            report.short_names(data),
            1,
        ),
    }
    return {name: chart_svg(figure.chart) for name, figure in figures.items()}


@pytest.fixture(scope="module")
def drawn(data):
    return _drawn(data)


def test_charts_are_drawn_for_the_text_column_with_words_at_reading_size(drawn):
    import re

    from perfcore.reporting.display import CHART_TEXT, CHART_WIDTH, svg_size, svg_size_problem

    for name, svg in drawn.items():
        width, _ = svg_size(svg)
        # the page holds each chart to the column and the PDF to its text width: a few pixels either way is
        # scaled, a chart far narrower would have its words blown up, far wider shrunk below reading size
        assert 0.9 * CHART_WIDTH <= width <= 1.03 * CHART_WIDTH, (name, width)
        assert svg_size_problem(svg) is None
        sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)px"', svg)]
        assert sizes and min(sizes) >= CHART_TEXT - 2, (name, sorted(set(sizes)))  # 8 pt or more in the PDF
        axis_labels = re.findall(r'class="mark-text role-axis-label".*?font-size="([\d.]+)px"', svg)
        assert axis_labels and {float(s) for s in axis_labels} == {CHART_TEXT}, name


def test_the_consortium_line_and_its_legend_mark_are_dashed_alike(drawn):
    import re

    from perfcore.reporting.display import OKABE_ITO

    for name in ("trend", "impact"):
        legend = drawn[name][drawn[name].index('aria-roledescription="legend"') :]
        symbols = re.findall(r'<g class="mark-symbol role-legend-symbol"[^>]*><path ([^>]*)/>', legend)
        dashes = [re.search(r'stroke-dasharray="([^"]*)"', s).group(1) for s in symbols]
        strokes = [re.search(r'stroke="([^"]*)"', s).group(1).upper() for s in symbols]
        # a line for each series, the own council's solid and blue, the other's dashed and black, as drawn
        assert dashes == ["1,0", "5,4"] and strokes == [OKABE_ITO["blue"], OKABE_ITO["black"]], (name, symbols)
        assert all("M-" in s and "L" in s for s in symbols)  # short lines, not dots
        lines = re.findall(r'<path [^>]*stroke="#000000"[^>]*stroke-dasharray="5,4"', drawn[name])
        assert len(lines) >= 2  # the dashed line itself, and its legend mark


def test_the_chart_width_is_the_text_column_of_the_page_and_of_the_pdf():
    import re
    from pathlib import Path

    from perfcore.config.site import load_site_config
    from perfcore.render.pandoc import LUA_FILTER, TEMPLATES
    from perfcore.reporting.display import CHART_TEXT, CHART_WIDTH

    css = (TEMPLATES / "assets" / "perfcore.css").read_text(encoding="utf-8")
    assert "p, li { max-width: 44rem; }" in css and re.search(r"figure\.chart img \{[^}]*\bwidth: 44rem;", css)
    assert CHART_WIDTH == 44 * 16  # the column at the browser's default 16 pixels to the rem
    # The PDF draws a chart across its text width (A4 less the side margins, _quarto.yml): its words come out
    # near the body text's size there too.
    assert "width: 100%" in LUA_FILTER.read_text(encoding="utf-8")
    typst = load_site_config(Path(__file__).resolve().parents[1]).typst
    assert (typst.papersize, typst.margin_x, typst.fontsize) == ("a4", "2cm", "10pt")
    text_width_pt = (210 - 2 * 20) / 25.4 * 72
    assert 9.0 <= CHART_TEXT * text_width_pt / CHART_WIDTH <= 10.0


def _measured(spec: dict) -> dict:
    """The spec with every label limit the theme sets, none lifted: Vega measures each label against it."""
    from perfcore.reporting import display

    config = {key: value for key, value in spec["config"].items() if key not in ("axisX", "axisY")}
    config["legend"] = display.chart_config()["legend"]
    return {**spec, "config": config}


def test_lifting_label_limits_draws_the_same_chart(data):
    """Where a chart's labels cannot reach their limit, the limit is lifted (vl-convert measures nothing for it),
    and the chart drawn is the same, byte for byte, as with the limit."""
    from perfcore.reporting.display import chart_svg

    indicator = data.framework.indicator("new_claims_days")
    figures = [
        charts.trend(report.trend(data, "S12000042", indicator.id), indicator, "Dundee City"),
        charts.work_on_hand(report.work_on_hand_age(data, "S12000042"), "Dundee City", data.period),
        charts.league(report.league(data, indicator.id), indicator, None, data.period),
    ]
    lifted = 0
    for figure in figures:
        spec = figure.chart
        lifted += sum(spec["config"].get(key, {}).get("labelLimit") == 0 for key in ("axisX", "axisY", "legend"))
        assert chart_svg(spec) == chart_svg(_measured(spec))
    assert lifted >= 2  # the trend's months and its legend
