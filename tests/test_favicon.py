"""Every page names an icon that exists, so no browser logs a 404 for it.

Browsers ask for the page's linked icon, and for ``/favicon.ico`` at the site
root when a page names none. Each link is relative, so it resolves the same
served from / and opened from file://.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from perfcore.render import CONSORTIUM, COUNCIL, build_site, load_site_config, page_context, page_paths, render_page
from render_notebooks import report_notebook, write_notebook

PUBLISHED = date(2026, 11, 5)
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("favicon")
    config = load_site_config(PROJECT)
    notebook = write_notebook(folder / "summary.ipynb", report_notebook(chart=False))
    out = folder / "site"
    contexts = [
        page_context(
            config,
            audience=COUNCIL,
            period="2026-10",
            report="summary",
            report_title="Monthly summary",
            council_name="Dundee City",
            council_slug="dundee-city",
            for_dwp=True,
        ),
        page_context(config, audience=CONSORTIUM, period="2026-10", report="benchmarks", report_title="Benchmarks"),
    ]
    pages = [
        render_page(
            notebook, out_html=page_paths(out, c)[0], out_pdf=None, context=c, config=config, published=PUBLISHED
        )
        for c in contexts
    ]
    build_site(pages, config, out, published=PUBLISHED)
    return out


def icon_links(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [link["href"] for link in soup.find_all("link", href=True) if "icon" in link.get("rel", [])]


def test_every_page_links_an_icon_that_exists(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 5  # landing, audience, period, report index and report pages
    for page in pages:
        links = icon_links(page)
        assert links, f"{page}: no icon link"
        for href in links:
            parts = urlsplit(href)
            assert not parts.scheme and not parts.netloc and not href.startswith("/"), f"{page}: {href} is not relative"
            target = (page.parent / PurePosixPath(parts.path)).resolve()
            assert target.is_file() and target.is_relative_to(site.resolve()), f"{page}: {href} does not exist"


def test_the_default_favicon_ico_is_at_the_site_root(site: Path) -> None:
    icon = (site / "favicon.ico").read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file's header: reserved 0, type 1 (icon)
    svg = (site / "assets" / "favicon.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "<script" not in svg
