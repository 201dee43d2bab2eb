"""What each audience's landing page tells about a month: who needs attention, what moved, what is overdue.

The build computes a ``Story`` per audience from the ``ReportData`` it already
holds (``story``), once per month it builds, and writes it as
``<audience folder>/<period>/landing.json`` (``write_stories``);
``render.landing`` draws the audience's landing page and the month's index
page from those files, so past months keep their story and a site rebuilt
from disk (``build --merge``) shows the same pages.

Each audience's story holds only what that audience's pages already show,
and lives in that audience's folder:

- ``consortium`` (every member): each member's status on the framework's
  indicators this month and last month (the benchmarks page's tables of both
  months) and the consortium's own tiles; no alerts: a council's alerts are
  for the analysts and that council (README, "The site");
- ``analysts``: the same, plus the most serious alerts and each member's alert
  count (the analytics page), the overdue actions across members (the
  onboarding page) and the month's missing returns (the data-quality page);
- ``council``: its own tiles, alerts and open actions (its report page), and
  nothing of any other member.

Text from outside (commentary actions and owners) is kept as sent here and
escaped where it is drawn.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from perfcore import files, periods
from perfcore.config.parameters import CONSORTIUM
from perfcore.reporting.data import ReportData, value

FORMAT = "perfcore landing 1"  # a story file in another format is ignored (the next build rewrites it)
FILE = "landing.json"
TOP_ALERTS = 10  # the analysts' landing lists the most serious; the analytics page has every one
RAG_ORDER = {"green": 0, "amber": 1, "red": 2}
AUDIENCES = ("consortium", "analysts", "council")  # DWP's landing reads the returns' manifests instead


@dataclass(frozen=True)
class Status:
    """One indicator of one council this month, with last month's status."""

    indicator: str  # the indicator's short name
    value: str  # formatted, e.g. "35.2 days"
    rag: str | None
    before: str | None  # last month's status (None: no figure or no target)


@dataclass(frozen=True)
class CouncilMonth:
    """A member's month at a glance: what is red, what got worse or better since last month."""

    code: str
    name: str
    slug: str
    red: tuple[Status, ...] = ()
    worse: tuple[Status, ...] = ()  # a worse status than last month, not red now (red is listed above)
    better: tuple[Status, ...] = ()  # a better status than last month
    alerts: int | None = None  # analysts only: this member's alerts, and how many of high severity
    high: int | None = None
    overdue: int | None = None  # analysts only: its overdue actions
    returns: str = ""  # analysts only: what of the month's returns is missing ("" when all is in)

    @property
    def needs_attention(self) -> bool:
        return bool(self.red or self.worse or self.high or self.overdue or self.returns)

    @property
    def weight(self) -> tuple:
        """Worst first: red indicators, then high alerts, overdue actions, worse statuses."""
        return (-len(self.red), -(self.high or 0), -(self.overdue or 0), -len(self.worse), self.name)


@dataclass(frozen=True)
class AlertLine:
    area: str  # the council's (or the consortium's) name
    indicator: str
    severity: str
    title: str  # the rule in words, e.g. "Red status"
    months: str
    evidence: str


@dataclass(frozen=True)
class ActionLine:
    council: str  # name
    indicator: str
    action: str  # untrusted: escaped where drawn
    owner: str  # untrusted
    due: str  # "15 Sep 2026"
    overdue: bool


@dataclass(frozen=True)
class Tile:
    """The fields of ``display.Tile`` a landing draws (kept here so the file format is ours)."""

    label: str
    value: str
    rag: str | None = None
    direction: str | None = None
    improving: bool | None = None
    change: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Story:
    audience: str  # consortium, analysts or council
    period: str
    provisional: bool
    members_in: int  # members whose extract for the month is in
    members: int
    area: str  # whose tiles: the consortium's short name or the council's name
    tiles: tuple[Tile, ...] = ()
    councils: tuple[CouncilMonth, ...] = ()  # a council's story: its own line only
    alerts: tuple[AlertLine, ...] = ()  # the most serious, worst first
    alerts_total: int = 0
    alerts_high: int = 0
    actions: tuple[ActionLine, ...] = ()  # analysts: overdue across members; a council: its open actions
    format: str = field(default=FORMAT)

    @property
    def attention(self) -> list[CouncilMonth]:
        return sorted((c for c in self.councils if c.needs_attention), key=lambda c: c.weight)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Story:
        def statuses(items: list) -> tuple[Status, ...]:
            return tuple(Status(**s) for s in items)

        councils = tuple(
            CouncilMonth(
                **{
                    **c,
                    "red": statuses(c["red"]),
                    "worse": statuses(c["worse"]),
                    "better": statuses(c["better"]),
                }
            )
            for c in data["councils"]
        )
        return cls(
            **{
                **data,
                "tiles": tuple(Tile(**t) for t in data["tiles"]),
                "councils": councils,
                "alerts": tuple(AlertLine(**a) for a in data["alerts"]),
                "actions": tuple(ActionLine(**a) for a in data["actions"]),
            }
        )


# -- computing ----------------------------------------------------------------------------------------------


