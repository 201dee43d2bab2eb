"""The figures pages: where each figure of a month comes from, written straight as HTML.

One page per council and month (``councils/<slug>/<period>/figures.html``) and
one for the consortium (``consortium/<period>/figures.html``), a section per
indicator whose id is the indicator's id, so a tile, table or chart links to
``figures.html#new_claims_days``. A council's page names its own submitted
files (name, received, Sequence, SHA-256, counted or replaced); the
consortium's shows aggregates only: each member's numerator and denominator
and the pooled figure, never a file name.

No notebook, no kernel, no pandoc: the pages are made from
``reporting.explain.Evidence`` (read once for the whole build) in the site's
page shell, with a manifest beside each so ``build_site`` lists them in the
month's index, the report index and the search. A page whose bytes are
unchanged is not rewritten. Every text from outside (file names above all) is
escaped here.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from perfcore import files, periods
from perfcore.config.parameters import Council
from perfcore.config.site import SiteConfig
from perfcore.render.context import CONSORTIUM, COUNCIL, MANIFEST, PageContext, RenderedPage
from perfcore.render.html import page_text, relative, render_shell
from perfcore.reporting.display import rag_text, safe_text
from perfcore.reporting.explain import (
    Evidence,
    Explanation,
    PooledExplanation,
    amount,
    explain,
    explain_pooled,
)

REPORT = "figures"  # the page's file name: figures.html beside the month's reports
TITLE = "Where each figure comes from"
FILES = f"{REPORT}_files"  # beside the page: its manifest and each table's CSV


class Downloads:
    """Each table's CSV on a figures page, collected while the page is drawn and written beside it.

    The CSVs hold exactly what the tables show, with figures unrounded (``downloads.csv_text``: text from
    outside, such as a file's name, can never run as a spreadsheet formula)."""

    def __init__(self) -> None:
        self.files: dict[str, list[dict]] = {}

    def link(self, stem: str, rows: list[dict], caption: str) -> str:
        self.files[stem] = rows
        return (
            f'<p><span class="table-download"><a href="{FILES}/{_e(stem)}.csv" download="">Download this table '
            f'(CSV)<span class="visually-hidden">: {_e(caption)}</span></a></span></p>'
        )

    def write(self, folder: Path) -> None:
        from perfcore.reporting.downloads import records_csv

        for stem, rows in self.files.items():
            write_if_changed(folder / f"{stem}.csv", records_csv(rows))


@dataclass(frozen=True)
class Month:
    """One month to write: its period and whether it is provisional (``ReportData.status``)."""

    period: str
    provisional: bool = False


def write_pages(
    evidence: Evidence,
    months: Iterable[Month],
    site: Path,
    config: SiteConfig,
    *,
    published: date,
) -> list[RenderedPage]:
    """Every member's figures page and the consortium's, for each month; unchanged files left alone."""
    from perfcore.render.site import page_context

    pages = []
    for month in months:
        common = dict(period=month.period, report=REPORT, report_title=TITLE, provisional=month.provisional)
        context = page_context(config, audience=CONSORTIUM, **common)
        tables = Downloads()
        body = consortium_body(evidence, month.period, context, tables)
        pages.append(_write(site, context, config, published, body, tables))
        for council in evidence.consortium.members:
            context = page_context(
                config, audience=COUNCIL, council_name=council.name, council_slug=council.slug, **common
            )
            tables = Downloads()
            body = council_body(evidence, council, month.period, tables)
            pages.append(_write(site, context, config, published, body, tables))
    return pages


def _write(
    site: Path, context: PageContext, config: SiteConfig, published: date, body: str, tables: Downloads
) -> RenderedPage:
    from perfcore.render.page import _page_shell

    title = f"{context.audience_label}: {TITLE.lower()}, {context.period_label}"
    shell = _page_shell(context, config, html.escape(title), "", body, None, published)
    out = site / context.page_path
    write_if_changed(out, render_shell(shell))
    page = RenderedPage(context=context, html=out, pdf=None, title=title, text=page_text(body))
    write_if_changed(out.parent / FILES / MANIFEST, json.dumps(page.to_json(), indent=1, ensure_ascii=False))
    tables.write(out.parent / FILES)
    return page


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds exactly it: a rebuild with nothing changed writes nothing."""
    return files.write_if_changed(path, text.encode("utf-8"))


# -- a council's page ------------------------------------------------------------------------------------------


def council_body(evidence: Evidence, council: Council, period: str, tables: Downloads | None = None) -> str:
    found = [explain(evidence, council.code, period, i.id, strict=False) for i in evidence.framework.indicators]
    page = PurePosixPath("councils") / council.slug / period / f"{REPORT}.html"
    pooled = relative(page, f"consortium/{period}/{REPORT}.html")
    intro = (
        f"<p>How each of {_e(council.name)}'s figures for {_e(periods.label(period))} is worked out: the "
        f"definition (framework version {_e(evidence.framework.version)}), the numerator and denominator, the "
        "components they add up and the files they came from. Each file is named as received, with its SHA-256 "
        "to check it against your copy; a file replaced by a later Sequence is listed as replaced. The same "
        "is printed by <code>perfcore explain --council "
        f"{_e(council.code)} --period {_e(period)} --indicator ID</code>.</p>"
    )
    tables = tables if tables is not None else Downloads()
    sections = (_council_section(e, pooled, tables) for e in found)
    return "\n".join([intro, _summary(found, f"The figures for {periods.label(period)}", tables), *sections])


def _summary(found: list[Explanation] | list[PooledExplanation], caption: str, tables: Downloads) -> str:
    """Every figure of the page in one table, each linked to its section, and its CSV."""
    rows = "".join(
        f'<tr><th scope="row"><a href="#{e.indicator.id}">{_e(e.indicator.name)}</a></th>'
        f'<td class="num">{_e(e.shown)}</td><td class="num">{_e(_side(e, "numerator"))}</td>'
        f'<td class="num">{_e(_side(e, "denominator"))}</td></tr>'
        for e in found
    )
    head = _head("Indicator", "Figure", "Numerator", "Denominator")
    return _table(caption, head, rows, "explain-summary") + tables.link("figures", _figure_rows(found), caption)


def _figure_rows(found: list[Explanation | PooledExplanation]) -> list[dict]:
    """The summary table's rows: the figures unrounded, in the month file's tidy columns."""
    return [
        {
            "area": getattr(e, "area", "consortium"),
            "period": e.period,
            "indicator": e.indicator.id,
            "indicator_name": e.indicator.name,
            "value": e.value,
            "unit": e.indicator.unit,
            "numerator": e.numerator,
            "denominator": e.denominator,
            "framework_version": e.framework_version,
        }
        for e in found
    ]


def _side(e: Explanation | PooledExplanation, role: str) -> str:
    value = e.numerator if role == "numerator" else e.denominator
    if role == "denominator" and not e.indicator.is_ratio:
        return "—"
    return amount(value, _unit(e, role))


def _unit(e: Explanation | PooledExplanation, role: str) -> str:
    from perfcore.warehouse.components import COMPONENTS

    names = e.indicator.numerator if role == "numerator" else e.indicator.denominator
    units = {COMPONENTS[n].unit for n in names}
    return next(iter(units)) if len(units) == 1 else ""


def _council_section(e: Explanation, pooled_page: str, tables: Downloads) -> str:
    indicator = e.indicator
    facts = [
        *_worked_out(e, why_null=e.why_null, source=indicator.source),
        (
            "Consortium",
            f"{_e(indicator.format(e.consortium))}, pooled over the members "
            f'(<a href="{_e(pooled_page)}#{indicator.id}">how the consortium figure is worked out</a>)',
        ),
    ]
    parts = [
        f'<section id="{indicator.id}" class="explain" aria-labelledby="{indicator.id}-title">',
        f'<h2 id="{indicator.id}-title">{_e(indicator.name)}</h2>',
        f'<p class="explain-figure"><span class="explain-value">{_e(e.shown)}</span> '
        f"{_e(_status(indicator.rag(e.value)))}</p>",
        _facts(facts),
        _components_table(e, tables),
    ]
    if len(e.months) > 1:
        parts.append(_months_table(e, tables))
    parts += [_files_table(e, tables), "</section>"]
    return "\n".join(parts)


def _worked_out(
    e: Explanation | PooledExplanation, *, why_null: str | None = None, source: str | None = None
) -> list[tuple[str, str]]:
    """The facts every explanation states: the sum, its parts, the definition, the framework, the month before
    (a council's also why a figure is missing and where its data comes from)."""
    indicator = e.indicator
    facts = [("Worked out", _e(e.formula))]
    if why_null:
        facts.append(("No figure because", _e(why_null)))
    facts.append(("Numerator", _amount_data("numerator", e.numerator, _side(e, "numerator"), indicator.numerator)))
    if indicator.is_ratio:
        facts.append(
            ("Denominator", _amount_data("denominator", e.denominator, _side(e, "denominator"), indicator.denominator))
        )
    facts += [
        ("Definition", _e(indicator.definition)),
        ("Framework", f"version {_e(e.framework_version)}; {_e(_window_words(e.window, indicator.window))}"),
        *([("Source", _e(source))] if source else []),
        ("Month before", f"{_e(periods.label(e.previous_period))}: {_e(indicator.format(e.previous))}"),
    ]
    return facts


def _amount_data(role: str, value: float | None, shown: str, names: tuple[str, ...]) -> str:
    data = (
        f'<data class="{role}" value="{value:g}">{_e(shown)}</data>'
        if value is not None
        else f'<span class="{role}">{_e(shown)}</span>'
    )
    return f"{data} ({_e(' + '.join(names))})"


def _window_words(window: tuple[str, ...], kind: str) -> str:
    if kind == "fytd":
        return f"financial year to date: {periods.label(window[0])} to {periods.label(window[-1])}"
    return f"the month: {periods.label(window[0])}"


def _components_table(e: Explanation, tables: Downloads) -> str:
    rows = "".join(
        f"<tr><td>{_e(p.role)}</td><th scope='row'><code>{_e(p.name)}</code></th><td>{_e(p.meaning)}</td>"
        f'<td>{_e(p.source)}</td><td class="num">{_e(amount(p.value, p.unit))}</td></tr>'
        for p in e.parts
    )
    head = _head("Part", "Component", "What it counts", "Source", "Total")
    caption = f"Components of {e.indicator.name}, summed over the months that count"
    download = [
        {
            "part": p.role,
            "component": p.name,
            "what_it_counts": p.meaning,
            "source": p.source,
            "total": p.value,
            "unit": p.unit,
        }
        for p in e.parts
    ]
    return _table(caption, head, rows) + tables.link(f"{e.indicator.id}-components", download, caption)


def _months_table(e: Explanation, tables: Downloads) -> str:
    from perfcore.warehouse.components import COMPONENTS

    names = list(e.months[0].values)
    rows = "".join(
        f'<tr><th scope="row">{_e(periods.label(m.period))}</th><td>{"yes" if m.counted else "no"}</td>'
        + "".join(f'<td class="num">{_e(amount(m.values[n], COMPONENTS[n].unit))}</td>' for n in names)
        + "</tr>"
        for m in e.months
    )
    head = _head("Month", "Counts", *names)
    caption = f"{e.indicator.name}: month by month"
    download = [{"period": m.period, "counts": m.counted, **{n: m.values[n] for n in names}} for m in e.months]
    return _table(caption, head, rows) + tables.link(f"{e.indicator.id}-months", download, caption)


def _files_table(e: Explanation, tables: Downloads) -> str:
    caption = f"Files behind {e.indicator.name}"
    if not e.files:
        return f"<p>{_e(caption)}: no accepted file for the months this figure covers.</p>"
    rows = "".join(
        f'<tr><th scope="row" class="file-name">{_outside(f.name)}</th><td>{_e(f.kind)}</td>'
        f"<td>{_e(periods.label(f.period))}</td><td>{f.received:%d %b %Y %H:%M}</td>"
        f'<td class="num">{"" if f.sequence is None else f.sequence}</td>'
        f'<td><code class="sha256">{_e(f.sha256)}</code></td>'
        f'<td class="file-status file-{f.status}">{_outside(_file_status(f.status, f.replaced_by))}</td></tr>'
        for f in e.files
    )
    head = _head("File", "Kind", "Month", "Received", "Sequence", "SHA-256", "Status")
    download = [
        {
            "file": f.name,
            "kind": f.kind,
            "period": f.period,
            "received": f.received.isoformat(),
            "sequence": f.sequence,
            "sha256": f.sha256,
            "status": _file_status(f.status, f.replaced_by),
        }
        for f in e.files
    ]
    return _table(caption, head, rows) + tables.link(f"{e.indicator.id}-files", download, caption)


def _file_status(status: str, replaced_by: str | None) -> str:
    if status == "counted":
        return "Accepted: counted"
    return f"Replaced by {replaced_by}" if replaced_by else "Replaced"


def _status(rag: str | None) -> str:
    return rag_text(rag)  # as the tiles word it


# -- the consortium's page ---------------------------------------------------------------------------------------


def consortium_body(evidence: Evidence, period: str, context: PageContext, tables: Downloads | None = None) -> str:
    found = [explain_pooled(evidence, period, i.id, strict=False) for i in evidence.framework.indicators]
    intro = (
        f"<p>How each consortium figure for {_e(periods.label(period))} is worked out (framework version "
        f"{_e(evidence.framework.version)}): the members' numerators added up, divided by their denominators "
        "added up, over the members with data: a pooled figure, never a mean of the members' figures. Each "
        "member's own page names the files its figures came from.</p>"
    )
    caption = f"{evidence.consortium.short_name} figures for {periods.label(period)}"
    tables = tables if tables is not None else Downloads()
    summary = _summary(found, caption, tables)
    sections = (_pooled_section(e, evidence.consortium.short_name, tables) for e in found)
    return "\n".join([intro, summary, *sections])


def _pooled_section(e: PooledExplanation, pooled_name: str, tables: Downloads) -> str:
    indicator = e.indicator
    facts = _worked_out(e)
    rows = "".join(
        f'<tr><th scope="row">{_e(m.name)}</th><td class="num">{_e(amount(m.numerator, _unit(e, "numerator")))}</td>'
        f'<td class="num">{_e(amount(m.denominator, _unit(e, "denominator")) if indicator.is_ratio else "—")}</td>'
        f'<td class="num">{_e(indicator.format(m.value))}</td></tr>'
        for m in e.members
    )
    rows += (
        f'<tr class="pooled"><th scope="row">{_e(pooled_name)} (pooled)</th>'
        f'<td class="num">{_e(_side(e, "numerator"))}</td><td class="num">{_e(_side(e, "denominator"))}</td>'
        f'<td class="num">{_e(e.shown)}</td></tr>'
    )
    caption = f"{indicator.name}: each member and the pooled figure"
    download = [
        {"area": m.code, "area_name": m.name, "numerator": m.numerator, "denominator": m.denominator, "value": m.value}
        for m in e.members
    ] + [
        {
            "area": "consortium",
            "area_name": f"{pooled_name} (pooled)",
            "numerator": e.numerator,
            "denominator": e.denominator,
            "value": e.value,
        }
    ]
    table = _table(caption, _head("Member", "Numerator", "Denominator", "Figure"), rows) + tables.link(
        f"{indicator.id}-members", download, caption
    )
    return "\n".join(
        [
            f'<section id="{indicator.id}" class="explain" aria-labelledby="{indicator.id}-title">',
            f'<h2 id="{indicator.id}-title">{_e(indicator.name)}</h2>',
            f'<p class="explain-figure"><span class="explain-value">{_e(e.shown)}</span> '
            f"{_e(_status(indicator.rag(e.value)))}</p>",
            _facts(facts),
            table,
            "</section>",
        ]
    )


# -- HTML helpers ----------------------------------------------------------------------------------------------


def _e(text: object) -> str:
    """Our own text (parameters, numbers, words) escaped for the page."""
    return html.escape(str(text))


def _outside(text: object) -> str:
    """Text from outside (a submitted file's name): control, bidi and invisible characters out, then escaped."""
    return html.escape(safe_text(text, None))


def _facts(facts: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{_e(term)}</dt><dd>{value}</dd>" for term, value in facts)
    return f'<dl class="explain-facts">{items}</dl>'


def _head(*names: str) -> str:
    return "<tr>" + "".join(f'<th scope="col">{_e(n)}</th>' for n in names) + "</tr>"


def _table(caption: str, head: str, rows: str, cls: str = "") -> str:
    # a scrollable region is reachable by keyboard and named (as the report pages' tables are)
    kind = f' class="{cls}"' if cls else ""
    return (
        f'<div class="table-scroll" tabindex="0" role="region" aria-label="{_e(caption)}">'
        f"<table{kind}><caption>{_e(caption)}</caption><thead>{head}</thead><tbody>{rows}</tbody></table></div>"
    )
