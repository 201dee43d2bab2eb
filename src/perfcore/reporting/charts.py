"""The reports' charts, each paired with a sentence and its data.

Every builder returns a ``Figure``: the chart, a title, a text alternative
that says what the chart shows (the story, not the encoding), and the data a
reader who cannot see it needs. Notebooks pass it to ``show_figure``.
Colours come from ``display`` (Okabe-Ito); RAG bands are labelled in words,
and points that matter carry a shape as well as a colour.

A chart is a Vega-Lite v6 spec, a plain dict written by ``vegalite`` (the same JSON Altair wrote for these
builders, so the same SVG, at a fraction of the CPU: Altair is not imported to build a page).

Every builder has a defined shape for data it cannot draw (none, all missing,
or a ``NotYet`` in place of an analysis): a ``Figure`` without a chart
whose ``notice`` says what is missing and why. ``show_figure`` shows that as a
callout, so a new member or a short history gets a complete page, never a
Vega-Lite canvas of 1.8e308 pixels or an exception that cuts the page off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Indicator
from perfcore.reporting import vegalite as vl
from perfcore.reporting.data import NotYet
from perfcore.reporting.display import CATEGORY_COLOURS, CHART_TEXT, CHART_WIDTH, OKABE_ITO, RAG_COLOURS
from perfcore.reporting.wording import OLDER_THAN_30_DAYS, threshold_words

if TYPE_CHECKING:
    import pandas as pd

    from perfcore.analytics import FunnelPlot, SpcChart


LABEL_LIMIT = 240  # pixels of a council's name on an axis before Vega-Lite shortens it with "…"
LEAGUE_BAR_PIXELS = 22  # height of one council's bar: the league grows with the membership
LEAGUE_ALL_BARS = 60  # up to this many councils every one has a bar (1,320 pixels tall)...
LEAGUE_ENDS = 20  # ...beyond it the best and last 20 (and the page's own council)
# Every chart is about CHART_WIDTH wide in all, the page's text column: its plot gets what the axes and labels
# beside it leave, estimated from their text (``_text_width``), which is cheaper than Vega's autosize "fit" (a
# second layout pass: about a tenth more time per chart); the page and the PDF scale the few pixels off.
Y_AXIS = 60  # a numeric y axis: labels of up to five characters, ticks and its title
LINE_HEIGHT = 260  # the plots' heights: 2:1 to 3:1 at that width
BARS_HEIGHT = 240
FUNNEL_WIDTH, FUNNEL_HEIGHT = CHART_WIDTH - Y_AXIS, 360  # its names are placed in pixels: a fixed plot
FUNNEL_LABEL_ALL = 12  # up to this many councils every point is named; beyond, the outliers and the own council
# The names beside the points: a size smaller than the axes' (8 pt in the PDF) names as many councils of a
# small consortium, clustered about the target, as 10 pixels did on the narrower plot before.
FUNNEL_LABEL_FONT = CHART_TEXT - 2
FUNNEL_MAX_LABELS = 20  # at most this many names on one funnel, worst signals first; the table has every council
FUNNEL_POSITIONS = {  # position -> (colour, shape), in legend order: each position its own shape too
    "Within limits": ("#858F95", "circle"),
    "Beyond 95% limits: better": (OKABE_ITO["sky_blue"], "triangle-up"),
    "Beyond 99.8% limits: better": (OKABE_ITO["blue"], "diamond"),
    "Beyond 95% limits: worse": (OKABE_ITO["orange"], "triangle-down"),
    "Beyond 99.8% limits: worse": (OKABE_ITO["vermillion"], "square"),
    "Beyond 95% limits: high": (OKABE_ITO["reddish_purple"], "triangle-right"),
    "Beyond 99.8% limits: high": (OKABE_ITO["reddish_purple"], "cross"),
    "Beyond 95% limits: low": (OKABE_ITO["reddish_purple"], "triangle-left"),
    "Beyond 99.8% limits: low": (OKABE_ITO["black"], "cross"),
}


@dataclass(frozen=True)
class Figure:
    chart: dict[str, Any] | None  # a Vega-Lite spec; None: nothing to draw, ``notice`` says why
    title: str
    alt: str
    data: pd.DataFrame
    id: str | None = None
    notice: str | None = None
    download: pd.DataFrame | None = None  # what the chart's CSV holds (tidy, unrounded); None: ``data``


SOLID, DASHED = [1, 0], [5, 4]  # the page's own area, and the consortium or peers it is read against


def _text_width(texts: Any, size: float = CHART_TEXT) -> float:
    """Pixels of the longest of ``texts`` at ``size``: 0.62 of the size per character (DejaVu Sans, the charts'
    font, averages under 0.6)."""
    return 0.62 * size * max((len(str(t)) for t in texts), default=0)


def _series_legend() -> dict[str, Any]:
    """The legend of a line chart whose series differ in colour and dash: colour and strokeDash share the
    field, the title and this legend, so Vega-Lite draws one legend whose marks are short lines, each dashed as
    its series is (a dot for the consortium's dashed line would say nothing about which line is which)."""
    return {"orient": "top", "symbolType": "stroke", "symbolSize": 900, "symbolStrokeWidth": 2.5}


def _series(field: str, domain: list[str], colours: list[str]) -> dict[str, Any]:
    """Colour and dash of a line chart's series, both on ``field``: the first solid, the second dashed."""
    legend = _series_legend()
    return {
        "color": vl.field(field, "nominal", title=None, legend=legend, scale={"domain": domain, "range": colours}),
        "strokeDash": vl.field(
            field, "nominal", title=None, legend=legend, scale={"domain": domain, "range": [SOLID, DASHED]}
        ),
    }


def _month_marker(label: str, month: str, order: list[str]) -> list[dict[str, Any]]:
    """A dashed vertical rule at ``month`` with ``label`` at its top, in the initiatives' colour."""
    import pandas as pd

    rows = vl.data(pd.DataFrame({"month": [month], "label": [label]}))
    x = vl.field("month", "nominal", sort=order)
    colour = OKABE_ITO["reddish_purple"]
    return [
        vl.unit(rows, vl.mark("rule", strokeDash=[2, 2], color=colour), x=x),
        vl.unit(
            rows,
            vl.mark("text", align="left", baseline="top", dx=4, dy=2, color=colour),
            x=x,
            y=vl.value(0),
            text=vl.field("label", "nominal"),
        ),
    ]


def show_figure(figure: Figure) -> None:
    from perfcore.reporting import display

    if figure.chart is None:
        display.callout("note", display.md_escape(figure.notice or figure.alt), title=figure.title)
        return
    display.chart(
        figure.chart, title=figure.title, alt=figure.alt, data=figure.data, id=figure.id, download=figure.download
    )


def indicator_download(frame: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """A chart's CSV of one indicator's figures: ``frame``'s rows (area_name, period, value, ...), tidy and
    unrounded, with the indicator, its unit and its framework's version (``downloads.TIDY_COLUMNS``' order)."""
    out = frame.copy()
    extra = [c for c in out.columns if c not in ("area", "area_name", "period", "value")]
    out["indicator"], out["indicator_name"] = indicator.id, indicator.name
    out["unit"], out["framework_version"] = indicator.unit, indicator.framework_version
    first = [c for c in ("area", "area_name", "period", "indicator", "indicator_name", "value", "unit") if c in out]
    return out[[*first, *extra, "framework_version"]].reset_index(drop=True)


def unavailable(title: str, reason: str, id: str | None = None) -> Figure:
    """A figure that cannot be drawn yet: shown as a callout saying why, in place of the chart."""
    import pandas as pd

    return Figure(None, title, reason, pd.DataFrame(), id, notice=reason)


def _no_values(values: pd.Series) -> bool:
    """True when a column has nothing to plot: empty, or every value missing."""
    import pandas as pd

    return bool(pd.to_numeric(values, errors="coerce").dropna().empty)


def _month_label(period: str) -> str:
    return periods.label(period)[:3] + " " + period[2:4]


def _bands(indicator: Indicator, low: float, high: float) -> pd.DataFrame:
    """Target bands (green, amber, red) across the visible range, for shading."""
    import pandas as pd

    t = indicator.thresholds
    if indicator.better == "lower":
        edges = [
            ("green", min(low, t.green) - 1e9, t.green),
            ("amber", t.green, t.amber),
            ("red", t.amber, max(high, t.amber) + 1e9),
        ]
    else:
        edges = [
            ("red", min(low, t.amber) - 1e9, t.amber),
            ("amber", t.amber, t.green),
            ("green", t.green, max(high, t.green) + 1e9),
        ]
    return pd.DataFrame(
        [{"band": b, "y0": max(a, low), "y1": min(c, high)} for b, a, c in edges if c > low and a < high]
    )


def _band_layers(indicator: Indicator, low: float, high: float) -> list[dict[str, Any]]:
    """The target bands shaded behind a line whose values run from ``low`` to ``high``, each named at its top
    right."""
    pad = (high - low) * 0.15 or 1.0
    t = indicator.thresholds
    low, high = (
        min(low - pad, t.green - pad),
        max(high + pad, t.amber + pad) if indicator.better == "lower" else max(high + pad, t.green + pad),
    )
    bands = _bands(indicator, low, high)
    bands["label"] = bands["band"].str.capitalize()
    rows = vl.data(bands)
    scale = {"domain": list(RAG_COLOURS), "range": list(RAG_COLOURS.values())}
    return [
        vl.unit(
            rows,
            vl.mark("rect", opacity=0.12),
            y=vl.field("y0", "quantitative"),
            y2={"field": "y1"},
            color=vl.field("band", "nominal", scale=scale, legend=None),
        ),
        vl.unit(
            rows,
            vl.mark("text", align="right", dx=-4, dy=10, color="#505A5F"),
            y=vl.field("y1", "quantitative"),
            x=vl.value("width"),
            text=vl.field("label", "nominal"),
        ),
    ]


def trend(
    frame: pd.DataFrame,
    indicator: Indicator,
    area_name: str,
    markers: list[tuple[str, str]] | None = None,
    id: str | None = None,
) -> Figure:
    """24-month line of a council against the consortium, target bands shaded and labelled.

    ``frame``: period, value, consortium. ``markers``: (period, label) for initiatives.
    """
    import pandas as pd

    data = frame.copy()
    data["month"] = data["period"].map(_month_label)
    long = data.melt(id_vars=["period", "month"], value_vars=["value", "consortium"], var_name="series", value_name="v")
    long["series"] = long["series"].map({"value": area_name, "consortium": "Consortium"})
    long = long.dropna(subset=["v"])
    title = f"{indicator.short}: {area_name} and the consortium, last 24 months"
    if long.empty:
        return unavailable(
            title,
            f"No figures yet for {area_name} or the consortium on {indicator.short} "
            "in the last 24 months: there is nothing to chart.",
            id,
        )
    order = list(data["month"])
    lines = vl.unit(
        vl.data(long),
        vl.mark("line", point=True),
        x=vl.field("month", "nominal", sort=order, title=None, axis={"labelAngle": -45}),
        y=vl.field(
            "v", "quantitative", title=indicator.unit if indicator.unit != "count" else "count", scale={"zero": False}
        ),
        **_series("series", [area_name, "Consortium"], [OKABE_ITO["blue"], OKABE_ITO["black"]]),
        tooltip=[
            vl.field("month", "nominal"),
            vl.field("series", "nominal"),
            vl.field("v", "quantitative", format=".1f"),
        ],
    )
    layers = []
    values = long["v"]
    if indicator.thresholds is not None and len(values):
        layers += _band_layers(indicator, float(values.min()), float(values.max()))
    layers.append(lines)
    for period, label in markers or []:
        if period in set(data["period"]):
            layers += _month_marker(label, _month_label(period), order)
    # Bands and lines both use colour: keep their scales apart, or Vega-Lite merges them.
    resolve = {"scale": {"color": "independent", "strokeDash": "independent"}}
    chart = vl.chart(vl.layer(*layers, resolve=resolve), width=CHART_WIDTH - Y_AXIS, height=LINE_HEIGHT)
    table = pd.DataFrame(
        {
            "Month": [periods.label(p) for p in data["period"]],
            area_name: [indicator.format(v) for v in data["value"]],
            "Consortium": [indicator.format(v) for v in data["consortium"]],
        }
    )
    series = [
        data[["period", column]].rename(columns={column: "value"}).assign(area_name=name)
        for column, name in (("value", area_name), ("consortium", "Consortium"))
        if column == "value" or data[column].notna().any()  # the consortium's own trend draws no second line
    ]
    download = indicator_download(pd.concat(series, ignore_index=True), indicator)
    return Figure(chart, title, _trend_alt(data, indicator, area_name), table, id, download=download)


def _trend_alt(data: pd.DataFrame, indicator: Indicator, area_name: str) -> str:
    own = data.dropna(subset=["value"])
    if own.empty:
        return f"No data for {area_name} on {indicator.short} in the last 24 months."
    first, last = own.iloc[0], own.iloc[-1]
    best = own.loc[own["value"].idxmin() if indicator.better == "lower" else own["value"].idxmax()]
    text = (
        f"Line chart of {indicator.short} for {area_name} against the consortium. "
        f"{area_name} went from {indicator.format(first['value'])} in {periods.label(first['period'])} "
        f"to {indicator.format(last['value'])} in {periods.label(last['period'])}"
    )
    if last.get("consortium") == last.get("consortium"):
        text += f" (consortium {indicator.format(last['consortium'])})"
    if indicator.better:
        text += f"; its best month was {periods.label(best['period'])} at {indicator.format(best['value'])}"
    if indicator.thresholds is not None:
        t = indicator.thresholds
        text += f". Green is {threshold_words(indicator).within} {t.green:g}, amber {t.amber:g}"
    return text + "."


def league(
    frame: pd.DataFrame,
    indicator: Indicator,
    consortium_value: float | None,
    period: str,
    highlight: str | None = None,
    id: str | None = None,
) -> Figure:
    """Horizontal bars per council (best at the top), the consortium figure as a rule.

    ``frame`` from ``report.league``; ``highlight`` a council code drawn in a second colour.
    Up to ``LEAGUE_ALL_BARS`` councils every one has a bar (22 pixels each);
    beyond that the best and last ``LEAGUE_ENDS`` and the highlighted council
    do, the title says so, and the data table still lists every member.
    """
    import pandas as pd

    data = frame.dropna(subset=["value"]).copy()
    members = len(data)
    title = f"{indicator.short}, {periods.label(period)}: all members"
    shown_note = ""
    if members > LEAGUE_ALL_BARS:
        keep = set(range(LEAGUE_ENDS)) | set(range(members - LEAGUE_ENDS, members))
        keep |= {i for i, code in enumerate(data["code"]) if code == highlight}
        data = data.iloc[sorted(keep)].copy()
        title = f"{indicator.short}, {periods.label(period)}: best and last {LEAGUE_ENDS} of {members} members"
        shown_note = (
            f" The chart shows the best {LEAGUE_ENDS} and the last {LEAGUE_ENDS}"
            + (" and this council" if highlight in set(data["code"]) else "")
            + f" of {members}; the table lists every member."
        )
    if data.empty:
        return unavailable(
            title,
            f"No member has a figure for {indicator.short} in {periods.label(period)} yet: there is nothing to rank.",
            id,
        )
    data["status"] = data["rag"].fillna("none").map(lambda r: r.capitalize() if r != "none" else "No target")
    data["label"] = [
        indicator.format(v) + (f"  {r.capitalize()}" if isinstance(r, str) else "")
        for v, r in zip(data["value"], data["rag"])
    ]
    data["focus"] = ["This council" if c == highlight else "Other members" for c in data["code"]]
    order = list(data["council"])
    # The figures stand in a column just right of the longest bar, clear of the consortium rule (which would
    # cross a figure written at the end of a bar near it); the axis ends there, so no grid line crosses them.
    low = min(0.0, float(data["value"].min()))
    high = max(float(data["value"].max()), consortium_value if consortium_value is not None else low)
    data["label_x"] = high
    x_scale = {"domain": [low, high if high > low else low + 1.0], "nice": False}
    rows = vl.data(data)
    focus = {"domain": ["This council", "Other members"], "range": [OKABE_ITO["blue"], "#858F95"]}
    bars = vl.unit(
        rows,
        vl.mark("bar"),
        y=vl.field("council", "nominal", sort=order, title=None, axis={"labelLimit": LABEL_LIMIT}),
        x=vl.field("value", "quantitative", title=indicator.unit, scale=x_scale, axis={"tickCount": 8}),
        color=vl.field("focus", "nominal", title=None, scale=focus, legend={"orient": "bottom"} if highlight else None),
        tooltip=[
            vl.field("council", "nominal"),
            vl.field("value", "quantitative", format=".2f"),
            vl.field("status", "nominal"),
        ],
    )
    text = vl.unit(
        rows,
        vl.mark("text", align="left", dx=8),
        y=vl.field("council", "nominal", sort=order),
        x=vl.field("label_x", "quantitative", scale=x_scale),
        text=vl.field("label", "nominal"),
    )
    layers = [bars, text]
    if consortium_value is not None:
        rule = pd.DataFrame(
            {"value": [consortium_value], "label": [f"Consortium {indicator.format(consortium_value)}"]}
        )
        layers.append(
            vl.unit(
                vl.data(rule),
                vl.mark("rule", color=OKABE_ITO["black"], strokeDash=[5, 4], strokeWidth=2),
                x=vl.field("value", "quantitative", scale=x_scale),
            )
        )
    # beside the bars: the names (at most LABEL_LIMIT) and the figures' column, each with its gap
    beside = min(_text_width(data["council"]), LABEL_LIMIT) + _text_width(data["label"], CHART_TEXT - 1) + 20
    chart = vl.chart(
        vl.layer(*layers),
        width=max(CHART_WIDTH / 3, CHART_WIDTH - beside),
        height=max(120, LEAGUE_BAR_PIXELS * len(data)),
    )
    table = pd.DataFrame(
        {
            "Rank": [("" if r != r else f"{int(r)}") for r in frame["rank"]],
            "Council": frame["council"],
            indicator.short: [indicator.format(v) for v in frame["value"]],
            "Status": [r.capitalize() if isinstance(r, str) else "" for r in frame["rag"]],
        }
    )
    ranked = data[data["rank"].notna()] if "rank" in data else data
    alt_text = f"Bar chart of {indicator.short} in {periods.label(period)} for {members} councils."
    if len(ranked) and indicator.better:
        alt_text += (
            f" Best: {ranked.iloc[0]['council']} at {indicator.format(ranked.iloc[0]['value'])}; "
            f"last: {ranked.iloc[-1]['council']} at {indicator.format(ranked.iloc[-1]['value'])}."
        )
    if consortium_value is not None:
        alt_text += f" The consortium figure is {indicator.format(consortium_value)}."
    every = frame.rename(columns={"code": "area", "council": "area_name"}).assign(period=period)
    every = every[["area", "area_name", "period", "value", "rank", "quartile", "rag"]]
    if consortium_value is not None:
        pooled = {"area": CONSORTIUM, "area_name": "Consortium", "period": period, "value": consortium_value}
        every = pd.concat([every, pd.DataFrame([pooled])], ignore_index=True)
    download = indicator_download(every.rename(columns={"rag": "status"}), indicator)
    return Figure(chart, title, alt_text + shown_note, table, id, download=download)


def work_on_hand(frame: pd.DataFrame, area_name: str, period: str, id: str | None = None) -> Figure:
    """Bars of work on hand by age band, side by side by kind."""
    long = frame.melt(id_vars=["Age"], var_name="Kind", value_name="Items")
    title = f"Work on hand by age, end of {periods.label(period)}"
    if _no_values(long["Items"]) or not long["Items"].fillna(0).any():
        # An empty <WorkOnHand/>, or no section: zero bars would draw an axis without a scale.
        return unavailable(
            title,
            f"No items were recorded as waiting for a decision at {area_name} at the end of "
            f"{periods.label(period)}: there is nothing to chart by age.",
            id,
        )
    long["Items"] = long["Items"].fillna(0).astype(int)
    bars = vl.unit(
        vl.data(long),
        vl.mark("bar"),
        x=vl.field("Age", "nominal", sort=list(frame["Age"]), title="Age at month end", axis={"labelAngle": 0}),
        y=vl.field("Items", "quantitative", title="items"),
        color=vl.field(
            "Kind", "nominal", scale={"range": list(CATEGORY_COLOURS[:2])}, legend={"orient": "bottom", "title": None}
        ),
        xOffset=vl.field("Kind", "nominal"),
        tooltip=[vl.field("Age", "nominal"), vl.field("Kind", "nominal"), vl.field("Items", "quantitative")],
    )
    chart = vl.chart(bars, width=CHART_WIDTH - Y_AXIS, height=BARS_HEIGHT)
    total = int(long["Items"].sum())
    old = int(long[long["Age"].isin(OLDER_THAN_30_DAYS)]["Items"].sum())
    alt_text = (
        f"Bar chart of work on hand at the end of {periods.label(period)} for {area_name}: "
        f"{total} items, of which {old} older than 30 days."
    )
    return Figure(chart, title, alt_text, frame, id)


def spc(
    frame: pd.DataFrame,
    indicator: Indicator,
    area_name: str,
    variation: str,
    assurance: str | None,
    id: str | None = None,
) -> Figure:
    """XmR chart (NHS Making Data Count): values, mean, process limits; special causes marked by shape.

    ``frame`` from ``SpcChart.frame()``.
    """
    import pandas as pd

    title = f"{indicator.short}: {area_name}, process control chart"
    data = frame.dropna(subset=["value"]).copy() if "value" in frame else frame.iloc[0:0]
    if data.empty:
        return unavailable(
            title, f"No figures yet for {area_name} on {indicator.short}: there is no process to chart.", id
        )
    # Every indicator is non-negative: a natural process limit below zero means "no lower limit".
    data["lower"] = data["lower"].clip(lower=0)
    data["month"] = data["period"].map(_month_label)
    data["point"] = (
        data["nature"]
        .replace("", "common cause")
        .fillna("common cause")
        .map(
            lambda n: {"concerning": "Special cause: concerning", "improving": "Special cause: improving"}.get(
                n, "Common cause"
            )
        )
    )
    order = list(data["month"])
    x = vl.field("month", "nominal", sort=order, title=None, axis={"labelAngle": -45})
    rows = vl.data(data)  # one data set for every layer: Vega-Lite reads it once
    dashed = vl.mark("line", strokeDash=[4, 3], color="#505A5F")
    limits = vl.layer(
        vl.unit(rows, dashed, x=x, y=vl.field("upper", "quantitative")),
        vl.unit(rows, dashed, x=x, y=vl.field("lower", "quantitative")),
    )
    mean = vl.unit(
        rows, vl.mark("line", color=OKABE_ITO["black"], strokeWidth=1.5), x=x, y=vl.field("mean", "quantitative")
    )
    line = vl.unit(
        rows,
        vl.mark("line", color="#858F95", strokeWidth=1.5),
        x=x,
        y=vl.field("value", "quantitative", title=indicator.unit, scale={"zero": False}),
    )
    domain = ["Common cause", "Special cause: improving", "Special cause: concerning"]
    colours = ["#858F95", OKABE_ITO["blue"], OKABE_ITO["vermillion"]]
    legend = {"orient": "top"}
    points = vl.unit(
        rows,
        vl.mark("point", filled=True, size=70),
        x=x,
        y=vl.field("value", "quantitative"),
        color=vl.field("point", "nominal", title=None, scale={"domain": domain, "range": colours}, legend=legend),
        shape=vl.field(
            "point",
            "nominal",
            title=None,
            scale={"domain": domain, "range": ["circle", "triangle-down", "diamond"]},
            legend=legend,
        ),
        tooltip=[
            vl.field("month", "nominal"),
            vl.field("value", "quantitative", format=".1f"),
            vl.field("point", "nominal"),
            vl.field("rules", "nominal"),
        ],
    )
    layers = [limits, mean, line, points]
    if indicator.thresholds is not None:
        target = vl.data(pd.DataFrame({"target": [indicator.thresholds.green]}))
        layers.append(
            vl.unit(
                target,
                vl.mark("rule", color=OKABE_ITO["bluish_green"], strokeWidth=2),
                y=vl.field("target", "quantitative"),
            )
        )
    chart = vl.chart(vl.layer(*layers), width=CHART_WIDTH - Y_AXIS, height=LINE_HEIGHT)
    table = pd.DataFrame(
        {
            "Month": [periods.label(p) for p in data["period"]],
            "Value": [indicator.format(v) for v in data["value"]],
            "Mean": [indicator.format(v) for v in data["mean"]],
            "Lower limit": [indicator.format(v) for v in data["lower"]],
            "Upper limit": [indicator.format(v) for v in data["upper"]],
            "Special cause": [r.replace("_", " ") if r else "" for r in data["rules"]],
        }
    )
    flagged = data[data["point"] != "Common cause"]
    alt_text = (
        f"Statistical process control chart of {indicator.short} for {area_name}: mean "
        f"{indicator.format(data['mean'].iloc[-1])}, process limits {indicator.format(data['lower'].iloc[-1])} to "
        f"{indicator.format(data['upper'].iloc[-1])}. Variation: {variation.replace('_', ' ')}"
        + (f"; assurance: {assurance.replace('_', ' ')}" if assurance else "")
        + ". "
    )
    if len(flagged):
        alt_text += "Special-cause months: " + ", ".join(periods.label(p) for p in flagged["period"]) + "."
    else:
        alt_text += "No special-cause months."
    limits = data[["period", "value", "mean", "lower", "upper", "rules"]].rename(columns={"rules": "special_cause"})
    download = indicator_download(limits.assign(area_name=area_name), indicator)
    return Figure(chart, title, alt_text, table, id, download=download)


def control_chart(result: SpcChart | NotYet, indicator: Indicator, area_name: str, id: str | None = None) -> Figure:
    """The SPC chart from ``report.spc_for``, or the reason there is none yet."""
    if isinstance(result, NotYet):
        return unavailable(f"{indicator.short}: {area_name}, process control chart", result.reason, id)
    return spc(result.frame(), indicator, area_name, result.variation, result.assurance, id=id)


def funnel(
    plot: FunnelPlot | NotYet,
    indicator: Indicator,
    names: dict[str, str],
    id: str | None = None,
    highlight: str | None = None,
) -> Figure:
    """Spiegelhalter funnel plot: councils by number of cases, with 95% and 99.8% limits.

    ``plot`` from ``report.funnel_for``: a ``NotYet`` (fewer than three councils
    with cases) is shown as the reason there is no funnel yet. ``highlight``
    is the page's own council (a code), named and drawn larger.

    Names stay readable with 27 or 400 members: up to ``FUNNEL_LABEL_ALL``
    councils every point is named; beyond that only ``highlight`` and the
    councils outside the limits (99.8% before 95%, at most
    ``FUNNEL_MAX_LABELS``). Each name goes right, left, above or below its
    point (or a line up or down), wherever it overlaps no name already placed;
    a name with no free place is left off. The data table lists every council.
    """
    import numpy as np
    import pandas as pd

    if isinstance(plot, NotYet):
        return unavailable(f"{indicator.short}: funnel plot", plot.reason, id)
    if _no_values(plot.points["value"]):
        return unavailable(
            f"{indicator.short}: funnel plot", "No council has cases in the window yet: there is nothing to plot.", id
        )
    points = plot.points.dropna(subset=["value"]).copy()
    points["council"] = points["area"].map(names)
    points["value_scaled"] = points["value"]
    signal = points.get("signal_99.8", pd.Series([""] * len(points), index=points.index)).fillna("")
    signal95 = points.get("signal_95", pd.Series([""] * len(points), index=points.index)).fillna("")
    points["position"] = [
        ("Beyond 99.8% limits: " + s) if s else ("Beyond 95% limits: " + t) if t else "Within limits"
        for s, t in zip(signal, signal95)
    ]
    limits = plot.limits()
    long = limits.melt(id_vars=["n", "target"], var_name="limit", value_name="y")
    long["level"] = long["limit"].str.replace("lower_", "").str.replace("upper_", "") + "% limits"
    long["side"] = long["limit"].str.split("_").str[0]
    # Explicit domains: the labels are placed in pixels, so data and pixels must map exactly.
    x_domain = [float(limits["n"].min()), float(limits["n"].max())]
    ys = pd.concat([long["y"], points["value"]]).replace([np.inf, -np.inf], np.nan).dropna()
    pad = 0.05 * (float(ys.max()) - float(ys.min()) or 1.0)
    y_domain = [float(ys.min()) - pad, float(ys.max()) + pad]
    x_scale = {"type": "log", "domain": x_domain, "nice": False}
    y_scale = {"zero": False, "domain": y_domain, "nice": False}
    x = vl.field(
        "n",
        "quantitative",
        title="cases (denominator, pooled over the window)",
        scale=x_scale,
        axis={"labelOverlap": "greedy", "labelSeparation": 6},
    )
    # Limits are told apart by dash pattern (colour is kept for the councils' positions).
    dashes = vl.field(
        "level",
        "nominal",
        title=None,
        scale={"range": [[6, 3], [2, 2]]},
        legend={"orient": "top", "symbolType": "stroke", "symbolSize": 900},
    )
    lines = vl.unit(
        vl.data(long),
        vl.mark("line", color="#505A5F", clip=True),
        x=x,
        y=vl.field("y", "quantitative", title=indicator.unit, scale=y_scale),
        detail=vl.field("limit", "nominal"),
        strokeDash=dashes,
    )
    target = vl.unit(
        vl.data(limits),
        vl.mark("line", color=OKABE_ITO["black"], strokeWidth=1.5),
        x=x,
        y=vl.field("target", "quantitative"),
    )
    many = len(points) > FUNNEL_LABEL_ALL
    points["focus"] = ["This council" if code == highlight else "" for code in points["area"]]
    dots = _funnel_dots(points, x_scale, y_scale)
    placed = _funnel_labels(points, highlight, many, x_domain, y_domain)
    labels = vl.unit(
        vl.data(placed),
        vl.mark("text", align="left", baseline="middle", fontSize=FUNNEL_LABEL_FONT),
        x=vl.field("label_n", "quantitative", scale=x_scale),
        y=vl.field("label_y", "quantitative", scale=y_scale),
        text=vl.field("label", "nominal"),
    )
    chart = vl.chart(vl.layer(lines, target, dots, labels), width=FUNNEL_WIDTH, height=FUNNEL_HEIGHT)
    table = pd.DataFrame(
        {
            "Council": points["council"],
            "Cases": [f"{n:,.0f}" for n in points["denominator"]],
            indicator.short: [indicator.format(v) for v in points["value"]],
            "95% limits": [
                f"{indicator.format(lo)} to {indicator.format(hi)}"
                for lo, hi in zip(points["lower_95"], points["upper_95"])
            ],
            "Position": points["position"],
        }
    )
    outside = points[points["position"] != "Within limits"]
    window = (
        f"{periods.label(plot.periods[0])} to {periods.label(plot.periods[-1])}"
        if len(plot.periods) > 1
        else periods.label(plot.periods[0])
    )
    alt_text = (
        f"Funnel plot of {indicator.short}, {window}: each council against the consortium figure "
        f"{indicator.format(plot.target)}, with limits that narrow as the number of cases grows. "
    )
    alt_text += (
        "Outside the limits: "
        + "; ".join(f"{c} ({p.split(': ')[-1]})" for c, p in zip(outside["council"], outside["position"]))
        + "."
        if len(outside)
        else "Every council is within the limits: differences are consistent with chance."
    )
    if many:
        alt_text += (
            f" With {len(points)} councils only "
            + ("this council and " if highlight in set(points["area"]) else "")
            + "those outside the limits are named on the chart; the table lists every council."
        )
    return Figure(
        chart,
        f"{indicator.short}: funnel plot, {window}",
        alt_text,
        table,
        id,
        download=_funnel_download(plot, points, indicator),
    )


def _funnel_dots(points: pd.DataFrame, x_scale: dict[str, Any], y_scale: dict[str, Any]) -> dict[str, Any]:
    """The councils' points: one colour and shape per position on every funnel, so "within limits" reads the
    same everywhere (quiet grey circles for the many, strong colours and shapes for the few outside); the
    page's own council drawn larger."""
    present = set(points["position"])
    domain = [p for p in FUNNEL_POSITIONS if p in present] + sorted(present - set(FUNNEL_POSITIONS))
    colours = [FUNNEL_POSITIONS.get(p, (OKABE_ITO["reddish_purple"], "cross"))[0] for p in domain]
    shapes = [FUNNEL_POSITIONS.get(p, (OKABE_ITO["reddish_purple"], "cross"))[1] for p in domain]
    dot_size = 80 if len(points) <= 30 else 40 if len(points) <= 100 else 20
    # Same field, title and legend for shape and colour: Vega-Lite draws one legend with both.
    legend = {"orient": "bottom", "columns": 1, "labelLimit": 2 * LABEL_LIMIT}
    return vl.unit(
        vl.data(points.rename(columns={"denominator": "n"})),
        vl.mark("point", filled=True, opacity=1.0 if len(points) <= 100 else 0.75),
        x=vl.field("n", "quantitative", scale=x_scale),
        y=vl.field("value", "quantitative", scale=y_scale),
        shape=vl.field(
            "position", "nominal", title="Position", legend=legend, scale={"domain": domain, "range": shapes}
        ),
        color=vl.field(
            "position", "nominal", title="Position", legend=legend, scale={"domain": domain, "range": colours}
        ),
        size=vl.condition("(datum.focus === 'This council')", 160, dot_size),
        tooltip=[
            vl.field("council", "nominal"),
            vl.field("value", "quantitative", format=".2f"),
            vl.field("n", "quantitative", format=",.0f"),
            vl.field("position", "nominal"),
        ],
    )


def _funnel_download(plot: FunnelPlot, points: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """The funnel's CSV: each council's figure pooled over the window (numerator, cases) and its limits,
    unrounded. No ``period`` column: a pooled figure is not one month's (``first_period``..``last_period``)."""
    limits = [c for c in points.columns if c.startswith(("lower_", "upper_"))]
    frame = points.rename(columns={"council": "area_name"})[
        ["area", "area_name", "numerator", "denominator", "value", *limits, "position"]
    ].assign(first_period=plot.periods[0], last_period=plot.periods[-1], consortium_value=plot.target)
    out = indicator_download(frame, indicator)
    first = ["area", "area_name", "first_period", "last_period", "indicator", "indicator_name", "value", "unit"]
    return out[[*first, *(c for c in out.columns if c not in first)]]


def _funnel_labels(
    points: pd.DataFrame, highlight: str | None, many: bool, x_domain: list[float], y_domain: list[float]
) -> pd.DataFrame:
    """Which points are named and where: left edge and middle of each name, in data units, never overlapping.

    Priority: the own council, then beyond 99.8%, then beyond 95%, then (few
    councils only) the rest; within a priority, farthest from the target first.
    Width is estimated at 0.62 of the font size per character (DejaVu Sans,
    the charts' font, averages under 0.6), height 1.3 font sizes.
    """
    import math

    import pandas as pd

    def rank(row) -> int:
        if row["area"] == highlight:
            return 0
        return 1 if row["position"].startswith("Beyond 99.8%") else 2 if row["position"].startswith("Beyond 95%") else 3

    candidates = points.assign(_rank=[rank(r) for _, r in points.iterrows()])
    if many:
        candidates = candidates[candidates["_rank"] < 3]
    candidates = candidates.assign(_far=(candidates["z"].abs() if "z" in candidates else 0.0))
    candidates = candidates.sort_values(["_rank", "_far"], ascending=[True, False])
    lo, hi = math.log(x_domain[0]), math.log(x_domain[1])
    y0, y1 = y_domain

    def px(n: float, y: float) -> tuple[float, float]:
        return (FUNNEL_WIDTH * (math.log(n) - lo) / (hi - lo), FUNNEL_HEIGHT * (1 - (y - y0) / (y1 - y0)))

    def data_at(x_px: float, y_px: float) -> tuple[float, float]:
        return (math.exp(lo + x_px / FUNNEL_WIDTH * (hi - lo)), y0 + (1 - y_px / FUNNEL_HEIGHT) * (y1 - y0))

    height = 1.3 * FUNNEL_LABEL_FONT
    taken: list[tuple[float, float, float, float]] = []
    rows = []
    for _, row in candidates.iterrows():
        if len(rows) >= FUNNEL_MAX_LABELS:
            break
        text = str(row["council"])
        width = _text_width([text], FUNNEL_LABEL_FONT)
        cx, cy = px(float(row["denominator"]), float(row["value"]))
        gap = 7.0
        # (left edge, top) of the name's box: right, left, above, below, then right and left a line up or down
        for left, top in (
            (cx + gap, cy - height / 2),
            (cx - gap - width, cy - height / 2),
            (cx - width / 2, cy - gap - height),
            (cx - width / 2, cy + gap),
            (cx + gap, cy - 1.5 * height),
            (cx + gap, cy + 0.5 * height),
            (cx - gap - width, cy - 1.5 * height),
            (cx - gap - width, cy + 0.5 * height),
        ):
            box = (left, top, left + width, top + height)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= FUNNEL_WIDTH and box[3] <= FUNNEL_HEIGHT
            if inside and not any(_overlap(box, other) for other in taken):
                taken.append(box)
                label_n, label_y = data_at(left, top + height / 2)
                rows.append({"label": text, "label_n": label_n, "label_y": label_y, "focus": row["focus"]})
                break
    return pd.DataFrame(rows, columns=["label", "label_n", "label_y", "focus"])


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def correlation_matrix(matrix: pd.DataFrame, labels: dict[str, str], lag: int, id: str | None = None) -> Figure:
    """Heatmap of within-council correlations (leader this month, follower ``lag`` months later)."""
    title = f"How indicators move together, {lag} month(s) apart"
    if isinstance(matrix, NotYet):
        return unavailable(title, matrix.reason, id)
    if matrix.empty or _no_values(matrix.stack(future_stack=True)):
        return unavailable(
            title, "No pair of indicators has enough council-months yet to measure how they move together.", id
        )
    long = matrix.rename(index=labels, columns=labels).stack(future_stack=True).reset_index()
    long.columns = ["leader", "follower", "r"]
    long["text"] = long["r"].map(lambda r: "" if r != r else f"{r:+.2f}")
    order = [labels.get(i, i) for i in matrix.index]
    rows = vl.data(long)
    axes = {
        "x": vl.field(
            "follower",
            "nominal",
            sort=order,
            title=f"… this indicator {lag} month(s) later",
            axis={"labelAngle": -40, "labelLimit": LABEL_LIMIT},
        ),
        "y": vl.field("leader", "nominal", sort=order, title="This indicator now …", axis={"labelLimit": LABEL_LIMIT}),
    }
    r_scale = {"scheme": "blueorange", "domain": [-1, 1], "reverse": True}
    cells = vl.unit(rows, vl.mark("rect"), **axes, color=vl.field("r", "quantitative", title="r", scale=r_scale))
    text = vl.unit(
        rows,
        vl.mark("text"),
        **axes,
        text=vl.field("text", "nominal"),
        color=vl.condition("abs(datum.r) > 0.5", "white", "black"),
    )
    # beside the cells: the row names and the axis title, and the colour legend (about 60 pixels)
    beside = min(_text_width(order), LABEL_LIMIT) + 30 + 60
    chart = vl.chart(vl.layer(cells, text), width=max(30 * len(order), CHART_WIDTH - beside), height=30 * len(order))
    table = (
        matrix.rename(index=labels, columns=labels)
        .map(lambda r: "" if r != r else f"{r:+.2f}")
        .reset_index()
        .rename(columns={"leader": "This month", "index": "This month"})
    )
    strongest = long.dropna().reindex(long["r"].abs().dropna().sort_values(ascending=False).index).head(1)
    alt_text = (
        f"Matrix of correlations between indicators, each council's own average removed, pooling all councils; "
        f"rows lead by {lag} month(s). "
    )
    if len(strongest):
        row = strongest.iloc[0]
        alt_text += f"Strongest: {row['leader']} with {row['follower']} (r = {row['r']:+.2f})."
    return Figure(chart, title, alt_text, table, id)


def impact(
    series: pd.DataFrame,
    indicator: Indicator,
    area_name: str,
    start: str,
    title: str,
    peers: pd.DataFrame | None = None,
    id: str | None = None,
) -> Figure:
    """The council's series before and after an initiative's start, beside its peers' average."""
    import pandas as pd

    data = series.copy()
    if peers is not None:
        data = data.merge(peers.rename(columns={"value": "peers"}), on="period", how="left")
    data["month"] = data["period"].map(_month_label)
    cols = ["value"] + (["peers"] if peers is not None else [])
    long = data.melt(id_vars=["period", "month"], value_vars=cols, var_name="series", value_name="v").dropna()
    figure_title = f"{indicator.short}: {area_name} before and after the initiative"
    if long.empty:
        return unavailable(
            figure_title,
            f"No figures yet for {area_name} on {indicator.short}: the effect of '{title}' cannot be charted.",
            id,
        )
    long["series"] = long["series"].map({"value": area_name, "peers": "Peer councils (average)"})
    order = list(data["month"])
    domain = [area_name, "Peer councils (average)"]
    lines = vl.unit(
        vl.data(long),
        vl.mark("line", point=True),
        x=vl.field("month", "nominal", sort=order, title=None, axis={"labelAngle": -45}),
        y=vl.field("v", "quantitative", title=indicator.unit, scale={"zero": False}),
        **_series("series", domain, [OKABE_ITO["blue"], OKABE_ITO["black"]]),
    )
    marker = _month_marker("Initiative starts", _month_label(start), order)
    chart = vl.chart(vl.layer(lines, *marker), width=CHART_WIDTH - Y_AXIS, height=LINE_HEIGHT)
    table = pd.DataFrame(
        {"Month": [periods.label(p) for p in data["period"]], area_name: [indicator.format(v) for v in data["value"]]}
    )
    if peers is not None:
        table["Peer councils (average)"] = [indicator.format(v) for v in data["peers"]]
    before = data[data["period"] < start]["value"].mean()
    after = data[data["period"] >= start]["value"].mean()
    alt_text = (
        f"Line chart of {indicator.short} for {area_name} before and after '{title}' started in "
        f"{periods.label(start)}: average {indicator.format(before)} before, {indicator.format(after)} since"
        + (", with the peer councils' average for comparison." if peers is not None else ".")
    )
    return Figure(chart, figure_title, alt_text, table, id)