def story(data: ReportData, audience: str, council: str | None = None) -> Story:
    """The month's story for ``audience`` ("consortium", "analysts", or "council" with ``council``'s code)."""
    from perfcore.reporting import analysis, commentary, narrative

    status = data.status
    base = {
        "audience": audience,
        "period": data.period,
        "provisional": data.provisional,
        "members_in": status.members_in if status is not None else 0,
        "members": len(data.consortium.codes),
    }
    if audience == "council":
        every_alert = analysis.alerts(data)
        assert council is not None
        own = [a for a in every_alert if a.area == council]
        return Story(
            **base,
            area=data.area_name(council),
            tiles=_tiles(data, council),
            councils=(_council_month(data, data.consortium.council(council)),),
            alerts=tuple(_alert_line(data, a) for a in own),
            alerts_total=len(own),
            alerts_high=sum(a.severity == "high" for a in own),
            actions=tuple(_action_line(data, a) for a in commentary.open_actions(data, council)),
        )
    lines = [_council_month(data, c) for c in data.consortium.members]
    members = Story(
        **base,
        area=data.consortium.short_name,
        tiles=_tiles(data, CONSORTIUM, narrative.NARRATIVE_INDICATORS),
        councils=tuple(lines),
    )
    if audience == "consortium":  # what every member may see: statuses, not alerts or actions
        return members
    every_alert, actions = analysis.alerts(data), commentary.overdue_actions(data)
    return replace(
        members,
        councils=tuple(_with_analysts_view(data, lines, every_alert, actions)),
        alerts=tuple(_alert_line(data, a) for a in every_alert[:TOP_ALERTS]),
        alerts_total=len(every_alert),
        alerts_high=sum(a.severity == "high" for a in every_alert),
        actions=tuple(_action_line(data, a) for a in actions),
    )


def _tiles(data: ReportData, area: str, only: tuple[str, ...] = ()) -> tuple[Tile, ...]:
    from perfcore.reporting import display, narrative

    heads = [h for h in narrative.headlines(data, area) if not only or h.indicator.id in only]
    made = [display.tile_for(h.indicator, h.value, h.previous) for h in heads]
    return tuple(Tile(t.label, t.value, t.rag, t.direction, t.improving, t.change, t.target) for t in made)


def _council_month(data: ReportData, council) -> CouncilMonth:
    before = periods.shift(data.period, -1)
    red, worse, better = [], [], []
    for indicator in data.framework.indicators:
        if indicator.thresholds is None:
            continue
        now = value(data, council.code, indicator.id)
        rag, was = indicator.rag(now), indicator.rag(value(data, council.code, indicator.id, before))
        line = Status(indicator.short, indicator.format(now), rag, was)
        if rag == "red":
            red.append(line)
        elif rag and was and RAG_ORDER[rag] > RAG_ORDER[was]:
            worse.append(line)
        if rag and was and RAG_ORDER[rag] < RAG_ORDER[was]:
            better.append(line)
    return CouncilMonth(council.code, council.name, council.slug, tuple(red), tuple(worse), tuple(better))


def _with_analysts_view(data: ReportData, lines: list[CouncilMonth], alerts: list, actions: list) -> list[CouncilMonth]:
    from perfcore.reporting.tables import returns_status

    returns = {row["Council"]: row for row in returns_status(data).to_dict("records")}
    out = []
    for line in lines:
        own = [a for a in alerts if a.area == line.code]
        row = returns.get(line.name, {})
        missing = []
        if row.get("Extract") == "MISSING":
            missing.append("no extract")
        if row.get("Manual return") and row.get("Manual return") != "complete":
            missing.append(f"manual return {row['Manual return'].lower()}")
        out.append(
            replace(
                line,
                alerts=len(own),
                high=sum(a.severity == "high" for a in own),
                overdue=sum(a.council == line.code for a in actions),
                returns=", ".join(missing),
            )
        )
    return out


def _alert_line(data: ReportData, alert) -> AlertLine:
    from perfcore import analytics
    from perfcore.reporting import analysis, wording

    return AlertLine(
        data.area_name(alert.area),
        data.framework.indicator(alert.indicator).short,
        alert.severity,
        analytics.rule_title(alert.rule, analysis.analytics_settings(data)),
        wording.month_span(alert.months[0], alert.months[-1]) if alert.months else "",
        alert.evidence,
    )


def _action_line(data: ReportData, action) -> ActionLine:
    from perfcore.reporting.commentary import indicator_name

    return ActionLine(
        data.area_name(action.council),
        indicator_name(data, action.indicator),
        action.action,
        action.owner,
        f"{action.due:%-d %b %Y}",
        action.overdue,
    )


# -- files --------------------------------------------------------------------------------------------------


def path(site: Path, audience_dir: str, period: str) -> Path:
    return site / audience_dir / period / FILE


def write_story(site: Path, audience_dir: str, item: Story) -> Path | None:
    """Write the story unless the file already says the same (a rebuild with nothing changed writes nothing)."""
    target = path(site, audience_dir, item.period)
    return target if files.write_if_changed(target, item.to_json().encode("utf-8")) else None


def read_story(site: Path, audience_dir: str, period: str) -> Story | None:
    """The month's story for that folder, or None (none written, or written by another version of perfcore)."""
    target = path(site, audience_dir, period)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        return Story.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # derived: the next build writes it again


def write_stories(data: ReportData, site: Path, audiences: set[tuple[str, str, str | None]]) -> list[Path]:
    """The month's story for each (audience, its folder, council code) the build planned pages for; DWP's
    landing needs none (it reads the returns' manifests). Returns the files written (changed ones only)."""
    written = []
    for audience, folder, council in sorted(audiences, key=lambda a: a[1]):
        if audience not in AUDIENCES:
            continue
        made = write_story(site, folder, story(data, audience, council))
        if made is not None:
            written.append(made)
    return written
