"""The rendering layer: executed notebooks to a static, audience-partitioned site and PDFs.

For the runner::

    config = load_site_config(project_root)
    context = page_context(config, audience=COUNCIL, period="2026-10", report="summary",
                           report_title="Monthly summary", council_name=c.name,
                           council_slug=c.slug, for_dwp=True)
    out_html, out_pdf = page_paths(config.output_dir, context)
    page = render_page(executed, out_html=out_html, out_pdf=out_pdf, context=context, config=config)
    ...
    build_site(pages, config, config.output_dir)

Modules: ``notebook`` (ipynb to markdown; ``_quarto.yml`` is read by
:mod:`perfcore.config.site`), ``html`` and ``pdf`` (markdown to
each format through pandoc), ``page`` (one page), ``site`` (everything around
the pages), ``context`` (audiences and paths).
"""

from __future__ import annotations

from perfcore.config.site import HtmlFormat, NavLink, SiteConfig, TypstFormat, load_site_config
from perfcore.render.context import (
    AUDIENCES,
    CONSORTIUM,
    COUNCIL,
    DWP,
    PageContext,
    RenderedPage,
    page_paths,
)
from perfcore.render.page import render_page
from perfcore.render.site import BuiltSite, build_site, page_context

__all__ = [
    "AUDIENCES",
    "CONSORTIUM",
    "COUNCIL",
    "DWP",
    "BuiltSite",
    "HtmlFormat",
    "NavLink",
    "PageContext",
    "RenderedPage",
    "SiteConfig",
    "TypstFormat",
    "build_site",
    "load_site_config",
    "page_context",
    "page_paths",
    "render_page",
]
