"""The site around the report pages: landing pages, period and report indexes, search, DWP folder.

``build_site`` takes the pages just rendered *and* every page already on disk
(each page leaves a manifest, ``<report>_files/page.json``), so past months
stay browsable after a month's build writes only that month. Everything it
writes is derived, so it can be run again at any time; a file whose text is
unchanged is not written again. A landing page and a month's index page tell
the month's story (``render.landing``) from the ``landing.json`` the build
wrote in that month's folder (``reporting.landing``); DWP's from the returns'
manifests.

A rebuild with nothing changed draws nothing: given a ``state`` file (the
runner keeps it outside the published site, beside its build key),
``build_site`` records there a key of everything it reads (perfcore's code, the
site configuration, the published date, the site folder, and the size, times
and inode of every file in the site but those it writes: page manifests, pages,
PDFs, stories, downloads, DWP's files) and the signature of every file it wrote.
Called again with no new page, the same key and every file it wrote still as it
left it, it returns at once; anything else (a page rendered, a story changed, a
file deleted or edited) redraws as before, rewriting only files whose text
changed.

Layout (``PageContext`` fixes the report paths; this module the rest)::

    index.html                           shared: links to the audiences, no data
    favicon.ico                          shared: the icon browsers ask the root for
    assets/perfcore.css, search.js,      shared: no data
      favicon.svg
    analysts/...                         the same, for the consortium's analysts only (data quality, analytics)
    consortium/index.html                landing: the latest month's story, its reports, all reports, all months
    consortium/search.json               search index of consortium pages only
    consortium/<period>/index.html       the month's story and reports
    consortium/<period>/landing.json     the month's story (written by the build: reporting.landing)
    consortium/<period>/<report>.html    (+ <report>_files/, PDF)
    consortium/reports/<report>.html     one report, every month
    councils/<slug>/...                  the same, for one council
    dwp/index.html, dwp/search.json      DWP's landing: the latest month's returns (complete or not), PDFs, CSV
    dwp/<period>/index.html              the same for each month
    dwp/<period>/<slug>-<period>-<report>.pdf
    dwp/<period>/returns/                each council's electronic return: XML, PDF, manifest
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from perfcore import files, periods, settings
from perfcore.config.site import NavLink, SiteConfig
from perfcore.exceptions import BuildError
from perfcore.render.context import (
    ANALYSTS,
    ASSETS_DIR,
    AUDIENCE_LABELS,
    CONSORTIUM,
    COUNCIL,
    DWP,
    MANIFEST,
    PageContext,
    RenderedPage,
    audience_dir,
)
from perfcore.render.html import Crumb, Shell, relative, render_shell
from perfcore.render.page import footer_html, search_indexes
from perfcore.render.pandoc import TEMPLATES

SEARCH_INDEX = "search.json"
RETURNS_DIR = "returns"  # dwp/<period>/returns/: DWP's electronic returns (perfcore.dwp.returns writes them)
FAVICON = "favicon.ico"
SEARCH_TEXT_LIMIT = 20_000  # characters of a page kept in the index: enough for any report, bounded for the browser


@dataclass(frozen=True)
class Audience:
    """One access-controlled folder and its readers' name for it."""

    dir: str  # e.g. "councils/dundee-city"
    label: str  # e.g. "Dundee City"
    kind: str  # CONSORTIUM, COUNCIL or DWP
    slug: str | None = None


@dataclass(frozen=True)
class BuiltSite:
    out_dir: Path
    written: tuple[Path, ...]
    unchanged: bool = False  # nothing to redraw: the inputs were the last build's and its files were all there
    indexed: tuple[RenderedPage, ...] | None = field(default=None, repr=False)

    @property
    def pages(self) -> tuple[RenderedPage, ...]:
        """Every page the site indexes (read from disk when this build had no need to read them)."""
        if self.indexed is not None:
            return self.indexed
        return tuple(_all_pages([], self.out_dir, _SiteFiles.scan(self.out_dir).manifests))


