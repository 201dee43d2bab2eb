"""The site's settings, read from ``_quarto.yml`` (Quarto's schema, a subset).

Keys read::

    project: {output-dir}
    lang
    website: {title, navbar: {left: [{text, href}]}, search, page-footer}
    format:
      html:  {toc, toc-depth, toc-title}
      typst: {papersize, margin: {x, y}, mainfont, fontsize, toc, pdf-standard}

Anything else is left to Quarto's meaning and ignored here. Defaults are the
dataclasses' own (``OPTIONAL`` keys), declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perfcore.config.reader import OPTIONAL, Choice, Either, Flag, Key, ListOf, MappingOf, Table, Text, Whole, read_file

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


def _inside_site(href: str) -> str | None:
    if href.startswith("/") or "://" in href or ".." in href.split("/"):
        return "must be a path inside the site, e.g. consortium/index.html"
    return None


def _nav_link(href: str, text: str | None = None) -> NavLink:
    return NavLink(text=text or href, href=href)


def _footer(value: str | tuple[tuple[str, str], ...]) -> str:
    """Quarto allows a string or {left, center, right}; the site shows them as one line."""
    if isinstance(value, str):
        return value
    parts = dict(value)
    return " ".join(parts[k] for k in ("left", "center", "right") if parts.get(k))


def _typst(
    margin: dict[str, str] | None = None, pdf_standard: tuple[str, ...] | None = None, **options: object
) -> TypstFormat:
    margins = {f"margin_{side}": length for side, length in (margin or {}).items()}
    standards = {"pdf_standards": pdf_standard} if pdf_standard is not None else {}
    return TypstFormat(**margins, **standards, **options)  # type: ignore[arg-type]


_LENGTH = Text(allowed="a length such as 2cm or 10pt")

NAV_LINK = Table(
    keys=(
        Key(
            "href",
            Text(allowed="a path inside the site, e.g. consortium/index.html", check=_inside_site, numbers=False),
            "from the site root",
        ),
        Key("text", Text(), "the link's words (default: the path)", OPTIONAL),
    ),
    build=_nav_link,
    allowed="a link with text and href",
)

HTML = Table(
    keys=(
        Key("toc", Flag(), "a table of contents on each page", OPTIONAL),
        Key("toc-depth", Whole(minimum=1, maximum=6), "heading levels in it", OPTIONAL),
        Key("toc-title", Text(), "its heading", OPTIONAL),
    ),
    build=HtmlFormat,
    open=True,
)

TYPST = Table(
    keys=(
        Key("papersize", Text(), "paper size", OPTIONAL),
        Key(
            "margin",
            Table(keys=(Key("x", _LENGTH, "left and right", OPTIONAL), Key("y", _LENGTH, "top and bottom", OPTIONAL))),
            "page margins",
            OPTIONAL,
        ),
        Key("mainfont", Text(), "the body font", OPTIONAL),
        Key("fontsize", _LENGTH, "the body size", OPTIONAL),
        Key("toc", Flag(), "a table of contents in each PDF", OPTIONAL),
        Key(
            "pdf-standard",
            ListOf(Choice(PDF_STANDARDS), min_items=1, single=True),
            "PDF standards the PDFs meet",
            OPTIONAL,
        ),
    ),
    build=_typst,
    open=True,
)

QUARTO = Table(
    keys=(
        Key(
            "project",
            Table(
                keys=(
                    Key("type", Choice(("website",)), "the project type", OPTIONAL),
                    Key(
                        "output-dir", Text(numbers=False), "where the site is written, from the project root", OPTIONAL
                    ),
                ),
                open=True,
            ),
            "the project",
            OPTIONAL,
        ),
        Key("lang", Text(numbers=False), "the pages' language", OPTIONAL),
        Key(
            "website",
            Table(
                keys=(
                    Key("title", Text(), "the site's title", OPTIONAL),
                    Key(
                        "navbar",
                        Table(
                            keys=(Key("left", ListOf(NAV_LINK), "links after the audience's home link", OPTIONAL),),
                            open=True,
                        ),
                        "navigation",
                        OPTIONAL,
                    ),
                    Key("search", Flag(), "a search box", OPTIONAL),
                    Key(
                        "page-footer",
                        Either((Text(), MappingOf(Choice(("left", "center", "right")), Text()))),
                        "the footer: text, or left, center, right",
                        OPTIONAL,
                    ),
                ),
                open=True,
            ),
            "the website",
            OPTIONAL,
        ),
        Key(
            "format",
            Table(
                keys=(Key("html", HTML, "the HTML pages", OPTIONAL), Key("typst", TYPST, "the PDFs", OPTIONAL)),
                open=True,
            ),
            "output formats",
            OPTIONAL,
        ),
    ),
    open=True,
)


def load_site_config(project_root: str | Path) -> SiteConfig:
    """Read ``<project_root>/_quarto.yml``; ``output_dir`` comes back absolute."""
    root = Path(project_root)
    # Tables build plain dicts keyed by argument name ('-' read as '_'); the dataclasses hold the defaults.
    raw = read_file(root / CONFIG_FILE, QUARTO, missing="the site's settings live in _quarto.yml at the project root")
    project, website = raw.get("project", {}), raw.get("website", {})
    formats = raw.get("format", {})
    chosen = {
        "title": website.get("title"),
        "output_dir": root / project.get("output_dir", SiteConfig.output_dir),
        "lang": raw.get("lang"),
        "navbar": website.get("navbar", {}).get("left"),
        "search": website.get("search"),
        "footer": _footer(website["page_footer"]) if "page_footer" in website else None,
        "html": formats.get("html"),
        "typst": formats.get("typst"),
    }
    return SiteConfig(**{name: value for name, value in chosen.items() if value is not None})
