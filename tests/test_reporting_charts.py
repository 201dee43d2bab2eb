"""Every chart builder on a small real warehouse: the Vega-Lite spec's data and encodings, the title and the
text alternative; and the callout in place of a chart when there is nothing to draw. No SVG is drawn here."""

from __future__ import annotations

import pandas as pd
import pytest

import reporting_builders as rb
from perfcore import analytics
from perfcore.reporting import charts, report

DUNDEE = "S12000042"


@pytest.fixture(scope="module")
def data(reporting_warehouse):
    return rb.load(reporting_warehouse)


def marks(figure: charts.Figure) -> list[dict]:
    """Every mark of a (possibly layered) chart, each with its encoding."""

    def walk(spec: dict) -> list[dict]:
        return [m for layer in spec["layer"] for m in walk(layer)] if "layer" in spec else [spec]

    return walk(figure.chart.to_dict())


def rows(figure: charts.Figure) -> list[dict]:
    """Every row of every data set the chart carries."""
    return [row for dataset in figure.chart.to_dict()["datasets"].values() for row in dataset]


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