def page_context(
    config: SiteConfig,
    *,
    audience: str,
    period: str,
    report: str,
    report_title: str,
    council_name: str | None = None,
    council_slug: str | None = None,
    for_dwp: bool = False,
    provisional: bool = False,
) -> PageContext:
    """A ``PageContext`` with the site's title, language and navigation filled in."""
    label = council_name if audience == COUNCIL else AUDIENCE_LABELS[audience]
    home = Audience(str(audience_dir(audience, council_slug)), str(label), audience, council_slug)
    return PageContext(
        site_title=config.title,
        audience=audience,
        period=period,
        report=report,
        report_title=report_title,
        council_name=council_name,
        council_slug=council_slug,
        nav=audience_nav(config, home),
        lang=config.lang,
        for_dwp=for_dwp,
        provisional=provisional,
    )


def audience_nav(config: SiteConfig, audience: Audience) -> tuple[NavLink, ...]:
    """The audience's own home first, then the site-wide links from ``_quarto.yml``."""
    own = NavLink(
        f"{audience.label} home" if audience.kind == COUNCIL else audience.label, f"{audience.dir}/index.html"
    )
    if audience.kind == DWP:  # DWP reads its own folder only: links elsewhere would all be refused
        return (own,)
    return (own, *(link for link in config.navbar if link.href != own.href))


def build_site(
    pages: Iterable[RenderedPage],
    config: SiteConfig,
    out_dir: Path,
    *,
    published: date | None = None,
    state: Path | None = None,
) -> BuiltSite:
    """Write the landing, period and report index pages, search indexes, DWP folder and assets.

    ``pages``: pages just rendered (their manifests are on disk too); every other page is read from disk.
    ``state``: a file (outside the site: it lists every audience's files) where it remembers what it read
    and wrote; with no page handed in and nothing changed since then, it writes nothing."""
    published = published or settings.today()
    pages = list(pages)
    found = _SiteFiles.scan(out_dir)
    key = _inputs_key(config, published, out_dir) if state else ""
    last = _read_state(state) if state else None
    if not pages and last is not None and found.unchanged_since(last, key):
        return BuiltSite(out_dir, (), unchanged=True)
    if state:
        state.unlink(missing_ok=True)  # until this build ends: one stopped half-way vouches for nothing
    every_page = _all_pages(pages, out_dir, found.manifests, found.files)
    written: list[Path] = []
    writer = _Writer(config, out_dir, published, written)
    _copy_assets(out_dir, writer)
    by_audience: dict[Audience, list[RenderedPage]] = defaultdict(list)
    for page in every_page:
        by_audience[_audience_of(page.context)].append(page)
    councils = sorted((a for a in by_audience if a.kind == COUNCIL), key=lambda a: a.label)
    for audience, group in sorted(by_audience.items(), key=lambda item: item[0].dir):
        writer.audience(audience, group, councils if audience.kind in (CONSORTIUM, ANALYSTS) else [])
    dwp_files = _copy_dwp_pdfs(every_page, out_dir, writer)
    writer.dwp(dwp_files, _dwp_labels(every_page))
    writer.root(sorted(by_audience, key=lambda a: (a.kind != CONSORTIUM, a.label)), bool(dwp_files))
    if state and _from_disk(pages):  # the pages handed in are the ones on disk: the next build may trust them
        _write_state(state, found.state(out_dir, writer.outputs, key))
    return BuiltSite(out_dir, tuple(written), indexed=tuple(every_page))


# -- what build_site reads, and whether it changed ------------------------------------------------------------


