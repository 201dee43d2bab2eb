"""The Vega-Lite dicts the report charts are made of: data sanitised as Altair sanitises it, one theme for the
builders' dicts and for Altair charts, and specs Vega-Lite's schema accepts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from perfcore.reporting import display
from perfcore.reporting import vegalite as vl
from vegalite_schema import validated


def _awkward() -> pd.DataFrame:
    """A column of every kind a chart's data may hold, each with a missing value."""
    return pd.DataFrame(
        {
            "text": ["Dundee City", None, '<script>"; drop'],
            "float": [1.5, float("nan"), math.inf],
            "int": np.array([1, 2, 3], dtype="int64"),
            "bool": [True, False, True],
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "category": pd.Categorical(["a", None, "b"]),
            "objects": [1, float("nan"), "x"],
            "when": pd.to_datetime(["2026-10-01 00:00", None, "2026-10-31 12:30"]),
        }
    )


def test_records_are_what_altair_sends_to_vega_lite():
    from altair.utils.data import to_values

    frame = _awkward()
    rows = vl.records(frame)
    assert rows == to_values(frame)["values"]
    assert rows[1] == {
        "text": None,
        "float": None,
        "int": 2,
        "bool": False,
        "nullable": None,
        "category": None,
        "objects": None,
        "when": "",
    }
    assert rows[2]["float"] is None and rows[2]["when"] == "2026-10-31T12:30:00"
    # numbers are Python's own (vl-convert reads no numpy scalar), floats stay floats
    assert [type(rows[0][c]) for c in ("float", "int", "bool", "nullable")] == [float, int, bool, int]
    assert vl.data(frame.iloc[0:0]) == {"values": []}


def test_the_builders_and_altair_charts_share_one_theme():
    import altair as alt

    display.register_altair_theme()
    with alt.theme.enable("perfcore"):
        altair_config = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").to_dict()["config"]
    spec = vl.chart(vl.unit(vl.data(pd.DataFrame({"x": [1]})), vl.mark("point"), x=vl.field("x", "quantitative")))
    assert spec["config"] == altair_config == display.chart_config() == display.altair_theme()["config"]
    assert spec["config"] is not vl.chart(spec)["config"]  # each chart its own: changing one changes no other


def test_a_layer_shares_the_data_its_layers_share_and_keys_are_written_as_altair_writes_them():
    rows = vl.data(pd.DataFrame({"x": [1, 2], "y": [3.0, 4.0]}))
    line = vl.unit(rows, vl.mark("line", strokeWidth=2, color="#000000"), y=vl.field("y", "quantitative"))
    dots = vl.unit(rows, vl.mark("point"), x=vl.field("x", "quantitative", scale={"zero": False, "nice": False}))
    shared = vl.layer(line, dots)
    assert shared["data"] is rows and all("data" not in layer for layer in shared["layer"])
    apart = vl.layer(line, vl.unit(vl.data(pd.DataFrame({"x": [1]})), vl.mark("rule"), x=vl.field("x", "quantitative")))
    assert "data" not in apart and all("data" in layer for layer in apart["layer"])
    assert list(line["mark"]) == ["type", "color", "strokeWidth"]
    assert list(dots["encoding"]["x"]) == ["field", "scale", "type"] and list(dots["encoding"]["x"]["scale"]) == [
        "nice",
        "zero",
    ]
    spec = vl.chart(shared, width=300, height=200)
    assert list(spec) == ["config", "layer", "data", "height", "width", "$schema"]
    assert spec["$schema"] == __import__("altair").SCHEMA_URL
    validated(spec)


def test_a_label_that_could_reach_its_limit_keeps_it():
    long_name = "The Highland and Islands Council of a Very Long Name Indeed"  # 58 characters: ~600 pixels
    rows = vl.data(pd.DataFrame({"month": ["Oct 26"], "series": [long_name], "v": [1.0]}))
    colour = vl.field("series", "nominal", scale={"domain": [long_name, "Consortium"]})
    spec = vl.chart(vl.unit(rows, vl.mark("line"), x=vl.field("month", "nominal", sort=["Oct 26"]), color=colour))
    assert spec["config"]["axisX"]["labelLimit"] == 0  # "Oct 26" cannot be cut
    assert spec["config"]["legend"]["labelLimit"] == display.chart_config()["legend"]["labelLimit"]  # kept
    foreign = vl.chart(vl.unit(rows, vl.mark("line"), x=vl.field("month", "nominal", sort=["Октябрь"])))
    assert "axisX" not in foreign["config"]  # beyond Latin-1 no width is assumed: measured as before
    unknown = vl.chart(vl.unit(rows, vl.mark("line"), x=vl.field("month", "nominal", sort=["Sep 26"])))
    assert "axisX" not in unknown["config"]  # the data holds a month the sort list does not: not known
