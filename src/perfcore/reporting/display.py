"""What report notebooks call to show things: one source, two formats.

Every helper publishes a Jupyter display output whose ``text/markdown`` (or
``image/svg+xml``) is what the renderer (``perfcore.render``) puts on the web
page *and* in the PDF, plus a ``text/html`` twin so the notebook still reads
well in Jupyter. The output's metadata carries ``{"perfcore": {"kind": ...}}``
so the renderer knows a table from a chart from its data table.

    from perfcore.reporting import display as show
    show.tiles([show.tile_for(indicator, value, previous)])
    show.table(df, "New claims by council", align="lrr")
    show.chart(chart, title="Days to decide new claims", alt="Line chart ...", data=df)
    show.callout("note", "Figures for March are provisional.")

Helpers return ``None`` on purpose: a returned value would be displayed a
second time as the cell's result. The ``*_bundle`` builders return the output
instead, for tests and for code that wants to inspect it.

Colour: the Okabe-Ito palette (safe for the common colour-vision
deficiencies); RAG status is always a word and a symbol as well as a colour.
"""

from __future__ import annotations

import html
import numbers
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcore.reporting.downloads import csv_text
from perfcore.reporting.wording import threshold_words

if TYPE_CHECKING:  # heavy imports stay out of import time
    import pandas as pd

    from perfcore.config.parameters import Indicator

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the
# common colour-vision deficiencies. Charts take categories in this order: the
# first five have at least 3:1 contrast on white, as WCAG 1.4.11 asks of lines
# and markers; orange, sky blue and yellow (2.3:1 and less) come last.
OKABE_ITO: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
CATEGORY_COLOURS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["black"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["yellow"],
)
RAG_COLOURS: Mapping[str, str] = {
    "green": OKABE_ITO["bluish_green"],
    "amber": OKABE_ITO["orange"],
    "red": OKABE_ITO["vermillion"],
}
TEXT_COLOUR = "#0B0C0C"  # 19:1 on white
CHART_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"  # DejaVu is what typst embeds in the PDF
# A chart's whole width in pixels: the page's text column (44rem in templates/assets/perfcore.css, where
# figure.chart is held to it) and, scaled to the PDF's text width (A4 less 2 × 2 cm, _quarto.yml), 482 pt.
CHART_WIDTH = 704
CHART_TEXT = 14  # pixels of a chart's words: 14 of the page's 16; 9.6 pt in the PDF beside 10 pt body text

# The status is a word and a distinct shape, so it survives greyscale print
# and colour-blindness; the colour only reinforces it.
RAG_SYMBOLS: Mapping[str, str] = {"green": "✔", "amber": "⚠", "red": "✖"}
RAG_WORDS: Mapping[str, str] = {"green": "Green", "amber": "Amber", "red": "Red"}
ARROWS: Mapping[str, str] = {"up": "↑", "down": "↓", "same": "→"}
CALLOUT_KINDS: Mapping[str, str] = {
    "note": "Note",
    "tip": "Tip",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
}
NO_DATA = "no data"

# Untrusted text (refs, file names, CSV fields, reasons quoting them) on pages:
# a rejection stays on a council's page for 12 months, so one hostile value
# must not break its PDF for a year. ``safe_text`` is the one sanitiser.
TEXT_LIMIT = 200  # characters of one table cell; the full text stays in `perfcore rejections`
PROSE_LIMIT = 2000  # backstop for any escaped inline text (Typst refuses PDF strings over 32,767 bytes)
ELLIPSIS = "…"
REPLACEMENT = "\ufffd"  # shown where the PDF's font has no glyph: visible, never a failed build
# Invisible characters that reorder or hide text (bidi overrides and isolates,
# zero-width joiners, BOM, interlinear annotation), besides C0/C1 controls.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_BREAKS = re.compile("[\t\n\r\u2028\u2029]+")
# What DejaVu Sans (the PDF's font, regular, bold and oblique) draws: whole
# Unicode blocks it covers, plus the symbols perfcore itself uses. Anything
# else (emoji, flags, CJK, ...) becomes REPLACEMENT; a test compiles every
# character listed here into a PDF/A with real Typst.
FONT_COVERAGE: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),
    (0x00A0, 0x02E9),  # Latin, Latin-1, Latin Extended A/B, IPA, modifiers
    (0x0300, 0x034F),  # combining diacritics (a decomposed é)
    (0x0370, 0x04FF),  # Greek, Cyrillic
    (0x2010, 0x205E),
    (0x20A0, 0x20B5),  # punctuation, currency
    (0x2190, 0x22FF),
    (0x2500, 0x25FF),  # arrows, mathematical operators, box drawing, shapes
    (0x2605, 0x2606),
    (0x26A0, 0x26A0),
    (0x2713, 0x2716),  # ★ ☆ ⚠ ✓ ✔ ✕ ✖
    (0xFFFD, 0xFFFD),
)