@dataclass(frozen=True)
class _SiteFiles:
    """Every file in the site that build_site may read or has written, from one walk of the folder.

    Hidden names are left out (staging, temporary files: never published), and a page's
    ``<report>_files/`` folder gives only its manifest (its charts are the page's business, not the indexes')."""

    files: dict[str, os.stat_result]  # path from the site root -> its stat
    manifests: tuple[str, ...]  # the page manifests among them

    @classmethod
    def scan(cls, out_dir: Path) -> _SiteFiles:
        files: dict[str, os.stat_result] = {}
        manifests = []
        for path, stat, manifest in _walk(str(out_dir)):
            files[path] = stat
            if manifest:
                manifests.append(path)
        return cls(files, tuple(sorted(manifests)))

    def inputs_key(self, base: str, outputs: Iterable[str]) -> str:
        """``base`` (code, configuration, date) and every file but the outputs, by size, times and inode:
        perfcore replaces a file by renaming a new one over it, so any write changes its inode and times."""
        skip = set(outputs)
        digest = hashlib.sha256(base.encode())
        for path in sorted(self.files):
            if path not in skip:
                digest.update(f"{path}\0{_signature(self.files[path])}\n".encode())
        return digest.hexdigest()

    def unchanged_since(self, last: dict, key: str) -> bool:
        """The same inputs as when ``last`` was recorded, and every file written then still as it was."""
        outputs = last.get("outputs")
        if not isinstance(outputs, dict) or last.get("base") != key:
            return False
        for path, signature in outputs.items():
            stat = self.files.get(path)
            if stat is None or _signature(stat) != signature:
                return False  # deleted or edited since: redraw it
        return last.get("inputs") == self.inputs_key(key, outputs)

    def state(self, out_dir: Path, outputs: Iterable[str], key: str) -> dict | None:
        """What the next build compares with: the inputs as found (build_site writes only its outputs) and
        each output as this build left it. None when an output is not there (it could not be trusted)."""
        written = {}
        for path in sorted(set(outputs)):
            try:
                written[path] = _signature(os.stat(out_dir / path))
            except OSError:
                return None
        return {"base": key, "inputs": self.inputs_key(key, written), "outputs": written}


def _walk(root: str, prefix: str = "") -> Iterator[tuple[str, os.stat_result, bool]]:
    """(path from the site root, stat, is a page manifest) for every file ``_SiteFiles`` covers."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue  # a page being rendered, a temporary file, what a killed build left: not published
        path = prefix + name
        try:
            if entry.is_dir():
                if prefix and name.endswith("_files"):  # a page's own files: its manifest is what indexes read
                    try:
                        yield f"{path}/{MANIFEST}", os.stat(f"{entry.path}/{MANIFEST}"), True
                    except OSError:
                        pass
                else:
                    yield from _walk(entry.path, path + "/")
            else:
                yield path, entry.stat(), False
        except FileNotFoundError:
            continue  # removed while we looked


def _signature(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"


def _inputs_key(config: SiteConfig, published: date, out_dir: Path) -> str:
    """What every page build_site draws depends on besides the site's files: its code and templates,
    the configuration, the date in the footers, and which folder it is."""
    text = f"{_code_version()}\0{config!r}\0{published.isoformat()}\0{out_dir.resolve()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _code_version() -> str:
    """perfcore's code and templates (the assets and favicon are copied from there), hashed."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _read_state(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _write_state(path: Path, state: dict | None) -> None:
    if state is not None:
        files.write_text(path, json.dumps(state, separators=(",", ":")))


def _from_disk(pages: list[RenderedPage]) -> bool:
    """Every page handed in is what its manifest on disk says: a later build reading only the disk would
    draw the same site (a caller's own RenderedPage, never saved, must not be trusted)."""
    for page in pages:
        manifest = page.html.parent / f"{page.context.report}_files" / MANIFEST
        try:
            if RenderedPage.from_manifest(manifest) != page:
                return False
        except (OSError, ValueError, KeyError, TypeError):
            return False
    return True


def _all_pages(
    pages: Iterable[RenderedPage],
    out_dir: Path,
    manifests: Iterable[str],
    site_files: dict[str, os.stat_result] | None = None,
) -> list[RenderedPage]:
    """Pages on disk (earlier months) overlaid with the ones just rendered."""
    root = out_dir.resolve()
    found: dict[str, RenderedPage] = {}
    for path in manifests:
        try:
            page = RenderedPage.from_manifest(out_dir / path)
        except (ValueError, KeyError, TypeError) as exc:
            raise BuildError(f"{out_dir / path}: unreadable page manifest ({exc}); re-render that page") from exc
        except FileNotFoundError:
            continue  # removed since the walk
        html_path = posixpath.normpath(f"{posixpath.dirname(posixpath.dirname(path))}/{page.html.name}")
        there = html_path in site_files if site_files is not None else page.html.exists()
        if there:
            found[f"{root}/{html_path}"] = page
    for page in pages:
        resolved = page.html.resolve()
        if not resolved.is_relative_to(root):
            raise BuildError(f"{page.html}: page is outside the site folder {out_dir}")
        found[str(resolved)] = page
    return sorted(found.values(), key=lambda p: p.context.page_path.as_posix())


