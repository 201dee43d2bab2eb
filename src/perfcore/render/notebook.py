"""An executed notebook as pandoc markdown: what Quarto's Jupyter filters do, for our outputs.

Rules, per cell:

* markdown cells: their text, as written;
* code cells: the source is never shown; only display outputs are kept,
  choosing per output the richest format both HTML and Typst can carry:
  ``text/markdown`` (inlined) > ``image/svg+xml`` (a file beside the page) >
  Vega-Lite (drawn to SVG here) > ``image/png`` > ``text/html`` (read back by
  pandoc into a real table) > ``text/plain`` (dropped, with a warning);
* stdout/stderr streams are dropped; errors are dropped from the page and
  reported in ``errors``;
* Quarto cell options ``#| include: false`` and ``#| output: false`` and the
  tags ``remove-cell``/``remove-output`` hide a cell's outputs.

Outputs made with ``perfcore.reporting.display`` carry ``{"perfcore": {"kind": ...}}``
metadata: charts get a figure with their text alternative, and their data
table a ``.chart-data`` block the Lua filter turns into a ``<details>`` (HTML)
or a table under the chart (PDF). A table's CSV (``text/csv``) becomes a file
beside the page and a ``.table-download`` block: a link on the web page,
nothing in the PDF.

Nothing here writes files: the result lists the assets for the caller.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfcore.exceptions import BuildError
from perfcore.reporting.display import TABLE_PREFIX, md_escape

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OPTION = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")
_HIDE_TAGS = {"remove-cell", "remove-output", "remove_cell", "remove_output", "hide-output"}
_VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+\+json$")
_RAW_FORMATS = {"text/markdown": None, "markdown": None, "text/html": "html", "html": "html", "typst": "typst"}


@dataclass(frozen=True)
class Asset:
    """A file to write beside the page: ``name`` inside the page's ``_files`` folder."""

    name: str
    content: bytes