def _covered(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) != "Cn" and any(low <= code <= high for low, high in FONT_COVERAGE)


def safe_text(text: object, limit: int | None = TEXT_LIMIT) -> str:
    """Untrusted text made safe to show on a page, in HTML, in the PDF and in the search index.

    Line breaks become spaces; control characters, bidi overrides and
    zero-width characters go; a character the PDF's font cannot draw becomes
    U+FFFD (visibly replaced, never a failed PDF); past ``limit`` characters
    the text is cut with an ellipsis. Escaping for markdown is ``md_escape``'s job.
    """
    value = unicodedata.normalize("NFC", str(text))
    value = _INVISIBLE.sub("", _BREAKS.sub(" ", value))
    if not all(map(_covered, value)):
        value = "".join(c if _covered(c) else REPLACEMENT for c in value)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + ELLIPSIS
    return value


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|$~^@&#])")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Bundle:
    """One Jupyter display output: mime bundle plus metadata."""

    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return (self.metadata.get("perfcore") or {}).get("kind")

    def as_output(self) -> Any:
        """The bundle as an nbformat ``display_data`` output (for tests and tools)."""
        import nbformat

        return nbformat.v4.new_output("display_data", data=self.data, metadata=self.metadata)


@dataclass(frozen=True)
class Tile:
    """A headline figure: the indicator, its value, RAG status and direction of travel."""

    label: str
    value: str
    rag: str | None = None  # "green" | "amber" | "red" | None (no target)
    direction: str | None = None  # "up" | "down" | "same" | None (nothing to compare)
    improving: bool | None = None  # None: context measure, or no change
    change: str | None = None  # e.g. "down from 19.5 days last month"
    target: str | None = None  # e.g. "Target: 20 days or fewer"
    href: str | None = None  # the figure links to its explanation, e.g. "figures.html#new_claims_days"

    def __post_init__(self) -> None:
        if self.rag not in (None, *RAG_WORDS):
            raise ValueError(f"tile {self.label!r}: rag must be green, amber, red or None, not {self.rag!r}")
        if self.direction not in (None, *ARROWS):
            raise ValueError(f"tile {self.label!r}: direction must be up, down, same or None")


# --- text helpers ---------------------------------------------------------------------


def md_escape(text: object, limit: int | None = PROSE_LIMIT) -> str:
    """Text made literal for pandoc markdown (inline context): no accidental emphasis, links, pipes.

    The text is ``safe_text`` first, so whatever reaches a page through here
    shows in both formats."""
    return _MD_SPECIAL.sub(r"\\\1", safe_text(text, limit))


_SMART = re.compile(r"(['\"])|-(?=-)|\.(?=\.\.)")


def md_literal(text: object, limit: int | None = PROSE_LIMIT) -> str:
    """``md_escape`` that also keeps quotes, ``--`` and ``...`` as typed (pandoc's smart
    punctuation would curl them): for values from outside, shown exactly as stored."""
    return _SMART.sub(lambda m: "\\" + m.group(0), md_escape(text, limit))