def _audience_of(context: PageContext) -> Audience:
    return Audience(str(context.audience_dir), context.audience_label, context.audience, context.council_slug)


def _copy_assets(out_dir: Path, writer: _Writer) -> None:
    """The shared CSS, scripts and icons, copied when their bytes differ (an installed package's files
    may carry any time, so the time says nothing)."""
    for source in sorted((TEMPLATES / "assets").iterdir()):
        if source.is_file():
            writer.write_bytes(PurePosixPath(ASSETS_DIR) / source.name, source.read_bytes())
    # browsers ask for /favicon.ico whatever a page links: it lives at the root, shared like index.html
    writer.write_bytes(PurePosixPath(FAVICON), (TEMPLATES / FAVICON).read_bytes())


def _copy_dwp_pdfs(pages: list[RenderedPage], out_dir: Path, writer: _Writer) -> list[Path]:
    """Council PDFs marked for DWP, copied into dwp/<period>/; plus whatever else is there (returns)."""
    for page in pages:
        # a page that failed is never sent (the runner keeps a good one in place instead)
        if page.context.for_dwp and page.ok and page.pdf is not None and page.pdf.exists():
            target = PurePosixPath(DWP) / page.context.period / page.pdf.name
            # the build wrote the page's PDF: a copy made after that is the same file
            writer.copy_pdf(page.pdf, target)
    folder = out_dir / DWP
    if not folder.exists():
        return []
    # the electronic returns in dwp/<period>/returns/: their XML and manifest (their PDF is the one above)
    returns = [p for p in folder.glob(f"*/{RETURNS_DIR}/*") if p.suffix in (".xml", ".json")]
    return sorted(
        p
        for p in [*folder.glob("*/*"), *returns]
        if p.is_file()
        and periods.is_period(_dwp_period(p, folder))
        and not p.name.startswith(".")
        and p.suffix != ".html"  # DWP's own pages (the guide, the month's index) are listed as pages
    )


def _dwp_period(path: Path, folder: Path) -> str:
    """The month a file under dwp/ belongs to: the first folder of its path there."""
    return path.relative_to(folder).parts[0]