@dataclass(frozen=True)
class NotebookMarkdown:
    markdown: str
    assets: tuple[Asset, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass
class _State:
    """What converting one notebook accumulates (private, mutable on purpose)."""

    prefix: str
    assets: list[Asset] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: int = 0
    tables: int = 0  # numbers each table's CSV: ids may repeat on a page, file names may not
    last_chart: tuple[str, str] | None = None  # (figure id, asset stem) for pairing chart data

    def add_asset(self, stem: str, suffix: str, content: bytes) -> str:
        name = f"{stem}{suffix}"
        self.assets.append(Asset(name, content))
        return f"{self.prefix}/{name}"


def read_notebook(path: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError as exc:
        raise BuildError(f"{path}: executed notebook not found") from exc
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise BuildError(f"{path}: not a readable notebook: {exc}") from exc


def notebook_to_markdown(notebook: Any, *, assets_prefix: str) -> NotebookMarkdown:
    """Pandoc markdown for an executed notebook; asset links start with ``assets_prefix``."""
    state = _State(prefix=assets_prefix)
    blocks: list[str] = []
    for number, cell in enumerate(notebook.cells, start=1):
        blocks.extend(_cell_blocks(cell, number, state))
    markdown = "\n\n".join(b.strip("\n") for b in blocks if b.strip()) + "\n"
    return NotebookMarkdown(markdown, tuple(state.assets), tuple(state.errors), tuple(state.warnings))


def _cell_blocks(cell: Any, number: int, state: _State) -> list[str]:
    if cell.cell_type == "markdown":
        if cell.get("attachments"):
            state.warnings.append(f"cell {number}: markdown attachments are not published; use display.chart")
        return [cell.source]
    if cell.cell_type == "raw":
        return [_raw_block(cell)]
    if cell.cell_type != "code":
        return []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            state.errors.append(
                f"cell {number}: {output.get('ename', 'Error')}: {_ANSI.sub('', output.get('evalue', ''))}"
            )
    if _hidden(cell):
        return []
    return [text for output in cell.get("outputs", []) if (text := _output_block(output, number, state))]


def _raw_block(cell: Any) -> str:
    meta = cell.get("metadata", {})
    fmt = meta.get("format") or meta.get("raw_mimetype") or ""
    if fmt not in _RAW_FORMATS:
        return ""
    target = _RAW_FORMATS[fmt]
    return cell.source if target is None else f"```{{={target}}}\n{cell.source}\n```"


def cell_options(source: str) -> dict[str, str]:
    """Quarto's ``#| key: value`` lines at the top of a code cell."""
    options = {}
    for line in source.splitlines():
        match = _OPTION.match(line)
        if not match:
            break
        options[match.group(1)] = match.group(2).strip("'\"").lower()
    return options


def _hidden(cell: Any) -> bool:
    options = cell_options(cell.source)
    tags = set(cell.get("metadata", {}).get("tags", []))
    return options.get("include") == "false" or options.get("output") == "false" or bool(tags & _HIDE_TAGS)


def _output_block(output: Any, number: int, state: _State) -> str | None:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None  # streams and errors never reach the page
    data = output.get("data", {})
    meta = (output.get("metadata") or {}).get("perfcore") or {}
    kind = meta.get("kind")
    if kind == "chart" and "image/svg+xml" in data:
        return _chart(_text(data["image/svg+xml"]), meta, state)
    if kind == "chart-data" and "text/markdown" in data:
        return _chart_data(data, meta, state)
    if kind == "table" and "text/markdown" in data and "text/csv" in data:
        return _table(data, meta, state)
    if "text/markdown" in data:
        return _text(data["text/markdown"])
    if "image/svg+xml" in data:
        return _image(_text(data["image/svg+xml"]).encode("utf-8"), ".svg", output, number, state)
    vegalite = next((k for k in data if _VEGALITE.match(k)), None)
    if vegalite:
        return _vegalite(data[vegalite], output, number, state)
    if "image/png" in data:
        return _image(base64.b64decode(_text(data["image/png"])), ".png", output, number, state)
    if "text/html" in data:
        state.warnings.append(f"cell {number}: HTML output converted by pandoc; use display.table for a reliable table")
        return _html_to_markdown(_text(data["text/html"]), number)
    if "text/plain" in data:
        state.warnings.append(f"cell {number}: plain-text output dropped; use display.markdown or display.table")
    return None


def _text(value: Any) -> str:
    """nbformat keeps multi-line strings either whole or as a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _chart(svg: str, meta: dict[str, Any], state: _State) -> str:
    state.figures += 1
    stem = f"chart-{state.figures:02d}"
    figure_id = meta.get("id") or f"fig-{state.figures}"
    src = state.add_asset(stem, ".svg", svg.encode("utf-8"))
    state.last_chart = (figure_id, stem)
    return _figure_markdown(meta.get("title") or "Chart", meta.get("alt") or "", src, figure_id)


def _figure_markdown(title: str, alt: str, src: str, figure_id: str) -> str:
    escaped_alt = alt.replace("\\", "\\\\").replace('"', '\\"')
    return f'![{md_escape(title)}]({src}){{#{figure_id} alt="{escaped_alt}"}}'


def _chart_data(data: dict[str, Any], meta: dict[str, Any], state: _State) -> str:
    figure_id, stem = state.last_chart or ("", f"chart-{state.figures:02d}")
    attrs = [f'data-chart="{figure_id}"', f'data-title="{_attr(meta.get("title") or "")}"']
    if "text/csv" in data:
        csv_src = state.add_asset(stem, ".csv", _text(data["text/csv"]).encode("utf-8"))
        attrs.append(f'data-csv="{csv_src}"')
    return f"::: {{.chart-data {' '.join(attrs)}}}\n{_text(data['text/markdown']).strip()}\n:::"


def _table(data: dict[str, Any], meta: dict[str, Any], state: _State) -> str:
    """The table, then a ``.table-download`` block the Lua filter makes a link to its CSV (HTML only)."""
    state.tables += 1
    # the file is named for the table, not for its page id (``tbl-`` + id, see display.element_id)
    name = str(meta.get("id") or "").removeprefix(TABLE_PREFIX)
    stem = f"table-{state.tables:02d}" + (f"-{name}" if name else "")
    csv_src = state.add_asset(stem, ".csv", _text(data["text/csv"]).encode("utf-8"))
    caption = _attr(" ".join(str(meta.get("caption") or "").split()))
    block = f'::: {{.table-download data-csv="{csv_src}" data-title="{caption}"}}\n:::'
    return f"{_text(data['text/markdown']).strip()}\n\n{block}"


def _attr(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _image(content: bytes, suffix: str, output: Any, number: int, state: _State) -> str:
    meta = output.get("metadata") or {}
    info = meta.get("perfcore") or meta.get("image/svg+xml" if suffix == ".svg" else "image/png") or {}
    alt = info.get("alt") if isinstance(info, dict) else None
    if not alt:
        state.warnings.append(f"cell {number}: image without a text alternative; use display.chart(..., alt=...)")
    state.figures += 1
    src = state.add_asset(f"figure-{state.figures:02d}", suffix, content)
    title = info.get("title") if isinstance(info, dict) else None
    return _figure_markdown(title or alt or "Figure", alt or "", src, f"fig-{state.figures}")


def _vegalite(spec: Any, output: Any, number: int, state: _State) -> str:
    from perfcore.reporting.display import chart_svg

    svg = chart_svg(spec)  # one vl-convert runtime for the whole build process
    title = spec.get("title") if isinstance(spec.get("title"), str) else None
    alt = spec.get("description") or title or ""
    if not spec.get("description"):
        state.warnings.append(
            f"cell {number}: Altair chart shown without display.chart: no text alternative or data table"
        )
    state.figures += 1
    src = state.add_asset(f"chart-{state.figures:02d}", ".svg", svg.encode("utf-8"))
    return _figure_markdown(title or "Chart", alt, src, f"fig-{state.figures}")


def _html_to_markdown(html: str, number: int) -> str:
    from perfcore.render.pandoc import run_pandoc

    # raw HTML off: pandoc must express the table as markdown, so both formats get it
    result = run_pandoc(
        html,
        reader=("--from", "html"),
        to="markdown-raw_html-native_divs-native_spans-raw_attribute",
        what=f"cell {number} HTML output",
    )
    return result.output