def _attr(text: str) -> str:
    """A value for a pandoc ``{key="..."}`` attribute."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _check_id(value: str | None) -> str | None:
    if value is not None and not _ID.match(value):
        raise ValueError(f"id {value!r}: use letters, digits, '-' and '_', starting with a letter")
    return value


# A table's or chart's id lives in the page beside the sections' ids, which pandoc makes from the headings'
# words: a table "alerts" under the heading "Alerts" gave two elements one id, and "On this page" could land
# on the table. Tables and charts get Quarto's prefixes, which no heading's words make.
TABLE_PREFIX = "tbl-"
FIGURE_PREFIX = "fig-"


def element_id(prefix: str, value: str | None) -> str | None:
    """The page id of a table (``TABLE_PREFIX``) or chart (``FIGURE_PREFIX``) a notebook named ``value``.

    ``"alerts"`` becomes ``"tbl-alerts"``; an id that already has the prefix is kept, so
    ``"tbl-alerts"`` stays as it is. None stays None."""
    _check_id(value)
    if value is None or value.startswith(prefix):
        return value
    return prefix + value


def format_cell(value: object, decimals: int = 1, limit: int | None = TEXT_LIMIT) -> str:
    """How a table shows a raw value when the notebook did not format it (text cut at ``limit`` characters)."""
    import numpy as np
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return NO_DATA
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):,.{decimals}f}"
    return safe_text(value, limit)  # text in a table may come from outside: refs, file names, reasons


# --- tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A DataFrame reduced to strings: what both formats need."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...]  # "left" | "right" | "center" per column


_ALIGN_LETTERS = {"l": "left", "r": "right", "c": "center"}


def _grid(
    df: pd.DataFrame,
    align: str | Mapping[str, str] | Sequence[str] | None,
    decimals: int,
    limit: int | None = TEXT_LIMIT,
) -> _Grid:
    import pandas as pd

    frame = df if isinstance(df.index, pd.RangeIndex) else df.reset_index()
    header = tuple(str(c) for c in frame.columns)
    rows = tuple(
        tuple(format_cell(v, decimals, limit) for v in row) for row in frame.itertuples(index=False, name=None)
    )
    numeric = [_looks_numeric(frame[c], [row[i] for row in rows]) for i, c in enumerate(frame.columns)]
    return _Grid(header, rows, _resolve_align(header, numeric, align))


_NUMBER_TEXT = re.compile(r"^[-+−]?[£$€]?[\d,]*\.?\d+\s*(%|days?|pp|p)?$")


def _looks_numeric(column: pd.Series, cells: Sequence[str]) -> bool:
    """Numbers align right, including numbers the notebook already formatted ("18.2 days", "61.3%")."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    values = [c for c in cells if c != NO_DATA]
    return bool(values) and all(_NUMBER_TEXT.match(c) for c in values)


def _resolve_align(header: Sequence[str], numeric: Sequence[bool], align: Any) -> tuple[str, ...]:
    default = ["right" if n else "left" for n in numeric]
    if align is None:
        return tuple(default)
    if isinstance(align, str):
        if len(align) != len(header) or set(align) - set(_ALIGN_LETTERS):
            raise ValueError(f"align {align!r}: give one of l, r, c per column ({len(header)} columns)")
        return tuple(_ALIGN_LETTERS[a] for a in align)
    if isinstance(align, Mapping):
        return tuple(align.get(h, d) for h, d in zip(header, default))
    return tuple(align)


_PIPE_RULE = {"left": ":---", "right": "---:", "center": ":---:"}


def _column_widths(grid: _Grid) -> list[int]:
    """Relative column widths for pandoc: a wrapped table's columns are sized by the dashes
    under the header, so a column of sentences gets room and a column of codes does not."""
    widths = []
    for index, header in enumerate(grid.header):
        longest = max([len(str(header)), *(len(str(row[index])) for row in grid.rows)])
        widths.append(min(max(longest, 3), 60))
    return widths


def _pipe_rule(align: str, width: int) -> str:
    rule = _PIPE_RULE[align]
    return rule.replace("---", "-" * width)


def _pipe_table(grid: _Grid, caption: str, id: str | None) -> str:
    """A pandoc pipe table: parsed into a real table for HTML and Typst alike."""
    lines = [
        "| " + " | ".join(md_escape(h) for h in grid.header) + " |",
        "|" + "|".join(_pipe_rule(a, width) for a, width in zip(grid.align, _column_widths(grid))) + "|",
        *("| " + " | ".join(md_literal(c) for c in row) + " |" for row in grid.rows),
    ]
    label = f" {{#{id}}}" if id else ""
    return "\n".join(lines) + f"\n\n: {md_escape(caption)}{label}\n"