class _Writer:
    """Writes the index pages of one build (private: holds the shared settings)."""

    def __init__(self, config: SiteConfig, out_dir: Path, published: date, written: list[Path]) -> None:
        self.config = config
        self.out_dir = out_dir
        self.published = published
        self.written = written
        self.outputs: set[str] = set()  # every file this build wrote or found already right: STATE checks them
        self.dwp_pages: dict[str, list[RenderedPage]] = {}  # DWP's own pages (the guide) by month

    # -- plumbing ---------------------------------------------------------------------

    def write(self, path: PurePosixPath, shell: Shell) -> None:
        self.write_text(path, render_shell(shell))

    def write_text(self, path: PurePosixPath, text: str) -> None:
        """Write ``text`` unless the file already holds it: a rebuild with nothing changed rewrites nothing."""
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: PurePosixPath, data: bytes) -> None:
        target = self.out_dir / path
        self.outputs.add(path.as_posix())
        if files.write_if_changed(target, data):
            self.written.append(target)

    def copy_pdf(self, source: Path, path: PurePosixPath) -> None:
        self.outputs.add(path.as_posix())
        target = self.out_dir / path
        if not files.is_copy_of(target, source):
            self.written.append(files.copy_file(source, target))

    def shell(
        self, path: PurePosixPath, audience: Audience | None, title: str, body: str, crumbs: tuple[Crumb, ...]
    ) -> Shell:
        home = f"{audience.dir}/index.html" if audience else "index.html"
        nav = audience_nav(self.config, audience) if audience else self.config.navbar
        return Shell(
            path=path,
            title_html=html.escape(title),
            site_title=self.config.title,
            home=home,
            body=body,
            lang=self.config.lang,
            nav=nav,
            breadcrumb=crumbs,
            footer=footer_html(self.config, self.published),
            search_indexes=search_indexes(audience.dir) if audience and self.config.search else (),
            council_slug=audience.slug if audience else None,
        )

    # -- one audience -------------------------------------------------------------------

    def audience(self, audience: Audience, pages: list[RenderedPage], councils: list[Audience]) -> None:
        by_period: dict[str, list[RenderedPage]] = defaultdict(list)
        by_report: dict[str, list[RenderedPage]] = defaultdict(list)
        for page in pages:
            by_period[page.context.period].append(page)
            by_report[page.context.report].append(page)
        months = sorted(by_period, reverse=True)
        if audience.kind == DWP:  # its landing and months list the returns too: ``dwp`` writes them
            self.dwp_pages = by_period
        else:
            self.landing(audience, by_period, by_report, months, councils)
            for position, period in enumerate(months):
                newer = months[position - 1] if position > 0 else None
                older = months[position + 1] if position + 1 < len(months) else None
                self.period_page(audience, period, by_period[period], newer, older, councils)
        for report, group in by_report.items():
            self.report_page(audience, report, group)
        if audience.kind != DWP:  # DWP's index lists its files too: ``dwp`` writes it
            self.search_index(audience, pages)

    def landing(
        self,
        audience: Audience,
        by_period: dict[str, list[RenderedPage]],
        by_report: dict[str, list[RenderedPage]],
        months: list[str],
        councils: list[Audience],
    ) -> None:
        path = PurePosixPath(audience.dir) / "index.html"
        latest = months[0]
        body = [
            f"<p>Housing Benefit performance reports for {html.escape(_reports_for(audience))}.</p>",
            self.story(path, audience, latest, by_period[latest], councils),
            f"<h2>This month's reports: {html.escape(periods.label(latest))}</h2>",
            _report_list(path, by_period[latest], with_period=False),
            "<h2>Reports</h2>",
            "<ul>"
            + "".join(
                f'<li><a href="{relative(path, f"{audience.dir}/reports/{r}.html")}">'
                f"{html.escape(_report_title(g))}</a>: every month</li>"
                for r, g in sorted(by_report.items(), key=lambda item: _report_title(item[1]))
            )
            + "</ul>",
            "<h2>All months</h2>",
            _period_list(path, audience, months),
        ]
        if councils:
            body += [
                "<h2>Member councils</h2>",
                "<p>Each council's own reports are open to that council's staff only.</p>",
                "<ul>"
                + "".join(
                    f'<li><a href="{relative(path, c.dir + "/index.html")}">{html.escape(c.label)}</a></li>'
                    for c in councils
                )
                + "</ul>",
            ]
        title = f"{_landing_title(audience)} {periods.label(latest)}"
        self.write(path, self.shell(path, audience, title, "\n".join(body), (Crumb(audience.label),)))

    def story(
        self,
        path: PurePosixPath,
        audience: Audience,
        period: str,
        pages: list[RenderedPage],
        councils: list[Audience],
    ) -> str:
        """The month's story (``reporting.landing``), linking into the month's pages; "" without one."""
        from perfcore.render import landing as draw
        from perfcore.reporting import landing

        told = landing.read_story(self.out_dir, audience.dir, period)
        if told is None:
            return ""
        hrefs = {p.context.report: relative(path, p.context.page_path.as_posix()) for p in pages}
        open_to = {c.slug for c in councils} if audience.kind == ANALYSTS else set()  # members: not each other's

        def council_href(council) -> str | None:
            return relative(path, f"councils/{council.slug}/index.html") if council.slug in open_to else None

        return draw.story_html(told, draw.month_links(period, hrefs), council_href)

    def period_page(
        self,
        audience: Audience,
        period: str,
        pages: list[RenderedPage],
        newer: str | None,
        older: str | None,
        councils: list[Audience] = (),
    ) -> None:
        path = PurePosixPath(audience.dir) / period / "index.html"
        links = []
        if older:
            links.append(
                f'<a href="../{older}/index.html" rel="prev">Previous month: {html.escape(periods.label(older))}</a>'
            )
        if newer:
            links.append(
                f'<a href="../{newer}/index.html" rel="next">Next month: {html.escape(periods.label(newer))}</a>'
            )
        story = self.story(path, audience, period, pages, list(councils))
        body = (f"{story}\n<h2>Reports</h2>\n" if story else "") + _report_list(path, pages, with_period=False)
        body += _downloads_list(self.out_dir, audience, period)
        if links:
            body += '\n<nav aria-label="Other months"><ul><li>' + "</li><li>".join(links) + "</li></ul></nav>"
        crumbs = (Crumb(audience.label, f"{audience.dir}/index.html"), Crumb(periods.label(period)))
        self.write(path, self.shell(path, audience, f"{audience.label}: {periods.label(period)}", body, crumbs))

    def report_page(self, audience: Audience, report: str, pages: list[RenderedPage]) -> None:
        path = PurePosixPath(audience.dir) / "reports" / f"{report}.html"
        title = _report_title(pages)
        newest_first = sorted(pages, key=lambda p: p.context.period, reverse=True)
        body = _report_list(path, newest_first, with_period=True)
        crumbs = (Crumb(audience.label, f"{audience.dir}/index.html"), Crumb(title))
        self.write(path, self.shell(path, audience, f"{title}: every month", body, crumbs))

    def search_index(self, audience: Audience, pages: list[RenderedPage], extra: Iterable[dict] = ()) -> None:
        entries = [
            {
                "url": p.context.page_path.as_posix(),
                "title": p.title,
                "context": f"{p.context.audience_label} · {p.context.period_label} · {p.context.report_title}",
                "period": p.context.period,
                "report": p.context.report,
                "text": p.text[:SEARCH_TEXT_LIMIT],
            }
            for p in sorted(pages, key=lambda p: (p.context.period, p.context.report), reverse=True)
        ]
        entries += _download_entries(self.out_dir, audience, {p.context.period for p in pages})
        self.write_json(PurePosixPath(audience.dir) / SEARCH_INDEX, [*entries, *extra])

    def write_json(self, path: PurePosixPath, data: object) -> None:
        self.write_text(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    # -- DWP and the root ---------------------------------------------------------------------

    def dwp(self, files: list[Path], labels: dict[str, str]) -> None:
        """DWP's landing (the latest month's returns with their completeness, its PDFs, then every month) and
        one index page per month; the search index lists every file."""
        if not files and not self.dwp_pages:
            return
        audience = Audience(DWP, "DWP", DWP)
        by_period: dict[str, list[Path]] = defaultdict(list)
        for file in files:
            by_period[_dwp_period(file, self.out_dir / DWP)].append(file)
        months = sorted(set(by_period) | set(self.dwp_pages), reverse=True)
        entries = []
        for position, period in enumerate(months):
            path = PurePosixPath(DWP) / period / "index.html"
            body, found = self.dwp_month(path, period, by_period[period], labels)
            entries += found
            links = [
                f'<a href="../{m}/index.html" rel="{rel}">{word} month: {html.escape(periods.label(m))}</a>'
                for m, rel, word in (
                    (months[position + 1] if position + 1 < len(months) else None, "prev", "Previous"),
                    (months[position - 1] if position > 0 else None, "next", "Next"),
                )
                if m
            ]
            if links:
                body += '\n<nav aria-label="Other months"><ul><li>' + "</li><li>".join(links) + "</li></ul></nav>"
            crumbs = (Crumb("DWP", f"{DWP}/index.html"), Crumb(periods.label(period)))
            self.write(path, self.shell(path, audience, f"DWP: {periods.label(period)}", body, crumbs))
        path = PurePosixPath(DWP) / "index.html"
        latest_body, _ = self.dwp_month(path, months[0], by_period[months[0]], labels)
        body = [
            "<p>Reports and electronic returns for the Department for Work and Pensions, by month.</p>",
            latest_body,
            "<h2>All months</h2>",
            _period_list(path, audience, months),
        ]
        title = f"Reports and returns for DWP: {periods.label(months[0])}"
        self.write(path, self.shell(path, audience, title, "\n".join(body), (Crumb("DWP"),)))
        self.search_index(audience, [p for group in self.dwp_pages.values() for p in group], entries)

    def dwp_month(
        self, path: PurePosixPath, period: str, found: list[Path], labels: dict[str, str]
    ) -> tuple[str, list[dict]]:
        """A month's returns table, then its other files (PDFs, the CSV) and pages; and their search entries."""
        from perfcore.render import landing as draw

        month = periods.label(period)
        returns_dir = f"{DWP}/{period}/{RETURNS_DIR}"
        body = [
            f"<h2>Electronic returns, {html.escape(month)}</h2>",
            draw.dwp_returns_html(
                period,
                draw.read_returns(self.out_dir / returns_dir),
                lambda name: relative(path, f"{returns_dir}/{name}"),
            ),
            f'<h2>Reports and files, {html.escape(month)}</h2><ul class="report-list">',
        ]
        entries = []
        shown = [f for f in found if f.parent.name != RETURNS_DIR and f.suffix != ".html"]
        for file in sorted(shown, key=lambda f: (f.suffix != ".csv", labels.get(f.name, f.name))):
            href = file.relative_to(self.out_dir).as_posix()
            size = max(1, round(file.stat().st_size / 1024))
            kind = file.suffix.lstrip(".").upper() or "file"
            label = labels.get(file.name, _dwp_file_label(file.name))
            body.append(
                f'<li><a href="{relative(path, href)}">{html.escape(label)}</a> '
                f'<span class="file-meta">({kind}, {size} KB)</span></li>'
            )
        for file in found:
            href = file.relative_to(self.out_dir).as_posix()
            label = labels.get(file.name, file.name)
            entries.append(
                {
                    "url": href,
                    "title": label,
                    "context": f"DWP · {month}",
                    "period": period,
                    "report": "",
                    "text": f"{label} {file.name}",
                }
            )
        body.append("</ul>")
        if self.dwp_pages.get(period):
            body.append(_report_list(path, self.dwp_pages[period], with_period=False))
        return "\n".join(body), entries

    def root(self, audiences: list[Audience], has_dwp: bool) -> None:
        path = PurePosixPath("index.html")
        items = [a for a in audiences] + (
            [Audience(DWP, "DWP", DWP)] if has_dwp and not any(a.kind == DWP for a in audiences) else []
        )
        body = (
            "<p>Choose the reports you have access to.</p><ul>"
            + "".join(f'<li><a href="{a.dir}/index.html">{html.escape(_root_label(a))}</a></li>' for a in items)
            + "</ul>"
        )
        self.write(path, self.shell(path, None, self.config.title, body, (Crumb("Home"),)))


def _month_files(out_dir: Path, audience: Audience, period: str) -> list[Path]:
    """The month's downloads in the audience's folder (``reporting.downloads`` writes them), CSV first."""
    from perfcore.reporting.downloads import month_file_stem

    stem = month_file_stem(period, audience.slug)
    found = [out_dir / audience.dir / period / f"{stem}{suffix}" for suffix in (".csv", ".parquet")]
    return [path for path in found if path.is_file()]


def _downloads_list(out_dir: Path, audience: Audience, period: str) -> str:
    """The month's files, linked from its index page with what they hold, their kind and size."""
    from perfcore.reporting.downloads import month_file_title

    items = [
        f'<li><a href="{html.escape(path.name)}" download>'
        f"{html.escape(month_file_title(path, audience.label, period))}</a> "
        f'<span class="file-meta">({max(1, round(path.stat().st_size / 1024))} KB)</span></li>'
        for path in _month_files(out_dir, audience, period)
    ]
    if not items:
        return ""
    return (
        "\n<h2>Download the month's figures</h2>\n<p>Unrounded, one row per area and indicator, with units and the "
        "framework version: the figures <code>perfcore indicators</code> prints.</p>\n"
        '<ul class="report-list">' + "".join(items) + "</ul>"
    )


def _download_entries(out_dir: Path, audience: Audience, months: Iterable[str]) -> list[dict[str, str]]:
    """The month's files in the audience's search index."""
    from perfcore.reporting.downloads import month_file_title

    entries = []
    for period in sorted(months, reverse=True):
        for path in _month_files(out_dir, audience, period):
            title = month_file_title(path, audience.label, period)
            entries.append(
                {
                    "url": path.relative_to(out_dir).as_posix(),
                    "title": title,
                    "context": f"{audience.label} · {periods.label(period)} · Downloads",
                    "period": period,
                    "report": "",
                    "text": f"{title} {path.name} download data indicators",
                }
            )
    return entries


def _dwp_labels(pages: list[RenderedPage]) -> dict[str, str]:
    """'Dundee City: Monthly summary' for each PDF copied to DWP (other files keep their names)."""
    return {
        p.pdf.name: f"{p.context.audience_label}: {p.context.report_title}"
        for p in pages
        if p.context.for_dwp and p.pdf
    }


def _reports_for(audience: Audience) -> str:
    if audience.kind == COUNCIL:
        return audience.label
    if audience.kind == ANALYSTS:
        return "the consortium's analysts: every member's alerts, actions and data quality"
    return "the consortium as a whole and its benchmarks across all members"


def _landing_title(audience: Audience) -> str:
    if audience.kind == CONSORTIUM:
        return f"{audience.label}: benchmarks across all members,"
    if audience.kind == ANALYSTS:
        return f"{audience.label}: early warning and data quality,"
    return f"{audience.label}:"


def _dwp_file_label(name: str) -> str:
    """The speed-of-processing CSV by what it is; any other file by its name."""
    if name.startswith("sop-return-") and name.endswith(".csv"):
        return f"Speed of processing, every member ({name})"
    return name


def _root_label(audience: Audience) -> str:
    if audience.kind == CONSORTIUM:
        return "Consortium benchmarks (all members)"
    if audience.kind == ANALYSTS:
        return "Consortium analysts: early warning and data quality"
    if audience.kind == DWP:
        return "Department for Work and Pensions"
    return audience.label


def _report_title(pages: list[RenderedPage]) -> str:
    return max(pages, key=lambda p: p.context.period).context.report_title


def _report_list(from_path: PurePosixPath, pages: list[RenderedPage], *, with_period: bool) -> str:
    items = []
    for page in sorted(pages, key=lambda p: (p.context.period, p.context.report_title), reverse=with_period):
        ctx = page.context
        text = ctx.period_label if with_period else page.title
        line = f'<a href="{relative(from_path, ctx.page_path.as_posix())}">{html.escape(text)}</a>'
        if page.pdf is not None:
            pdf = posixpath.normpath(
                ctx.page_path.parent.joinpath(Path(os.path.relpath(page.pdf, page.html.parent)).as_posix()).as_posix()
            )
            line += f' <span class="file-meta">(<a href="{relative(from_path, pdf)}">PDF version</a>)</span>'
        items.append(f"<li>{line}</li>")
    return '<ul class="report-list">' + "".join(items) + "</ul>"


def _period_list(from_path: PurePosixPath, audience: Audience, months: list[str]) -> str:
    by_year: dict[str, list[str]] = defaultdict(list)
    for month in months:
        by_year[periods.financial_year_label(month)].append(month)
    parts = []
    for year, group in by_year.items():
        links = "".join(
            f'<li><a href="{relative(from_path, f"{audience.dir}/{m}/index.html")}">'
            f"{html.escape(periods.label(m))}</a></li>"
            for m in group
        )
        parts.append(f'<h3>Financial year {html.escape(year)}</h3><ul class="period-list">{links}</ul>')
    return "\n".join(parts)
