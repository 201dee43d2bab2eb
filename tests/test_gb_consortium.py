"""A consortium across Great Britain: real English and Welsh councils in the demo, peer groups by country and
size for any membership, and funnel and league charts that stay readable with 27 and 400 members."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from perfcore.analytics.benchmark import funnel
from perfcore.analytics.synthetic import council_codes, series_rows, with_consortium
from perfcore.config.parameters import GSS_CODE, load_consortium, load_framework
from perfcore.config.peer_groups import derived_groups, load_peer_groups
from perfcore.config.thresholds import load_settings
from perfcore.demo import write_consortium_yaml, write_demo_data
from perfcore.demo.councils import COUNCIL_TYPES, SYSTEMS, TABLE, council_type
from perfcore.demo.plan import make_plan
from perfcore.reporting import charts
from perfcore.reporting.display import MAX_CHART_PIXELS, chart_svg, svg_size
from vegalite_schema import validated

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "parameters"
CONSORTIUM = load_consortium(PARAMETERS)
FRAMEWORK = load_framework(PARAMETERS / "framework.yaml")
SETTINGS = load_settings(PARAMETERS)
TODAY = date(2026, 11, 20)


def plan_councils(count: int, seed: int = 2026):
    plan = make_plan(Path("unused"), CONSORTIUM, seed, count, 1, None, TODAY, PARAMETERS / "initiatives.yaml")
    return plan.councils, plan.extra_councils


# --------------------------------------------------------------------------- the demo's councils


def test_the_table_holds_real_hb_councils_of_england_and_wales_with_unique_codes_and_names():
    codes = [row.code for row in TABLE]
    assert len(set(codes)) == len(codes) and len({row.name for row in TABLE}) == len(TABLE)
    assert all(GSS_CODE.match(code) for code in codes)
    assert {code[:3] for code in codes} == {"E06", "E07", "E08", "E09", "W06"}
    assert not set(codes) & set(CONSORTIUM.codes)
    known = {row.code: row.name for row in TABLE}
    assert known["E06000001"] == "Hartlepool" and known["E08000025"] == "Birmingham"
    assert known["E09000033"] == "Westminster" and known["W06000015"] == "Cardiff"
    assert (
        council_type("E07000178") == "English district council" and council_type("S12000042") in COUNCIL_TYPES.values()
    )


def test_27_councils_are_the_ten_members_then_real_english_and_welsh_ones_whatever_the_seed():
    councils, extras = plan_councils(27)
    assert councils[:10] == CONSORTIUM.members and len(councils) == 27 and extras == councils[10:]
    assert [c.code for c in extras] == [row.code for row in TABLE[:17]]
    assert {c.country for c in extras} == {"England", "Wales"}
    assert {c.code[:3] for c in extras} == {"E06", "E07", "E08", "E09", "W06"}
    assert all((c.supplier, c.system) in SYSTEMS for c in extras)
    assert all(c.updaters and c.updaters[0].endswith(".example.org") for c in extras)
    assert plan_councils(27, seed=7)[1] == extras
    assert plan_councils(10)[1] == () and plan_councils(4)[0] == CONSORTIUM.members[:4]


def test_beyond_the_table_councils_are_invented_and_say_so():
    wanted = 10 + len(TABLE) + 3
    councils, extras = plan_councils(wanted)
    made = extras[len(TABLE) :]
    assert len(councils) == wanted == len({c.code for c in councils})
    assert [c.name for c in made] == [f"Demo Council {10 + len(TABLE) + n} (invented)" for n in (1, 2, 3)]
    assert all(c.code.startswith("E069") and GSS_CODE.match(c.code) for c in made)
    assert not {c.code for c in made} & {row.code for row in TABLE}


def test_a_27_council_demo_writes_a_parameters_folder_with_peer_groups_by_country_and_size(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("framework.yaml", "initiatives.yaml", "thresholds.yaml", "consortium.yaml"):
        (mine / name).write_bytes((PARAMETERS / name).read_bytes())
    shipped = yaml.safe_load((PARAMETERS / "peer_groups.yaml").read_text(encoding="utf-8"))
    shipped["groups"]["borders"] = {"name": "Border councils", "members": ["S12000026"]}
    (mine / "peer_groups.yaml").write_text(yaml.safe_dump(shipped), encoding="utf-8")

    summary = write_demo_data(tmp_path / "out", consortium=CONSORTIUM, councils=27, months=1, today=TODAY)
    folder = write_consortium_yaml(summary, tmp_path / "parameters", copy_from=mine).parent
    consortium = load_consortium(folder)
    groups = load_peer_groups(folder)  # every code checked against the enlarged consortium.yaml
    assert len(consortium.codes) == 27
    assert groups.ids == ("consortium", "scotland", "england", "wales", "large", "small", "borders")
    countries = [set(groups.group(g).members) for g in ("scotland", "england", "wales")]
    assert sum(len(c) for c in countries) == 27 and set().union(*countries) == set(consortium.codes)
    assert countries[0] == set(CONSORTIUM.codes)
    large, small = set(groups.group("large").members), set(groups.group("small").members)
    assert not large & small and large | small == set(consortium.codes)
    assert all((c.approx_caseload >= 12_000) == (c.code in large) for c in consortium.members)
    assert groups.group("borders").members == ("S12000026",)
    text = (folder / "peer_groups.yaml").read_text(encoding="utf-8")
    assert "- W06000015   # Cardiff" in text


def test_derived_groups_of_the_shipped_consortium_mean_what_the_shipped_file_says():
    derived, shipped = derived_groups(CONSORTIUM), load_peer_groups(PARAMETERS)
    for group in shipped.groups:
        mine = derived.group(group.id)
        assert (mine.name, mine.description) == (group.name, group.description)
        assert set(mine.codes(CONSORTIUM.codes)) == set(group.codes(CONSORTIUM.codes))
    assert derived.ids == ("consortium", "scotland", "large", "small")


# --------------------------------------------------------------------------- charts for 27 and 400 members


def _funnel_plot(count: int, outliers: int):
    """``count`` councils on new-claim days, the first ``outliers`` planted far from the rest."""
    rng = np.random.default_rng(count)
    codes = council_codes(count)
    rows = []
    for number, code in enumerate(codes):
        cases = float(rng.integers(80, 3_000))
        mean = 20.0 + rng.normal(0, 0.3) + (12.0 if number < outliers else 0.0) * (1 if number % 2 else -0.5)
        rows.append(
            series_rows(code, "new_claims_days", [mean], "2026-10", numerators=[mean * cases], denominators=[cases])
        )
    table = with_consortium(pd.concat(rows, ignore_index=True))
    settings = replace(SETTINGS, funnel=replace(SETTINGS.funnel, months=1, overdispersion="none"))
    plot = funnel(table, FRAMEWORK, "new_claims_days", settings=settings)
    names = {code: f"Demo council number {n}" for n, code in enumerate(codes, start=1)}
    return plot, names, codes


def _label_layer(figure: charts.Figure) -> tuple[dict, list[dict]]:
    spec = validated(figure.chart)
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    return spec, text["data"]["values"]


def _boxes(spec: dict, labels: list[dict]) -> list[tuple[float, float, float, float]]:
    """Each name's box in pixels, from the chart's own scale domains and size."""
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    (x0, x1), (y0, y1) = text["encoding"]["x"]["scale"]["domain"], text["encoding"]["y"]["scale"]["domain"]
    assert text["encoding"]["x"]["scale"]["type"] == "log"
    width, height, font = spec["width"], spec["height"], text["mark"]["fontSize"]
    boxes = []
    for label in labels:
        left = width * (math.log(label["label_n"]) - math.log(x0)) / (math.log(x1) - math.log(x0))
        middle = height * (1 - (label["label_y"] - y0) / (y1 - y0))
        boxes.append((left, middle - 0.65 * font, left + 0.6 * font * len(label["label"]), middle + 0.65 * font))
    return boxes


@pytest.mark.parametrize("count", [27, 400])
def test_a_big_funnel_names_only_the_outliers_and_the_own_council_without_overlap(count):
    plot, names, codes = _funnel_plot(count, outliers=6)
    own = codes[-1]  # within the limits: named only because it is the page's council
    figure = charts.funnel(plot, FRAMEWORK.indicator("new_claims_days"), names, highlight=own)
    spec, labels = _label_layer(figure)
    points = plot.points.set_index("area")
    outside = {names[a] for a in points.index if points.loc[a, "signal_95"]}
    named = [label["label"] for label in labels]
    assert names[own] == named[0] and set(named) <= outside | {names[own]}
    assert len(outside) >= 4 and len(set(named) & outside) >= min(len(outside), 4)
    assert len(named) <= charts.FUNNEL_MAX_LABELS
    boxes = _boxes(spec, labels)
    assert all(b[0] >= 0 and b[1] >= 0 and b[2] <= spec["width"] and b[3] <= spec["height"] for b in boxes)
    assert not any(
        a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for i, a in enumerate(boxes) for b in boxes[i + 1 :]
    )
    assert len(figure.data) == count and f"With {count} councils only this council and those outside" in figure.alt
    svg = chart_svg(figure.chart)
    width, height = svg_size(svg)
    assert width <= 800 and height <= 600
    drawn = set(re.findall(r"<text[^>]*>(Demo council number \d+)</text>", svg))
    assert drawn == set(named)


def test_a_small_funnel_still_names_every_council():
    plot, names, _ = _funnel_plot(8, outliers=0)
    figure = charts.funnel(plot, FRAMEWORK.indicator("new_claims_days"), names)
    _, labels = _label_layer(figure)
    assert len(labels) >= 6 and "only" not in figure.alt  # room for most names; none dropped by rule


def _league_frame(count: int) -> pd.DataFrame:
    codes = council_codes(count)
    values = np.linspace(12.0, 30.0, count)
    return pd.DataFrame(
        {
            "code": codes,
            "council": [f"Council number {n}" for n in range(1, count + 1)],
            "value": values,
            "rank": np.arange(1, count + 1, dtype=float),
            "quartile": np.ceil(4 * np.arange(1, count + 1) / count),
            "rag": [FRAMEWORK.indicator("new_claims_days").rag(v) for v in values],
        }
    )


def test_the_league_grows_with_27_members_and_shows_the_ends_and_the_own_council_of_400():
    indicator = FRAMEWORK.indicator("new_claims_days")
    figure = charts.league(_league_frame(27), indicator, 20.0, "2026-10")
    spec = validated(figure.chart)
    assert figure.title.endswith(": all members") and spec["height"] == 27 * charts.LEAGUE_BAR_PIXELS
    bars = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "bar")
    assert len(bars["data"]["values"]) == 27

    frame = _league_frame(400)
    own = frame["code"][200]
    big = charts.league(frame, indicator, 20.0, "2026-10", highlight=own)
    spec = validated(big.chart)
    shown = [row["council"] for row in next(x for x in spec["layer"] if x["mark"]["type"] == "bar")["data"]["values"]]
    ends = charts.LEAGUE_ENDS
    assert shown == list(frame["council"][:ends]) + ["Council number 201"] + list(frame["council"][-ends:])
    assert big.title == f"New claims, days, October 2026: best and last {ends} of 400 members"
    assert "the table lists every member" in big.alt and "and this council of 400" in big.alt
    assert len(big.data) == 400 and spec["height"] == (2 * ends + 1) * charts.LEAGUE_BAR_PIXELS
    width, height = svg_size(chart_svg(big.chart))
    assert height <= MAX_CHART_PIXELS and width <= 1000
