"""The month's story on a landing page, as HTML written directly (no notebook, no pandoc).

``story_html`` draws a ``reporting.landing.Story``: first who needs attention
this month (red indicators; for the analysts also high-severity alerts and
overdue actions), then what got worse and what improved since last month, the
most serious alerts, overdue or open actions (analysts and a council's own), and the headline
tiles; every section links into the month's pages. ``dwp_month_html`` draws DWP's month:
each council's electronic return with its completeness (read from the returns'
manifests), the PDFs and the speed-of-processing CSV.

Status is always a word and a symbol (``display.RAG_SYMBOLS``), never colour
alone; every text is escaped here, and text from outside (actions, owners)
also goes through ``display.safe_text`` first.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from perfcore import periods
from perfcore.reporting import display
from perfcore.reporting.landing import ActionLine, AlertLine, CouncilMonth, Status, Story, Tile

ACTION_LIMIT = 300  # characters of an action shown on a landing; the report page has all of it

# How a landing links into the month's pages: report name -> href (relative to the landing), or None.
Links = Callable[[str, str], str | None]  # (report, anchor) -> href


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _symbol(rag: str | None) -> str:
    return f'<span class="symbol" aria-hidden="true">{display.RAG_SYMBOLS[rag]}</span>' if rag else ""


def _status_words(rag: str | None) -> str:
    """'✖ Red' with the symbol hidden from screen readers (the word says it)."""
    return f"{_symbol(rag)}{e(display.RAG_WORDS[rag])}" if rag else "no status"


def _link(href: str | None, text: str) -> str:
    return f'<a href="{e(href)}">{e(text)}</a>' if href else e(text)


# -- the month's story ---------------------------------------------------------------------------------------


def story_html(story: Story, links: Links, council_href: Callable[[CouncilMonth], str | None]) -> str:
    """The story's sections, for a landing page or the month's index page."""
    parts = ['<div class="landing">', _month_line(story)]
    if story.audience == "council":
        parts += _council_story(story, links)
    else:
        parts += _members_story(story, links, council_href)
    return "\n".join(p for p in [*parts, "</div>"] if p)


def _month_line(story: Story) -> str:
    month = periods.label(story.period)
    if story.provisional:
        return (
            '<div class="callout callout-warning landing-provisional"><p><strong>Provisional.</strong> '
            f"{story.members_in} of {story.members} members' extracts for {e(month)} are in: "
            "figures may change until the month's returns close.</p></div>"
        )
    return f'<p class="landing-month">Figures for {e(month)}: every member\'s extract is in.</p>'


def _members_story(story: Story, links: Links, council_href: Callable[[CouncilMonth], str | None]) -> list[str]:
    month, before = periods.label(story.period), periods.label(periods.shift(story.period, -1))
    analysts = story.audience == "analysts"
    attention = [c for c in story.attention if c.red or (analysts and (c.high or c.overdue))]
    parts = [_box(bool(attention)) + f'<h2 id="attention">Needs attention, {e(month)}</h2>']
    parts.append(f'<p class="landing-lead">{_attention_sentence(story, attention)}</p>')
    if attention:
        parts.append(_attention_table(story, attention, council_href))
    parts.append("</section>")
    worse = [c for c in story.councils if c.worse]
    better = [c for c in story.councils if c.better]
    parts.append(f'<h2 id="worse">Worse than {e(before)}</h2>')
    parts.append(
        _moves(worse, "worse", council_href)
        if worse
        else f"<p>No member's status got worse (short of Red) since {e(before)}.</p>"
    )
    parts.append(f'<h2 id="improved">What improved since {e(before)}</h2>')
    parts.append(
        _moves(better, "better", council_href)
        if better
        else f"<p>No member's status improved on any indicator since {e(before)}.</p>"
    )
    if analysts:  # a council's alerts and actions are not for the other members
        # the sections' ids (from their headings), which every month's page has: tables' ids are tbl-...
        parts.append(_alerts(story, links("analytics", "early-warning"), with_area=True))
        parts.append(_overdue(story, links("onboarding", "overdue-actions")))
        parts.append(_returns(story, links("data-quality", "")))
    parts.append(f'<h2 id="headline">{e(story.area)} as a whole</h2>')
    parts.append(_tiles(story.tiles))
    return parts


def _box(alarm: bool) -> str:
    """The month at a glance, boxed: a red edge when something is red, a green one when all is clear."""
    return f'<section class="landing-attention{"" if alarm else " landing-clear"}" aria-labelledby="attention">'


def _attention_sentence(story: Story, attention: list[CouncilMonth]) -> str:
    month = periods.label(story.period)
    if not attention:
        return f"No member has an indicator at Red in {e(month)}."
    red = [c for c in attention if c.red]
    text = (
        f"{len(red)} of {story.members} members {'has' if len(red) == 1 else 'have'} an indicator at "
        f"{_status_words('red')} in {e(month)}"
        if red
        else f"No member has an indicator at Red in {e(month)}"
    )
    if story.audience == "analysts":
        others = len(attention) - len(red)
        if others:
            text += f"; {others} more {'has' if others == 1 else 'have'} high-severity alerts or overdue actions"
    return text + "."


def _attention_table(story: Story, attention: list[CouncilMonth], council_href) -> str:
    analysts = story.audience == "analysts"
    head = ["Council", "Red this month", "Also worse than last month"]
    if analysts:
        head += ["Alerts", "Overdue actions"]
    rows = []
    for c in attention:
        cells = [
            f'<th scope="row">{_link(council_href(c), c.name)}</th>',
            f"<td>{_status_list(c.red, new_marker=True) or 'none'}</td>",
            f"<td>{_status_list(c.worse) or 'none'}</td>",
        ]
        if analysts:
            cells.append(f'<td class="landing-count">{c.alerts or 0} ({c.high or 0} high)</td>')
            cells.append(f'<td class="landing-count">{c.overdue or 0}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return _table(f"Members needing attention, {periods.label(story.period)}, worst first", head, rows)


def _status_list(items: tuple[Status, ...], *, new_marker: bool = False) -> str:
    if not items:
        return ""
    lines = []
    for s in items:
        text = f"{e(s.indicator)}: {e(s.value)}"
        if new_marker and s.before != s.rag:
            text += f" (was {e(display.RAG_WORDS[s.before]) if s.before else 'no status'})"
        elif not new_marker and s.before:
            text += f" ({_status_words(s.before)} → {_status_words(s.rag)})"
        lines.append(f"<li>{_symbol(s.rag)}{text}</li>")
    return '<ul class="landing-items">' + "".join(lines) + "</ul>"


def _moves(councils: list[CouncilMonth], which: str, council_href) -> str:
    items = []
    for c in sorted(councils, key=lambda c: c.name):
        moved = c.worse if which == "worse" else c.better
        what = "; ".join(
            f"{e(s.indicator)} {e(s.value)}, {_status_words(s.before)} → {_status_words(s.rag)}" for s in moved
        )
        items.append(f"<li><strong>{_link(council_href(c), c.name)}</strong>: {what}</li>")
    return '<ul class="landing-moves">' + "".join(items) + "</ul>"


def _alerts(story: Story, more: str | None, *, with_area: bool) -> str:
    month = periods.label(story.period)
    who = story.area if story.audience == "council" else "the members"
    if not story.alerts_total:
        return f'<h2 id="alerts">Alerts</h2><p>No alerts for {e(who)} in {e(month)}.</p>'
    lead = (
        f"{story.alerts_total} alert{'s' if story.alerts_total != 1 else ''} for {e(who)} in {e(month)}, "
        f"{story.alerts_high} of high severity"
    )
    if len(story.alerts) < story.alerts_total:
        lead += f"; the {len(story.alerts)} most serious"
    lead += "."
    if more:
        lead += f" {_link(more, 'Every alert, with its evidence and control chart')}."
    head = (["Council"] if with_area else []) + ["Indicator", "Alert", "Months", "Evidence"]
    rows = [
        "<tr>"
        + (f"<td>{e(a.area)}</td>" if with_area else "")
        + f"<td>{e(a.indicator)}</td><td>{_severity(a)}</td><td>{e(a.months)}</td><td>{e(a.evidence)}</td></tr>"
        for a in story.alerts
    ]
    caption = f"Alerts for {story.area}, {month}" if not with_area else f"Most serious alerts, {month}"
    return f'<h2 id="alerts">Alerts</h2><p>{lead}</p>' + _table(caption, head, rows)


def _severity(alert: AlertLine) -> str:
    return f"<strong>{e(alert.severity.capitalize())}</strong>: {e(alert.title)}"


def _overdue(story: Story, more: str | None) -> str:
    month = periods.label(story.period)
    if not story.actions:
        return f'<h2 id="overdue">Overdue actions</h2><p>No member has an overdue action at the end of {e(month)}.</p>'
    rows = [_action_row(a, with_council=True) for a in story.actions]
    count = len(story.actions)
    lead = f"{count} action{'s' if count != 1 else ''} due before the end of {e(month)} and not yet done."
    if more:
        lead += f" {_link(more, 'Every council’s onboarding and actions')}."
    return f'<h2 id="overdue">Overdue actions</h2><p>{lead}</p>' + _table(
        f"Overdue actions at the end of {month}", ["Council", "Indicator", "Action", "Owner", "Due"], rows
    )


def _action_row(a: ActionLine, *, with_council: bool) -> str:
    cells = [e(a.council)] if with_council else []
    cells += [
        e(a.indicator),
        e(display.safe_text(a.action, ACTION_LIMIT)),
        e(display.safe_text(a.owner)),
        e(a.due),
    ]
    if not with_council:
        cells.append('<span class="symbol" aria-hidden="true">⚠</span>Overdue' if a.overdue else "Open")
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _returns(story: Story, more: str | None) -> str:
    month = periods.label(story.period)
    missing = [c for c in story.councils if c.returns]
    if not missing:
        return f'<h2 id="returns">Returns</h2><p>Every member\'s extract and manual return for {e(month)} is in.</p>'
    items = "".join(f"<li><strong>{e(c.name)}</strong>: {e(c.returns)}</li>" for c in missing)
    tail = f" {_link(more, 'Data quality')}." if more else ""
    return f'<h2 id="returns">Returns</h2><p>Not all in for {e(month)}:{tail}</p><ul>{items}</ul>'


def _council_story(story: Story, links: Links) -> list[str]:
    month, before = periods.label(story.period), periods.label(periods.shift(story.period, -1))
    own = story.councils[0] if story.councils else None
    lines = []
    if own is not None:
        red = "; ".join(f"{e(s.indicator)} {e(s.value)}" for s in own.red)
        count = len(own.red)
        lines.append(
            f"<li>{_status_words('red')} on {count} indicator{'s' if count != 1 else ''}: {red}</li>"
            if red
            else f"<li>{_symbol('green')}No indicator at Red</li>"
        )
        if own.worse:
            lines.append(f"<li>Worse than {e(before)}: " + _inline_moves(own.worse) + "</li>")
        if own.better:
            lines.append(f"<li>Better than {e(before)}: " + _inline_moves(own.better) + "</li>")
    total = story.alerts_total
    lines.append(f"<li>{total} alert{'s' if total != 1 else ''}, {story.alerts_high} of high severity</li>")
    overdue = sum(a.overdue for a in story.actions)
    lines.append(
        f"<li>{len(story.actions)} open action{'s' if len(story.actions) != 1 else ''}"
        + (f", {overdue} overdue" if overdue else "")
        + "</li>"
    )
    parts = [
        _box(bool(own and own.red) or story.alerts_high > 0) + f'<h2 id="attention">{e(story.area)} in {e(month)}</h2>',
        f'<ul class="landing-glance">{"".join(lines)}</ul></section>',
        '<h2 id="headline">Headline indicators</h2>',
        _tiles(story.tiles),
        _alerts(story, links("report", "alerts"), with_area=False),
    ]
    if story.actions:
        rows = [_action_row(a, with_council=False) for a in story.actions]
        more = links("report", "open-actions")
        parts.append(
            '<h2 id="actions">Open actions</h2>'
            + (f"<p>{_link(more, 'The actions with the commentary behind them')}.</p>" if more else "")
            + _table(
                f"Open actions at {story.area}, end of {month}", ["Indicator", "Action", "Owner", "Due", "Status"], rows
            )
        )
    return parts


def _inline_moves(items: tuple[Status, ...]) -> str:
    return "; ".join(f"{e(s.indicator)} {_status_words(s.before)} → {_status_words(s.rag)}" for s in items)


def _tiles(tiles: tuple[Tile, ...]) -> str:
    """The same markup pandoc makes of ``display.tiles`` on the report pages, so the same CSS draws them."""
    if not tiles:
        return ""
    out = ['<div class="tiles" role="list" aria-label="Headline indicators">']
    for t in tiles:
        tile = display.Tile(t.label, t.value, t.rag, t.direction, t.improving, t.change, t.target)
        out.append(f'<div class="tile rag-{e(t.rag or "none")}" role="listitem">')
        out.append(f'<p><span class="tile-label">{e(t.label)}</span></p>')
        out.append(f'<p><span class="tile-value">{e(t.value)}</span></p>')
        out.append(f'<p><span class="tile-status">{_status_words(t.rag) if t.rag else "No target"}</span></p>')
        travel = display.travel_text(tile)
        if travel:
            arrow, words = travel.split(" ", 1)
            out.append(
                f'<p><span class="tile-trend"><span class="symbol" aria-hidden="true">{e(arrow)}</span>'
                f" {e(words)}</span></p>"
            )
        if t.target:
            out.append(f'<p><span class="tile-target">{e(t.target)}</span></p>')
        out.append("</div>")
    return "\n".join(out + ["</div>"])


def _table(caption: str, head: list[str], rows: list[str]) -> str:
    header = "".join(f'<th scope="col">{e(h)}</th>' for h in head)
    return (
        f'<div class="table-scroll"><table><caption>{e(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# -- DWP --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DwpReturn:
    """One council's electronic return for a month, as its manifest describes it."""

    council: str
    complete: bool
    missing: tuple[str, ...]
    xml: str | None  # file names in dwp/<period>/returns/
    pdf: str | None
    manifest: str


