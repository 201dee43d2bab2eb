"""Markdown to an HTML page: pandoc writes the content, one shell template frames every page.

Pandoc (with ``templates/body.html`` and the perfcore Lua filter) gives the
title, the table of contents and the body; ``templates/page.html`` adds what
every page of the site has: ``lang``, a skip link, the header with site
navigation and search, a breadcrumb, ``<main>`` and the footer. Index pages
(landing, period, report) use the same shell, so the whole site has one look
and one set of landmarks.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from perfcore.config.site import HtmlFormat, NavLink
from perfcore.render.pandoc import TEMPLATES, WriterRun, write_formats

_PARTS = re.compile(r"<!--perfcore:(title|toc|body)-->\n?")
_SPACE = re.compile(r"\s+")
# The ids the page's shell (page.html, body.html, the search form) gives its own elements: the Lua filter keeps
# the content's ids off them (a heading "Main" must not take the skip link's target). A test reads a rendered
# shell and checks this list against it.
SHELL_IDS = ("main", "search-results", "site-search-input", "toc-title")


@dataclass(frozen=True)
class HtmlParts:
    title_html: str
    toc: str
    body: str
    warnings: tuple[str, ...] = ()

    @property
    def title_text(self) -> str:
        return inline_text(self.title_html)


@dataclass(frozen=True)
class Crumb:
    text: str
    href: str | None = None  # from the site root; None for the current page


@dataclass(frozen=True)
class Shell:
    """One page of the site, ready to frame. Every href is from the site root."""

    path: PurePosixPath  # where this page is, e.g. councils/dundee-city/index.html
    title_html: str
    site_title: str
    home: str  # the audience's landing page
    body: str
    lang: str = "en-GB"
    nav: tuple[NavLink, ...] = ()
    breadcrumb: tuple[Crumb, ...] = ()
    toc: str = ""
    meta: str = ""
    footer: str = ""
    search_indexes: tuple[str, ...] = ()
    council_slug: str | None = None  # lets the search remember the reader's council


def markdown_to_html(markdown: str, *, fallback_title: str, options: HtmlFormat, what: str) -> HtmlParts:
    """Pandoc's HTML for a page's markdown, split into title, table of contents and body."""
    (output,), warnings = write_formats(markdown, [html_run(fallback_title, options)], what=what)
    return html_parts(output, warnings)


def html_run(fallback_title: str, options: HtmlFormat) -> WriterRun:
    """How pandoc writes a page's HTML (``templates/body.html``, the perfcore Lua filter, sections)."""
    return WriterRun(
        to="html5",
        template=TEMPLATES / "body.html",
        metadata=(
            ("fallback-title", fallback_title),
            ("toc-title", options.toc_title),
            ("shell-ids", " ".join(SHELL_IDS)),
        ),
        toc=options.toc,
        toc_depth=options.toc_depth if options.toc else None,
        section_divs=True,
    )


def html_parts(output: str, warnings: Sequence[str] = ()) -> HtmlParts:
    """The title, contents list and body of what ``html_run`` wrote."""
    parts = _split(output)
    toc = parts.get("toc", "").strip()
    if toc.count("<li") < 2:  # a contents list of one heading is noise
        toc = ""
    return HtmlParts(parts.get("title", "").strip(), toc, parts.get("body", "").strip(), tuple(warnings))


def _split(output: str) -> dict[str, str]:
    pieces = _PARTS.split(output)
    return {pieces[i]: pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}


def inline_text(fragment: str) -> str:
    """The text of a small HTML fragment (a title), for <title> and the search index."""
    return html.unescape(_SPACE.sub(" ", re.sub(r"<[^>]+>", "", fragment))).strip()


def page_text(body: str) -> str:
    """The readable text of a page body, for the search index."""
    import lxml.html

    if not body.strip():
        return ""
    tree = lxml.html.fragment_fromstring(body, create_parent="div")
    for hidden in tree.xpath('//*[@aria-hidden="true"]'):
        hidden.drop_tree()
    return _SPACE.sub(" ", tree.text_content()).strip()


def relative(page: PurePosixPath, target: str) -> str:
    """``target`` (from the site root) as a link from ``page``: the site works from any folder."""
    return _relative(target, str(page.parent) or ".")


@functools.lru_cache(maxsize=65_536)
def _relative(target: str, start: str) -> str:
    """``posixpath.relpath`` for two paths inside the site, without its ``abspath`` (a ``getcwd`` per call:
    the indexes of a 27-council history make tens of thousands of links, many of them the same)."""
    target, start = posixpath.normpath(target), posixpath.normpath(start)
    if posixpath.isabs(target) or posixpath.isabs(start) or ".." in (target.split("/")[0], start.split("/")[0]):
        return posixpath.relpath(target, start=start)  # outside the site's tree: the general case
    to = [] if target == "." else target.split("/")
    here = [] if start == "." else start.split("/")
    common = 0
    while common < min(len(to), len(here)) and to[common] == here[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + to[common:]) or "."


@functools.cache
def _shell_template() -> string.Template:
    return string.Template((TEMPLATES / "page.html").read_text(encoding="utf-8"))


def render_shell(shell: Shell) -> str:
    """The full HTML document for a page."""
    depth = len(shell.path.parts) - 1
    return _shell_template().substitute(
        lang=html.escape(shell.lang),
        root="../" * depth,
        title_text=html.escape(inline_text(shell.title_html)),
        site_title=html.escape(shell.site_title),
        home_href=relative(shell.path, shell.home),
        nav_items="\n".join(_nav_item(shell.path, link) for link in shell.nav),
        search_form=_search_form(shell.search_indexes),
        breadcrumb="\n".join(_crumb(shell.path, c) for c in shell.breadcrumb),
        title_html=shell.title_html,
        page_meta=shell.meta,
        toc=shell.toc,
        body=shell.body,
        footer=shell.footer,
        body_attrs=f' data-council="{html.escape(shell.council_slug)}"' if shell.council_slug else "",
    )


def _nav_item(page: PurePosixPath, link: NavLink) -> str:
    current = ' aria-current="page"' if link.href == page.as_posix() else ""
    return f'<li><a href="{html.escape(relative(page, link.href))}"{current}>{html.escape(link.text)}</a></li>'


def _crumb(page: PurePosixPath, crumb: Crumb) -> str:
    if crumb.href is None:
        return f'<li aria-current="page">{html.escape(crumb.text)}</li>'
    return f'<li><a href="{html.escape(relative(page, crumb.href))}">{html.escape(crumb.text)}</a></li>'


def _search_form(indexes: tuple[str, ...]) -> str:
    if not indexes:
        return ""
    # hidden until search.js runs: without JavaScript there is no search to offer
    return (
        f'<form class="site-search" role="search" data-indexes="{html.escape(" ".join(indexes))}" hidden>\n'
        '<label for="site-search-input">Search reports</label>\n'
        '<input id="site-search-input" type="search" name="q" autocomplete="off">\n'
        '<button type="submit">Search</button>\n'
        "</form>"
    )
