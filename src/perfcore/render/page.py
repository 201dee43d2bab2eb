"""One executed notebook to its web page and PDF: the renderer's entry point for the runner."""

from __future__ import annotations

import html
import json
import shutil
from datetime import date
from pathlib import Path

from perfcore import settings
from perfcore.config.site import SiteConfig
from perfcore.exceptions import BuildError
from perfcore.render.context import MANIFEST, PageContext, RenderedPage
from perfcore.render.html import Crumb, Shell, html_parts, html_run, page_text, relative, render_shell
from perfcore.render.notebook import NotebookMarkdown, notebook_to_markdown, read_notebook
from perfcore.render.pandoc import write_formats
from perfcore.render.pdf import compile_pdf, typst_run


def render_page(
    executed_ipynb: Path,
    *,
    out_html: Path,
    out_pdf: Path | None,
    context: PageContext,
    config: SiteConfig | None = None,
    published: date | None = None,
) -> RenderedPage:
    """Write the page, its chart files and (if asked) its PDF, all from one notebook.

    ``out_html`` must end with ``context.page_path`` and ``out_pdf`` must sit in
    the same audience folder (``page_paths`` gives both): this is what keeps a
    council's data out of another council's folder. ``published`` defaults to
    perfcore's today (``PERFCORE_TODAY`` makes builds reproducible).
    """
    config = config or SiteConfig()
    site_dir = _site_dir(out_html, context)
    _check_pdf_path(out_pdf, site_dir, context)
    published = published or settings.today()
    what = f"{executed_ipynb.name} ({context.page_path})"

    converted = notebook_to_markdown(read_notebook(executed_ipynb), assets_prefix=context.assets_path.name)
    assets = _write_assets(converted, out_html.parent / context.assets_path.name)
    # the markdown read once by one pandoc process, written as HTML and (if asked) as Typst
    runs = [html_run(context.report_title, config.html)]
    if out_pdf is not None:
        runs.append(typst_run(context, config.typst, published))
    outputs, pandoc_warnings = write_formats(converted.markdown, runs, what=what)
    warnings = list(converted.warnings) + list(pandoc_warnings)
    if out_pdf is not None:
        _write_pdf(outputs[1], out_pdf, out_html.parent, config, published, what)
    parts = html_parts(outputs[0])
    pdf_href = out_pdf.resolve().relative_to(site_dir.resolve()).as_posix() if out_pdf is not None else None
    shell = _page_shell(context, config, parts.title_html, parts.toc, parts.body, pdf_href, published)
    _write_text(out_html, render_shell(shell))
    page = RenderedPage(
        context=context,
        html=out_html,
        pdf=out_pdf,
        title=parts.title_text or context.report_title,
        text=page_text(parts.body),
        assets=assets,
        errors=converted.errors,
        warnings=tuple(warnings),
    )
    _write_text(
        out_html.parent / context.assets_path.name / MANIFEST, json.dumps(page.to_json(), indent=1, ensure_ascii=False)
    )
    return page


def _site_dir(out_html: Path, context: PageContext) -> Path:
    parts = context.page_path.parts
    if out_html.parts[-len(parts) :] != parts:
        raise BuildError(
            f"{out_html}: a {context.audience} page for {context.period} must be written to <site>/{context.page_path} "
            "(use perfcore.render.page_paths)"
        )
    return out_html.parents[len(parts) - 1]


def _check_pdf_path(out_pdf: Path | None, site_dir: Path, context: PageContext) -> None:
    if out_pdf is None:
        return
    audience = (site_dir / context.audience_dir).resolve()
    if not out_pdf.resolve().is_relative_to(audience) or out_pdf.suffix != ".pdf":
        raise BuildError(f"{out_pdf}: the PDF of a {context.audience} page must be a .pdf under {audience}")


def _write_assets(converted: NotebookMarkdown, folder: Path) -> tuple[Path, ...]:
    # the folder is this page's alone: clear it so charts removed from the notebook go too
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    for asset in converted.assets:
        path = folder / asset.name
        path.write_bytes(asset.content)
        written.append(path)
    return tuple(written)


def _write_pdf(
    typst_source: str, out_pdf: Path, page_dir: Path, config: SiteConfig, published: date, what: str
) -> None:
    pdf = compile_pdf(typst_source, root=page_dir, standards=config.typst.pdf_standards, published=published, what=what)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    out_pdf.write_bytes(pdf)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def home_path(context: PageContext) -> str:
    return f"{context.audience_dir}/index.html"


def period_index_path(context: PageContext) -> str:
    return f"{context.audience_dir}/{context.period}/index.html"


def report_index_path(context: PageContext) -> str:
    return f"{context.audience_dir}/reports/{context.report}.html"


def search_indexes(context_audience_dir: str) -> tuple[str, ...]:
    """The indexes a reader of this audience may be able to load (the server refuses the others)."""
    own = f"{context_audience_dir}/search.json"
    return (own,) if own == "consortium/search.json" else (own, "consortium/search.json")


def _page_shell(
    context: PageContext,
    config: SiteConfig,
    title_html: str,
    toc: str,
    body: str,
    pdf_href: str | None,
    published: date,
) -> Shell:
    page = context.page_path
    meta = [html.escape(f"{context.audience_label} · {context.period_label}")]
    if context.provisional:  # the month is not complete: figures will change as the other returns come in
        meta.append(
            '<strong class="provisional">Provisional</strong>: not every member\'s return for this month is in yet'
        )
    if pdf_href is not None:
        meta.append(f'<a href="{html.escape(relative(page, pdf_href))}">Download this report as a PDF</a>')
    meta.append(f'<a href="{html.escape(relative(page, report_index_path(context)))}">Other months of this report</a>')
    return Shell(
        path=page,
        title_html=title_html or html.escape(context.report_title),
        site_title=context.site_title,
        home=home_path(context),
        body=body,
        lang=context.lang,
        nav=context.nav,
        breadcrumb=(
            Crumb(context.audience_label, home_path(context)),
            Crumb(context.period_label, period_index_path(context)),
            Crumb(context.report_title),
        ),
        toc=toc,
        meta='<p class="page-meta">' + " · ".join(meta) + "</p>",
        footer=footer_html(config, published),
        search_indexes=search_indexes(str(context.audience_dir)) if config.search else (),
        council_slug=context.council_slug,
    )


def footer_html(config: SiteConfig, published: date) -> str:
    text = f"<p>{html.escape(config.footer)}</p>" if config.footer else ""
    return text + f"<p>Published {published.day} {published:%B %Y}.</p>"