def read_returns(folder: Path) -> list[DwpReturn]:
    """Every return's manifest in ``dwp/<period>/returns/`` (an unreadable one is listed as such)."""
    found = []
    for path in sorted(folder.glob("*.manifest.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names = [f["name"] for f in data.get("files", [])]
            found.append(
                DwpReturn(
                    str(data["council"]["name"]),
                    bool(data["complete"]),
                    tuple(str(m) for m in data.get("missing", [])),
                    next((n for n in names if n.endswith(".xml")), None),
                    next((n for n in names if n.endswith(".pdf")), None),
                    path.name,
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            found.append(DwpReturn(path.name, False, ("the manifest cannot be read",), None, None, path.name))
    return sorted(found, key=lambda r: r.council)


def dwp_returns_html(period: str, returns: list[DwpReturn], href: Callable[[str], str]) -> str:
    """The month's returns: complete or incomplete with what is missing, each with its XML, PDF and manifest."""
    month = periods.label(period)
    if not returns:
        return f"<p>No electronic returns for {e(month)} yet.</p>"
    incomplete = [r for r in returns if not r.complete]
    lead = (
        f"All {len(returns)} returns for {e(month)} are complete."
        if not incomplete
        else f"{len(returns) - len(incomplete)} of {len(returns)} returns for {e(month)} are complete; "
        f"{len(incomplete)} {'is' if len(incomplete) == 1 else 'are'} marked incomplete, with what is missing."
    )
    rows = []
    for r in returns:
        status = (
            '<span class="symbol" aria-hidden="true">✔</span>Complete'
            if r.complete
            else '<span class="symbol" aria-hidden="true">⚠</span><strong>Incomplete</strong>: '
            + e("; ".join(display.safe_text(m) for m in r.missing) or "see the manifest")
        )
        files = [
            _link(href(r.xml), "XML") if r.xml else "",
            _link(href(r.pdf), "PDF") if r.pdf else "",
            _link(href(r.manifest), "manifest"),
        ]
        rows.append(
            f'<tr><th scope="row">{e(r.council)}</th><td>{status}</td><td>{" · ".join(f for f in files if f)}</td></tr>'
        )
    return f'<p class="landing-lead">{lead}</p>' + _table(
        f"Electronic returns, {month}", ["Council", "Status", "Files"], rows
    )


def month_links(period: str, pages: Mapping[str, str]) -> Links:
    """``links`` for ``story_html`` from the month's pages (report name -> href from the page being written)."""

    def link(report: str, anchor: str) -> str | None:
        href = pages.get(report)
        return f"{href}#{anchor}" if href and anchor else href

    return link