def _html_table(grid: _Grid, caption: str, id: str | None) -> str:
    """The same table for Jupyter's own display."""
    esc = html.escape
    style = lambda a: f' style="text-align: {a}"'  # noqa: E731
    head = "".join(f'<th scope="col"{style(a)}>{esc(h)}</th>' for h, a in zip(grid.header, grid.align))
    body = "".join(
        "<tr>" + "".join(f"<td{style(a)}>{esc(c)}</td>" for c, a in zip(row, grid.align)) + "</tr>" for row in grid.rows
    )
    ident = f' id="{esc(id)}"' if id else ""
    return f"<table{ident}><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table_bundle(
    df: pd.DataFrame,
    caption: str,
    *,
    id: str | None = None,
    align: str | Mapping[str, str] | Sequence[str] | None = None,
    decimals: int = 1,
    limit: int | None = TEXT_LIMIT,
    download: pd.DataFrame | None = None,
) -> Bundle:
    """A table output. ``align``: "lrr", {column: "right"}, or None (numbers right, text left).

    ``limit``: characters of a text cell before it is cut with "…" (a commentary
    table keeps the return's 2,000; at most ``PROSE_LIMIT``, which Typst's strings can hold).
    ``download``: what the table's CSV holds (tidy and unrounded, e.g. ``report.benchmark_data``);
    without it, the table's own columns, every text whole."""
    if not caption:
        raise ValueError("a table needs a caption: it is the table's accessible name")
    id = element_id(TABLE_PREFIX, id)
    if df.empty:
        text = f"{md_escape(caption)}: no data for this period."
        return Bundle({"text/markdown": text + "\n", "text/plain": text}, {"perfcore": {"kind": "table", "id": id}})
    grid = _grid(df, align, decimals, min(limit or PROSE_LIMIT, PROSE_LIMIT))
    return Bundle(
        {
            "text/markdown": _pipe_table(grid, caption, id),
            "text/html": _html_table(grid, caption, id),
            "text/csv": csv_text(df if download is None else download),
            "text/plain": caption,
        },
        {"perfcore": {"kind": "table", "id": id, "caption": caption}},
    )


def table(
    df: pd.DataFrame,
    caption: str,
    *,
    id: str | None = None,
    align: str | Mapping[str, str] | Sequence[str] | None = None,
    decimals: int = 1,
    limit: int | None = TEXT_LIMIT,
    download: pd.DataFrame | None = None,
) -> None:
    """Show a DataFrame as a real table on the page and in the PDF (text cells cut at ``limit`` characters),
    with a CSV of it to download (``download``: the tidy, unrounded figures behind it, if not the table itself).

    ``id="alerts"`` gives the table the page id ``tbl-alerts`` (``element_id``): never a section's id."""
    _publish(table_bundle(df, caption, id=id, align=align, decimals=decimals, limit=limit, download=download))


# --- charts ----------------------------------------------------------------------------


def chart_bundles(
    chart: Any,
    *,
    title: str,
    alt: str,
    data: pd.DataFrame,
    id: str | None = None,
    align: str | Mapping[str, str] | Sequence[str] | None = None,
    decimals: int = 1,
    download: pd.DataFrame | None = None,
) -> tuple[Bundle, Bundle]:
    """The chart (vector SVG) and its data table, as two outputs the renderer pairs by id."""
    if not title or not alt:
        raise ValueError("a chart needs a title and a text alternative (alt): WCAG 1.1.1")
    id = element_id(FIGURE_PREFIX, id)
    svg = chart_svg(chart)
    problem = svg_size_problem(svg)
    if problem:
        # Never publish what Typst cannot read (it would take the page and its PDF with it): say so instead.
        figure = callout_bundle(
            "warning", f"This chart could not be drawn ({problem}). Its data is in the table below.", title=title
        )
    else:
        meta = {"kind": "chart", "id": id, "title": title, "alt": alt}
        figure = Bundle({"image/svg+xml": svg, "text/plain": f"Chart: {title}"}, {"perfcore": meta})
    return figure, chart_data_bundle(data, title=title, chart_id=id, align=align, decimals=decimals, download=download)


