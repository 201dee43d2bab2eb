"""Markdown to PDF: pandoc writes Typst with ``templates/report.typ``, the typst package compiles it.

The PDF has a cover, the council, report and period in every page header,
"Page n of m" in every footer, embedded fonts (Typst always embeds), tagged
structure and the PDF standards from ``_quarto.yml`` (PDF/A-2a and PDF/UA-1 by
default: archival for DWP, accessible for readers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from perfcore.config.site import TypstFormat
from perfcore.exceptions import BuildError
from perfcore.render.context import ANALYSTS, CONSORTIUM, DWP, PageContext
from perfcore.render.pandoc import TEMPLATES, WriterRun, write_formats

_LENGTH = re.compile(r"^\d+(\.\d+)?(pt|mm|cm|in|em)$")
_FONT = re.compile(r"^[\w .-]+$")


@dataclass(frozen=True)
class TypstSource:
    source: str
    warnings: tuple[str, ...] = ()


def typst_string(text: str) -> str:
    """A Typst string literal: shown as written, never read as markup."""
    cleaned = re.sub(r"[\x00-\x1f]+", " ", text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(options: TypstFormat) -> None:
    # these go into the template verbatim, so they must be plain lengths and names
    for name in ("margin_x", "margin_y", "fontsize"):
        if not _LENGTH.match(getattr(options, name)):
            raise BuildError(
                f"_quarto.yml format.typst: {name.replace('_', '.')} {getattr(options, name)!r} "
                "is not a length like 2cm"
            )
    if not _FONT.match(options.mainfont) or not _FONT.match(options.papersize):
        raise BuildError("_quarto.yml format.typst: mainfont and papersize must be plain names")


def _owner(context: PageContext) -> str:
    if context.council_name:
        return context.council_name
    return {CONSORTIUM: "All member councils", ANALYSTS: "Consortium analysts"}.get(context.audience, "DWP")


def markdown_to_typst(
    markdown: str, *, context: PageContext, options: TypstFormat, published: date, what: str
) -> TypstSource:
    """The Typst document for a page's markdown (the same markdown the HTML page is made from)."""
    (output,), warnings = write_formats(markdown, [typst_run(context, options, published)], what=what)
    return TypstSource(output, warnings)


def typst_run(context: PageContext, options: TypstFormat, published: date) -> WriterRun:
    """How pandoc writes a page's Typst (``templates/report.typ``, the perfcore Lua filter, the title block's
    variables)."""
    _check(options)
    lang, _, region = context.lang.partition("-")
    values = {
        "site-title": context.site_title,
        "council-name": _owner(context),
        "period-label": context.period_label,
        "report-name": context.report_title,
        "published": f"{published.day} {published:%B %Y}",
        "prepared-for": "Department for Work and Pensions" if context.for_dwp or context.audience == DWP else "",
        # the month is not complete yet (see periods.is_complete): the PDF says so as the page does
        "status": "Provisional: not every member's extract is in, figures may change" if context.provisional else "",
    }
    variables = {
        "lang": lang.lower(),
        "region": (region or "gb").lower(),
        "papersize": options.papersize,
        "margin-x": options.margin_x,
        "margin-y": options.margin_y,
        "mainfont": options.mainfont,
        "fontsize": options.fontsize,
    } | {key: typst_string(value) for key, value in values.items()}
    return WriterRun(
        to="typst",
        template=TEMPLATES / "report.typ",
        metadata=(("fallback-title", context.report_title),),
        variables=tuple(variables.items()),
        toc=options.toc,
    )


def compile_pdf(source: str, *, root: Path, standards: tuple[str, ...], published: date, what: str) -> bytes:
    """PDF bytes; ``root`` is the page's folder, where the chart SVGs are."""
    import typst

    # the timestamp fixes the PDF's dates, so a rebuild of the same month gives the same file
    stamp = int(datetime(published.year, published.month, published.day, tzinfo=UTC).timestamp())
    try:
        return typst.compile(
            source.encode("utf-8"),
            root=str(root),
            format="pdf",
            pdf_standards=list(standards),
            timestamp=stamp,
        )
    except Exception as exc:  # typst raises its own TypstError, or RuntimeError for I/O
        raise BuildError(f"{what}: typst could not make the PDF: {_typst_message(exc)}") from exc


def _typst_message(exc: Exception) -> str:
    """Typst's message and the line of the generated source it points at, on one line."""
    message = str(getattr(exc, "message", "") or exc).strip().splitlines()
    text = message[0] if message else type(exc).__name__
    where = re.search(r"\.typ:(\d+):(\d+)", str(getattr(exc, "diagnostic", "")))
    return f"{text} (generated Typst line {where.group(1)})" if where else text
