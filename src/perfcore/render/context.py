"""Who a page is for and where it lives: the audience layout the web server relies on.

Every path in the built site belongs to exactly one audience, so access can
be granted by folder (nginx ``location`` blocks):

    consortium/            every member council (the benchmarks members share)
    analysts/              the consortium's analysts: every council's alerts, files and rejections
    councils/<slug>/       one council
    dwp/                   the Department for Work and Pensions
    assets/                everyone; CSS and JavaScript only, never data

A report page and everything made from it (chart SVGs, chart data, its PDF,
its search text) sits under its audience's folder; ``PageContext`` computes
those paths so no caller assembles them by hand.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from perfcore import periods
from perfcore.config.site import NavLink

CONSORTIUM = "consortium"
ANALYSTS = "analysts"
COUNCIL = "council"
DWP = "dwp"
AUDIENCES = (CONSORTIUM, ANALYSTS, COUNCIL, DWP)
AUDIENCE_LABELS = {CONSORTIUM: "Consortium", ANALYSTS: "Consortium analysts", DWP: "DWP"}
ASSETS_DIR = "assets"
MANIFEST = "page.json"  # inside the page's _files folder: what build_site needs to index it

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class PageContext:
    """Everything about a page that is not in its notebook."""

    site_title: str
    audience: str  # CONSORTIUM, ANALYSTS, COUNCIL or DWP
    period: str  # YYYY-MM
    report: str  # slug, e.g. "summary"; the file name of the page
    report_title: str  # e.g. "Monthly summary"; the page title unless the notebook has a level-1 heading
    council_name: str | None = None
    council_slug: str | None = None
    nav: tuple[NavLink, ...] = ()
    lang: str = "en-GB"
    for_dwp: bool = False  # build_site copies this page's PDF into dwp/
    provisional: bool = False  # the month is not complete yet (periods.is_complete): the page says so

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience {self.audience!r}: use one of {', '.join(AUDIENCES)}")
        if not periods.is_period(self.period):
            raise ValueError(f"period {self.period!r}: use YYYY-MM")
        if not _SLUG.match(self.report):
            raise ValueError(f"report {self.report!r}: use lower-case letters, digits and '-'")
        if (self.audience == COUNCIL) != bool(self.council_slug):
            raise ValueError("a council page needs council_slug and council_name; other audiences have none")
        if self.council_slug and not (_SLUG.match(self.council_slug) and self.council_name):
            raise ValueError(f"council slug {self.council_slug!r}: use Council.slug and give council_name")

    @cached_property  # frozen, so computed once: the site's indexes ask each page thousands of times
    def audience_dir(self) -> PurePosixPath:
        """The audience's folder, from the site root."""
        return audience_dir(self.audience, self.council_slug)

    @property
    def audience_label(self) -> str:
        return AUDIENCE_LABELS.get(self.audience) or str(self.council_name)

    @property
    def period_label(self) -> str:
        return periods.label(self.period)

    @cached_property
    def page_path(self) -> PurePosixPath:
        """e.g. councils/dundee-city/2026-10/summary.html"""
        return self.audience_dir / self.period / f"{self.report}.html"

    @cached_property
    def assets_path(self) -> PurePosixPath:
        """Chart SVGs, chart data and the manifest: beside the page, same audience."""
        return self.audience_dir / self.period / f"{self.report}_files"

    @cached_property
    def pdf_path(self) -> PurePosixPath:
        """e.g. councils/dundee-city/2026-10/dundee-city-2026-10-summary.pdf.

        A name that says what it is once downloaded."""
        owner = self.council_slug or self.audience
        return self.audience_dir / self.period / f"{owner}-{self.period}-{self.report}.pdf"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["nav"] = [asdict(link) for link in self.nav]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageContext:
        return cls(**{**data, "nav": tuple(NavLink(**link) for link in data.get("nav") or ())})


def audience_dir(audience: str, council_slug: str | None = None) -> PurePosixPath:
    if audience == COUNCIL:
        return PurePosixPath("councils") / str(council_slug)
    return PurePosixPath(audience)


def page_paths(site_dir: Path, context: PageContext) -> tuple[Path, Path]:
    """Where the runner should ask ``render_page`` to write the page and its PDF."""
    return site_dir / context.page_path, site_dir / context.pdf_path


@dataclass(frozen=True)
class RenderedPage:
    """What ``render_page`` made, and what ``build_site`` needs to index and link it."""

    context: PageContext
    html: Path
    pdf: Path | None
    title: str
    text: str  # the page's plain text, for the search index
    assets: tuple[Path, ...] = ()
    errors: tuple[str, ...] = ()  # cells that failed: their output is not on the page
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """The manifest, with paths relative to the page's folder so a site can be moved."""
        folder = self.html.parent
        return {
            "context": self.context.to_json(),
            "html": self.html.name,
            "pdf": Path(os.path.relpath(self.pdf, folder)).as_posix() if self.pdf else None,
            "title": self.title,
            "text": self.text,
            "assets": [a.relative_to(folder).as_posix() for a in self.assets],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_manifest(cls, path: Path) -> RenderedPage:
        data = json.loads(path.read_bytes())
        folder = path.parent.parent  # <page>_files/page.json -> the page's folder
        return cls(
            context=PageContext.from_json(data["context"]),
            html=folder / data["html"],
            pdf=Path(os.path.normpath(os.path.join(folder, data["pdf"]))) if data.get("pdf") else None,
            title=data["title"],
            text=data["text"],
            assets=tuple(folder / a for a in data.get("assets") or ()),
            errors=tuple(data.get("errors") or ()),
            warnings=tuple(data.get("warnings") or ()),
        )