MAX_CHART_PIXELS = 4000  # wider or taller than any page can hold: the chart's data was degenerate
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\s(width|height)="([^"]*)"[^>]*?\s(width|height)="([^"]*)"')


def svg_size(svg: str) -> tuple[float, float] | None:
    """(width, height) of an SVG's outer element in pixels, None when it does not say."""
    match = _SVG_SIZE.search(svg)
    if not match:
        return None
    sizes = {match.group(1): match.group(2), match.group(3): match.group(4)}
    try:
        return float(sizes["width"].removesuffix("px")), float(sizes["height"].removesuffix("px"))
    except (KeyError, ValueError):
        return None


def svg_size_problem(svg: str) -> str | None:
    """Why an SVG cannot go on a page (no size, or not a finite size a page can hold), or None."""
    import math

    size = svg_size(svg)
    if size is None:
        return "the drawing has no width and height"
    width, height = size
    if not all(math.isfinite(v) and 0 < v <= MAX_CHART_PIXELS for v in size):
        return f"the drawing came out {width:g} by {height:g} pixels"
    return None


def chart_data_bundle(
    data: pd.DataFrame,
    *,
    title: str,
    chart_id: str | None = None,
    align: str | Mapping[str, str] | Sequence[str] | None = None,
    decimals: int = 1,
    download: pd.DataFrame | None = None,
) -> Bundle:
    caption = f"Data for the chart: {title}"
    grid = _grid(data, align, decimals)
    table_html = _html_table(grid, caption, None)
    return Bundle(
        {
            "text/markdown": _pipe_table(grid, caption, None),
            "text/html": f"<details><summary>{html.escape(caption)}</summary>{table_html}</details>",
            "text/csv": csv_text(data if download is None else download),
            "text/plain": caption,
        },
        {"perfcore": {"kind": "chart-data", "chart": element_id(FIGURE_PREFIX, chart_id), "title": title}},
    )


def chart(
    chart: Any,
    *,
    title: str,
    alt: str,
    data: pd.DataFrame,
    id: str | None = None,
    align: str | Mapping[str, str] | Sequence[str] | None = None,
    decimals: int = 1,
    download: pd.DataFrame | None = None,
) -> None:
    """Show a chart (a Vega-Lite dict from ``charts``, or an Altair chart) as SVG, with a text alternative and
    its data as a table.

    ``alt`` says what the chart shows (the trend, not the encoding); ``data``
    is what a reader who cannot see the chart needs: usually the plotted values
    in wide form, one row per month. ``id="trend"`` gives the figure the page id ``fig-trend``.
    ``download``: what the chart's CSV holds (tidy and unrounded), if not ``data``.
    """
    bundles = chart_bundles(
        chart, title=title, alt=alt, data=data, id=id, align=align, decimals=decimals, download=download
    )
    for bundle in bundles:
        _publish(bundle)


def chart_svg(chart: Any) -> str:
    """SVG of a Vega-Lite dict (as ``charts`` builds them, its theme in its ``config``) or of an Altair chart
    (drawn with the perfcore theme), via vl-convert.

    vl-convert keeps one JavaScript runtime per process, so only the first
    chart a process draws pays its start-up (about half a second).
    """
    import vl_convert

    spec = chart if isinstance(chart, Mapping) else _themed_spec(chart)
    return vl_convert.vegalite_to_svg(spec)


def _themed_spec(chart: Any) -> dict[str, Any]:
    import altair as alt

    register_altair_theme()
    with alt.theme.enable("perfcore"):
        # Not validated again: Altair checks a chart's parts as they are made (its debug mode, on by default).
        return chart.to_dict(validate=False)


# --- tiles, callouts, prose ---------------------------------------------------------


def tile_for(
    indicator: Indicator,
    value: float | None,
    previous: float | None = None,
    *,
    previous_label: str = "last month",
    href: str | None = None,
) -> Tile:
    """A tile from a framework indicator: status from its thresholds, travel from ``previous``.

    ``previous_label`` finishes the sentence "down from 19.5 days ...": "last month",
    "in September 2026", "a year ago". ``href``: where the figure links (its explanation).
    """
    direction = improving = change = None
    if value is not None and previous is not None and value == value and previous == previous:
        direction = "same" if value == previous else "up" if value > previous else "down"
        improving = indicator.is_better(value, previous)
        change = (
            f"same as {previous_label}"
            if direction == "same"
            else f"{direction} from {indicator.format(previous)} {previous_label}"
        )
    target = None
    if indicator.thresholds is not None:
        target = f"Green: {indicator.format(indicator.thresholds.green)} {threshold_words(indicator).suffix}"
    return Tile(
        label=indicator.name,
        value=indicator.format(value),
        rag=indicator.rag(value),
        direction=direction,
        improving=improving,
        change=change,
        target=target,
        href=href,
    )


def rag_text(rag: str | None) -> str:
    """'✔ Green' etc.: the word carries the meaning, the symbol the shape."""
    return f"{RAG_SYMBOLS[rag]} {RAG_WORDS[rag]}" if rag else "No target"


def travel_text(tile: Tile) -> str | None:
    """'↓ Improving, down from 19.5 days last month'; '↑ Up from 16,790 last month' for context measures."""
    if tile.direction is None:
        return None
    arrow = ARROWS[tile.direction]
    if tile.improving is not None and tile.direction != "same":
        word = "Improving" if tile.improving else "Worsening"
        return f"{arrow} {word}, {tile.change}" if tile.change else f"{arrow} {word}"
    # no better direction (or no change): the change text says it all
    if tile.change:
        return f"{arrow} {tile.change[0].upper()}{tile.change[1:]}"
    return f"{arrow} {dict(up='Up', down='Down', same='No change')[tile.direction]}"


def _tile_markdown(tile: Tile) -> str:
    rag = tile.rag or "none"
    lines = [
        f"::: {{.tile .rag-{rag}}}",
        f"[{md_escape(tile.label)}]{{.tile-label}}",
        "",
        f"[{_explain_link(md_escape(tile.value), tile.href)}]{{.tile-value}}",
        "",
        _symbol_span(rag_text(tile.rag), "tile-status", bool(tile.rag)),
    ]
    travel = travel_text(tile)
    if travel:
        lines += ["", _symbol_span(travel, "tile-trend", True)]
    if tile.target:
        lines += ["", f"[{md_escape(tile.target)}]{{.tile-target}}"]
    return "\n".join(lines + [":::"])


def _explain_link(text: str, href: str | None) -> str:
    """``text`` as a link to its explanation (web only: the PDF drops the link, keeping the text)."""
    if href is None:
        return text
    return f'[{text}]({href}){{.explain title="{_attr("How this figure is worked out")}"}}'


def _symbol_span(text: str, cls: str, has_symbol: bool) -> str:
    """The symbol is hidden from screen readers (the words say it); the rest is read."""
    if not has_symbol:
        return f"[{md_escape(text)}]{{.{cls}}}"
    symbol, words = text.split(" ", 1)
    return f'[[{symbol}]{{.symbol aria-hidden="true"}} {md_escape(words)}]{{.{cls}}}'


def tiles_bundle(items: Iterable[Tile | Mapping[str, Any]]) -> Bundle:
    tiles_ = [t if isinstance(t, Tile) else Tile(**t) for t in items]
    markdown = "::::: {.tiles}\n" + "\n\n".join(_tile_markdown(t) for t in tiles_) + "\n:::::\n"
    cards = "".join(
        f"<li><strong>{html.escape(t.label)}</strong><br>{html.escape(t.value)}<br>{html.escape(rag_text(t.rag))}"
        f"{'<br>' + html.escape(travel_text(t) or '') if t.direction else ''}</li>"
        for t in tiles_
    )
    return Bundle(
        {"text/markdown": markdown, "text/html": f"<ul>{cards}</ul>", "text/plain": "; ".join(t.label for t in tiles_)},
        {"perfcore": {"kind": "tiles"}},
    )


def tiles(items: Iterable[Tile | Mapping[str, Any]]) -> None:
    """Headline tiles: indicator, value, RAG as word + symbol, direction of travel as arrow + word."""
    _publish(tiles_bundle(items))


def callout_bundle(kind: str, text: str, *, title: str | None = None) -> Bundle:
    if kind not in CALLOUT_KINDS:
        raise ValueError(f"callout kind {kind!r}: use one of {', '.join(CALLOUT_KINDS)}")
    heading = title or CALLOUT_KINDS[kind]
    markdown = f'::: {{.callout .callout-{kind} title="{_attr(heading)}"}}\n{text}\n:::\n'
    return Bundle(
        {"text/markdown": markdown, "text/plain": f"{heading}: {text}"},
        {"perfcore": {"kind": "callout", "callout": kind}},
    )


def callout(kind: str, text: str, *, title: str | None = None) -> None:
    """A boxed note: kind is note, tip, important, warning or caution; ``text`` is markdown."""
    _publish(callout_bundle(kind, text, title=title))


def markdown_bundle(text: str) -> Bundle:
    return Bundle({"text/markdown": text, "text/plain": text}, {"perfcore": {"kind": "markdown"}})


def markdown(text: str) -> None:
    """Prose computed in code (e.g. an f-string with this month's figures), as markdown."""
    _publish(markdown_bundle(text))


# --- the charts' theme ----------------------------------------------------------------


def chart_config() -> dict[str, Any]:
    """The perfcore theme, Vega-Lite's ``config``: Okabe-Ito colours, dark text, no chart junk, sizes for reading.

    Written once for both kinds of chart: the ``charts`` builders' dicts carry it (``vegalite.chart``), and
    Altair charts get it as the "perfcore" theme (``altair_theme``). A new dict each call: nobody shares it.

    A chart is about ``CHART_WIDTH`` pixels wide in all, axes included (the builders in ``charts`` size
    each plot so; a chart made without a width gets a plot that leaves room for a y axis), the page's text
    column; its words are ``CHART_TEXT`` pixels: on the page nearly the body text's 16, and in the PDF,
    where the chart spans the text width (17 cm), about the body's 10 pt."""
    axis = {
        "labelColor": TEXT_COLOUR,
        "titleColor": TEXT_COLOUR,
        "labelFontSize": CHART_TEXT,
        "titleFontSize": CHART_TEXT,
        "titleFontWeight": "normal",
        "gridColor": "#DDDDDD",
        "domainColor": "#505A5F",
        "tickColor": "#505A5F",
    }
    legend = {
        "labelColor": TEXT_COLOUR,
        "titleColor": TEXT_COLOUR,
        "labelFontSize": CHART_TEXT,
        "titleFontSize": CHART_TEXT,
        "symbolSize": 120,
        "labelLimit": CHART_WIDTH // 2,  # Vega's 160 pixels cut "Special cause: improving" at these sizes
    }
    return {
        "font": CHART_FONT,
        "background": "#FFFFFF",
        "view": {"stroke": None, "continuousWidth": CHART_WIDTH - 60, "continuousHeight": 260},
        "range": {"category": list(CATEGORY_COLOURS)},
        "axis": axis,
        "legend": legend,
        "title": {"color": TEXT_COLOUR, "fontSize": CHART_TEXT + 2, "anchor": "start"},
        "text": {"fontSize": CHART_TEXT - 1, "color": TEXT_COLOUR},
        "line": {"strokeWidth": 2.5},
        "point": {"size": 60, "filled": True},
        "bar": {"color": OKABE_ITO["blue"]},
        "mark": {"color": OKABE_ITO["blue"]},
    }


def altair_theme() -> dict[str, Any]:
    """The perfcore theme for Altair charts (an analyst's own): ``chart_config`` as Altair's theme."""
    return {"config": chart_config()}


_theme_registered = False  # Altair's theme registry lives as long as the process


def register_altair_theme(enable: bool = False) -> None:
    """Register the theme as "perfcore" (idempotent); ``enable`` makes it the default.

    Once per process: Altair's ``theme.names()`` reads every installed package's entry points on each
    call (about 3 ms), and every chart a page draws would ask."""
    import altair as alt

    global _theme_registered
    if not _theme_registered:
        if "perfcore" not in alt.theme.names():
            alt.theme.register("perfcore", enable=False)(altair_theme)
        _theme_registered = True
    if enable:
        alt.theme.enable("perfcore")


# --- publishing ------------------------------------------------------------------------


def _publish(bundle: Bundle) -> None:
    from IPython.display import display

    display(bundle.data, raw=True, metadata=bundle.metadata)
