"""The site's settings, read from ``_quarto.yml`` (Quarto's schema, a subset).

Keys read::

    project: {output-dir}
    lang
    website: {title, navbar: {left: [{text, href}]}, search, page-footer}
    format:
      html:  {toc, toc-depth, toc-title}
      typst: {papersize, margin: {x, y}, mainfont, fontsize, toc, pdf-standard}

Anything else is left to Quarto's meaning and ignored here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfcore.exceptions import ConfigError

CONFIG_FILE = "_quarto.yml"
PDF_STANDARDS = ("1.7", "a-2b", "a-2u", "a-2a", "a-3b", "a-3u", "a-3a", "a-4", "ua-1")


@dataclass(frozen=True)
class NavLink:
    """A link in the navigation; ``href`` is from the site root, e.g. ``consortium/index.html``."""

    text: str
    href: str


@dataclass(frozen=True)
class HtmlFormat:
    toc: bool = True
    toc_depth: int = 2
    toc_title: str = "On this page"


@dataclass(frozen=True)
class TypstFormat:
    papersize: str = "a4"
    margin_x: str = "2cm"
    margin_y: str = "2.4cm"
    mainfont: str = "DejaVu Sans"
    fontsize: str = "10pt"
    toc: bool = True
    pdf_standards: tuple[str, ...] = ("a-2a", "ua-1")


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Performance reports"
    output_dir: Path = Path("reports/site")
    lang: str = "en-GB"
    navbar: tuple[NavLink, ...] = ()
    search: bool = True
    footer: str = ""
    html: HtmlFormat = field(default_factory=HtmlFormat)
    typst: TypstFormat = field(default_factory=TypstFormat)


def load_site_config(project_root: str | Path) -> SiteConfig:
    """Read ``<project_root>/_quarto.yml``; ``output_dir`` comes back absolute."""
    root = Path(project_root)
    path = root / CONFIG_FILE
    raw = _read(path)
    try:
        return _parse(raw, root)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _read(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (the site's settings live in _quarto.yml at the project root)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    return raw


def _parse(raw: dict[str, Any], root: Path) -> SiteConfig:
    project = raw.get("project") or {}
    if project.get("type", "website") != "website":
        raise ValueError("project: type must be website")
    website = raw.get("website") or {}
    formats = raw.get("format") or {}
    return SiteConfig(
        title=str(website.get("title") or SiteConfig.title),
        output_dir=root / str(project.get("output-dir") or "reports/site"),
        lang=str(raw.get("lang") or "en-GB"),
        navbar=_navbar(website.get("navbar") or {}),
        search=bool(website.get("search", True)),
        footer=_footer(website.get("page-footer")),
        html=_html(formats.get("html") or {}),
        typst=_typst(formats.get("typst") or {}),
    )


def _navbar(navbar: dict[str, Any]) -> tuple[NavLink, ...]:
    links = []
    for item in navbar.get("left") or []:
        if not isinstance(item, dict) or "href" not in item:
            raise ValueError(f"website.navbar.left: each item needs text and href, got {item!r}")
        href = str(item["href"])
        if href.startswith("/") or "://" in href or ".." in href.split("/"):
            raise ValueError(f"website.navbar.left: {href!r} must be a path inside the site, e.g. consortium/index.html")
        links.append(NavLink(text=str(item.get("text") or href), href=href))
    return tuple(links)


def _footer(value: Any) -> str:
    """Quarto allows a string or {left, center, right}; the site shows them as one line."""
    if isinstance(value, dict):
        return " ".join(str(value[k]) for k in ("left", "center", "right") if value.get(k))
    return str(value or "")


def _html(options: dict[str, Any]) -> HtmlFormat:
    return HtmlFormat(
        toc=bool(options.get("toc", True)),
        toc_depth=int(options.get("toc-depth", 2)),
        toc_title=str(options.get("toc-title") or "On this page"),
    )


def _typst(options: dict[str, Any]) -> TypstFormat:
    margin = options.get("margin") or {}
    standards = options.get("pdf-standard", list(TypstFormat.pdf_standards))
    standards = tuple(str(s) for s in ([standards] if isinstance(standards, str) else standards))
    unknown = [s for s in standards if s not in PDF_STANDARDS]
    if unknown:
        raise ValueError(f"format.typst.pdf-standard: {unknown} not supported; use some of {', '.join(PDF_STANDARDS)}")
    return TypstFormat(
        papersize=str(options.get("papersize", "a4")),
        margin_x=str(margin.get("x", "2cm")),
        margin_y=str(margin.get("y", "2.4cm")),
        mainfont=str(options.get("mainfont", "DejaVu Sans")),
        fontsize=str(options.get("fontsize", "10pt")),
        toc=bool(options.get("toc", True)),
        pdf_standards=standards,
    )
