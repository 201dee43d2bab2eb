"""perfcore.reporting.display: the outputs notebooks publish for the renderer."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from perfcore.config.parameters import Indicator, Thresholds
from perfcore.reporting import display


def _relative_luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_table_is_a_pipe_table_with_caption_and_id(snapshot):
    frame = pd.DataFrame(
        {"Council": ["Dundee City", "East *Ayrshire* | x"], "Days": [18.25, 20.0], "Claims": [412, 1380]}
    )
    bundle = display.table_bundle(frame, "New claims, October 2026", id="tbl-claims")
    markdown = bundle.data["text/markdown"]
    assert re.fullmatch(r"\|:-{3,}\|-{3,}:\|-{3,}:\|", markdown.splitlines()[1])  # text left, numbers right
    assert r"East \*Ayrshire\* \| x" in markdown  # escaped: no emphasis, no extra column
    assert markdown.rstrip().endswith(": New claims, October 2026 {#tbl-claims}")
    assert "1,380" in markdown and "18.2" in markdown
    assert "<caption>New claims, October 2026</caption>" in bundle.data["text/html"]
    assert bundle.kind == "table"
    snapshot("render/table.md", markdown)


def test_formatted_numbers_align_right_and_missing_values_say_so():
    frame = pd.DataFrame({"Indicator": ["a", "b"], "Value": ["18.2 days", "61.3%"], "Raw": [1.0, None]})
    markdown = display.table_bundle(frame, "Caption").data["text/markdown"]
    assert re.fullmatch(r"\|:-{3,}\|-{3,}:\|-{3,}:\|", markdown.splitlines()[1])
    assert "| no data |" in markdown


def test_table_alignment_can_be_given():
    frame = pd.DataFrame({"A": [1], "B": [2]})
    rule = display.table_bundle(frame, "c", align="cl").data["text/markdown"].splitlines()[1]
    assert re.fullmatch(r"\|:-{3,}:\|:-{3,}\|", rule)  # centred, then left
    with pytest.raises(ValueError):
        display.table_bundle(frame, "c", align="lrr")


def test_table_needs_a_caption_and_an_empty_table_says_no_data():
    with pytest.raises(ValueError, match="caption"):
        display.table_bundle(pd.DataFrame({"a": [1]}), "")
    assert "no data" in display.table_bundle(pd.DataFrame({"a": []}), "Empty").data["text/markdown"]


def test_tiles_show_rag_as_word_and_symbol_and_travel_as_arrow_and_word(snapshot):
    bundle = display.tiles_bundle(
        [
            display.Tile(
                "New claims",
                "18.2 days",
                rag="green",
                direction="down",
                improving=True,
                change="down from 19.5 days last month",
            ),
            display.Tile("Changes", "9.6 days", rag="amber", direction="up", improving=False),
            display.Tile("Recovery", "61.3%", rag="red", direction="same", change="same as last month"),
            {"label": "Caseload", "value": "16,842"},
        ]
    )
    markdown = bundle.data["text/markdown"]
    assert '[[✔]{.symbol aria-hidden="true"} Green]{.tile-status}' in markdown
    assert "Amber]{.tile-status}" in markdown and "Red]{.tile-status}" in markdown
    assert "Improving, down from 19.5 days last month" in markdown
    assert "Worsening]{.tile-trend}" in markdown
    assert "Same as last month" in markdown
    assert "[No target]{.tile-status}" in markdown
    assert markdown.count('aria-hidden="true"') == 6  # symbols only; the words are read
    snapshot("render/tiles.md", markdown)


def test_tile_for_uses_the_indicator_thresholds_and_direction():
    indicator = Indicator(
        id="nc",
        name="New claims: average days",
        short="New claims",
        definition="",
        unit="days",
        better="lower",
        numerator=("a",),
        denominator=("b",),
        thresholds=Thresholds(green=22, amber=30),
    )
    tile = display.tile_for(indicator, 18.2, 19.5)
    assert (tile.rag, tile.direction, tile.improving) == ("green", "down", True)
    assert display.travel_text(tile) == "↓ Improving, down from 19.5 days last month"
    assert tile.target == "Green: 22.0 days or fewer"
    assert display.tile_for(indicator, 31, 31).rag == "red"
    assert display.travel_text(display.tile_for(indicator, 31, 31)) == "→ Same as last month"
    assert display.tile_for(indicator, None).value == "no data"


def test_tile_rejects_unknown_status():
    with pytest.raises(ValueError):
        display.Tile("x", "1", rag="blue")


def test_callout_and_markdown(snapshot):
    bundle = display.callout_bundle("warning", "October is **provisional**.")
    assert bundle.data["text/markdown"].startswith('::: {.callout .callout-warning title="Warning"}')
    with pytest.raises(ValueError):
        display.callout_bundle("shout", "x")
    assert display.markdown_bundle("Some *text*").data["text/markdown"] == "Some *text*"
    snapshot("render/callout.md", bundle.data["text/markdown"])


def test_chart_is_svg_with_alt_and_its_data_as_table_and_csv():
    import altair as alt

    frame = pd.DataFrame({"Month": ["2026-09", "2026-10"], "Days": [19.5, 18.2]})
    chart = alt.Chart(frame).mark_line().encode(x="Month:O", y="Days:Q")
    figure, data = display.chart_bundles(
        chart, title="Days", alt="Days fell from 19.5 to 18.2.", data=frame, id="fig-days"
    )
    assert figure.data["image/svg+xml"].lstrip().startswith("<svg")
    assert figure.metadata["perfcore"] == {
        "kind": "chart",
        "id": "fig-days",
        "title": "Days",
        "alt": "Days fell from 19.5 to 18.2.",
    }
    assert data.kind == "chart-data" and data.metadata["perfcore"]["chart"] == "fig-days"
    assert "| 2026-10 | 18.2 |" in data.data["text/markdown"]
    assert data.data["text/csv"].splitlines()[0] == "Month,Days"
    assert "<details>" in data.data["text/html"]
    with pytest.raises(ValueError, match="text alternative"):
        display.chart_bundles(chart, title="Days", alt="", data=frame)


def test_chart_uses_the_okabe_ito_palette():
    import altair as alt

    frame = pd.DataFrame({"x": [1, 2, 1, 2], "y": [1, 2, 3, 4], "s": ["a", "a", "b", "b"]})
    svg = display.chart_svg(alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q", color="s:N"))
    strokes = set(re.findall(r'stroke="(#[0-9a-fA-F]{6})"', svg))
    assert display.CATEGORY_COLOURS[0].lower() in {s.lower() for s in strokes}
    assert display.CATEGORY_COLOURS[1].lower() in {s.lower() for s in strokes}


def test_palette_and_text_colours_have_enough_contrast():
    # lines and markers need 3:1 against white (WCAG 1.4.11): the first five categories have it
    for colour in display.CATEGORY_COLOURS[:5]:
        assert contrast(colour, "#FFFFFF") >= 3, colour
    assert contrast(display.TEXT_COLOUR, "#FFFFFF") >= 7
    assert set(display.RAG_COLOURS.values()) <= set(display.OKABE_ITO.values())


def test_importing_display_is_light():
    import subprocess
    import sys

    heavy = "('pandas', 'altair', 'vl_convert', 'typst', 'lxml')"
    imports = "import sys, perfcore.reporting.display, perfcore.render"
    code = f"{imports}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_wide_columns_get_room_in_a_wrapped_table():
    """Pandoc sizes a wrapped pipe table's columns by the dashes under the header."""
    frame = pd.DataFrame({"Code": ["A1"], "Evidence": ["a long sentence " * 4]})
    rule = display.table_bundle(frame, "c").data["text/markdown"].splitlines()[1]
    code, evidence = rule.strip("|").split("|")
    assert len(evidence) > 5 * len(code)
