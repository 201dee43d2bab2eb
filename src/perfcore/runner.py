"""The build: every report notebook for every council and the consortium, executed and rendered.

``build`` reads as the pipeline::

    data   = report.load(period)                    the warehouse, once, read-only
    jobs   = plan(data, ...)                        one job per (report, audience, period)
    stale  = jobs whose fingerprint changed          like Quarto's freeze
    pages  = run stale jobs in parallel             papermill → render_page (HTML + PDF)
    site   = build_site(all pages)                  landing pages, indexes, search, DWP folder

A job's fingerprint covers the notebook, its parameters, perfcore's own code,
the parameters files, and exactly the data the page shows: its own council's
submissions, plus (for a council page) the consortium figures and ranks it
prints. A page whose fingerprint is unchanged is neither executed nor
rendered again. A failing notebook does not stop the others: papermill saves
the partial notebook, the page is rendered with the error noted, and the
build ends with a summary and a non-zero status.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcore import settings
from perfcore.exceptions import BuildError

if TYPE_CHECKING:
    from perfcore.render import PageContext, RenderedPage, SiteConfig
    from perfcore.report import ReportData


@dataclass(frozen=True)
class Report:
    """One kind of report page: declared once, drives planning, the site and the docs."""

    name: str  # the page's file name, e.g. "report"
    notebook: str  # under notebooks/
    audience: str  # "council", "consortium" or "dwp"
    title: str
    pdf: bool = False
    for_dwp: bool = False
    depends: str = "data"  # "data": the warehouse (as the page shows it); "parameters": only parameters/
    help: str = ""


REPORTS: tuple[Report, ...] = (
    Report("report", "council.ipynb", "council", "Monthly performance report", pdf=True, for_dwp=True,
           help="one council in depth: headline tiles, alerts, trends, work on hand, subsidy position, rank, data quality"),
    Report("benchmarks", "consortium.ipynb", "consortium", "Consortium benchmarks", pdf=True,
           help="every indicator across all members, the consortium figure, the best performer per indicator"),
    Report("analytics", "analytics.ipynb", "consortium", "Early warning and analysis",
           help="alerts, funnel plots, sustained best practice, how indicators move together, initiatives"),
    Report("data-quality", "data_quality.ipynb", "consortium", "Data quality",
           help="which councils submitted, when, which Sequence; rejected files and records; missing returns"),
    Report("indicators", "indicators.ipynb", "consortium", "How the indicators are computed", depends="parameters",
           help="the framework's definitions, thresholds and sources"),
    Report("guide", "guide.ipynb", "consortium", "Guide for users", depends="parameters",
           help="how to read the reports, for each role; what to do when an alert fires; how to submit data"),
    Report("guide", "guide.ipynb", "dwp", "Guide for users", depends="parameters", help="the same guide in DWP's folder"),
)


@dataclass(frozen=True)
class Job:
    report: Report
    parameters: dict[str, Any]
    context: "PageContext"
    executed: Path  # reports/executed/<audience dir>/<period>/<name>.ipynb
    fingerprint: str

    @property
    def label(self) -> str:
        return str(self.context.page_path)


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # "executed", "frozen", "failed"
    seconds: float = 0.0
    error: str | None = None
    page: "RenderedPage | None" = None


@dataclass(frozen=True)
class BuildSummary:
    period: str
    site: Path
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def executed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "executed")

    @property
    def frozen(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "frozen")

    def line(self) -> str:
        text = (f"built {len(self.outcomes)} pages for {self.period} in {self.seconds:.0f}s: "
                f"{len(self.executed)} executed, {len(self.frozen)} unchanged, {len(self.failed)} failed")
        return text + f"; open {self.site / 'index.html'}"


# -- the pipeline ----------------------------------------------------------------------------------


def build(
    period: str | None = None,
    *,
    site: Path | None = None,
    root: Path | None = None,
    warehouse: str | Path | None = None,
    parameters: str | Path | None = None,
    reports_dir: Path | None = None,
    workers: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
    only: tuple[str, ...] = (),
) -> BuildSummary:
    from perfcore import report
    from perfcore.render import build_site, load_site_config

    started = time.perf_counter()
    root = root or settings.project_root()
    config = load_site_config(root)
    site = Path(site) if site else root / config.output_dir
    reports_dir = Path(reports_dir) if reports_dir else settings.resolve_path("reports")
    data = report.load(period, warehouse=warehouse, parameters=parameters)
    jobs = plan(data, config, root=root, reports_dir=reports_dir, site=site, only=only)
    outcomes = run(jobs, site=site, root=root, config=config, workers=workers, progress=progress)
    pages = [o.page for o in outcomes if o.page is not None]
    write_dwp_return(data, site)
    build_site(pages, config, site)
    return BuildSummary(data.period, site, tuple(outcomes), time.perf_counter() - started)


def plan(data: "ReportData", config: "SiteConfig", *, root: Path, reports_dir: Path, site: Path,
         only: tuple[str, ...] = ()) -> list[Job]:
    """One job per report page for the month (``only``: just these report names), with fingerprints."""
    unknown = set(only) - {r.name for r in REPORTS}
    if unknown:
        raise BuildError(f"unknown report(s) {sorted(unknown)}; reports are {', '.join(sorted({r.name for r in REPORTS}))}")
    from perfcore.render import page_context

    code = code_fingerprint(root)
    inputs = data_fingerprints(data)
    jobs = []
    for report in (r for r in REPORTS if not only or r.name in only):
        councils = data.consortium.members if report.audience == "council" else (None,)
        for council in councils:
            parameters = {"period": data.period, "warehouse": str(data.warehouse), "parameters": str(data.parameters)}
            if council is not None:
                parameters["council"] = council.code
            context = page_context(
                config, audience=report.audience, period=data.period, report=report.name,
                report_title=report.title if council is None else f"{council.name}: {report.title.lower()}",
                council_name=council.name if council else None, council_slug=council.slug if council else None,
                for_dwp=report.for_dwp,
            )
            executed = reports_dir / "executed" / context.page_path.with_suffix(".ipynb")
            notebook = root / "notebooks" / report.notebook
            # Paths are left out: the same data moved elsewhere is the same page.
            shown = {k: v for k, v in parameters.items() if k not in ("warehouse", "parameters")}
            if report.depends == "parameters":
                what = inputs["parameters"] + data.period
            else:
                what = inputs[council.code] if council else inputs["consortium"]
            fingerprint = _hash(code, _file_hash(notebook), json.dumps(shown, sort_keys=True), what)
            jobs.append(Job(report, parameters, context, executed, fingerprint))
    return jobs


def run(jobs: list[Job], *, site: Path, root: Path, config: "SiteConfig", workers: int | None,
        progress: Callable[[Outcome], None] | None) -> list[Outcome]:
    """Execute and render stale jobs in parallel; frozen ones are only read back."""
    from perfcore.render import RenderedPage, page_paths

    outcomes: list[Outcome] = []
    stale: list[Job] = []
    for job in jobs:
        out_html, _ = page_paths(site, job.context)
        manifest = out_html.parent / f"{job.context.report}_files" / "page.json"
        if _frozen(job) == job.fingerprint and out_html.exists() and manifest.exists():
            outcome = Outcome(job, "frozen", page=RenderedPage.from_manifest(manifest))
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        else:
            stale.append(job)
    workers = max(1, min(workers or os.cpu_count() or 1, len(stale) or 1))
    if workers == 1:
        finished = (execute_and_render(job, site, root, config) for job in stale)
        for outcome in finished:
            outcomes.append(_record(outcome, progress))
    else:
        # spawn, not fork: the parent may hold DuckDB connections and library threads,
        # which a forked child inherits in an undefined state.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(execute_and_render, job, site, root, config): job for job in stale}
            for future in as_completed(futures):
                outcomes.append(_record(_result_or_failure(future, futures[future]), progress))
    order = {job.label: n for n, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order[o.job.label])


def _result_or_failure(future, job: Job) -> Outcome:
    """A worker that died (out of memory, killed) fails its page, not the build."""
    try:
        return future.result()
    except Exception as exc:
        return Outcome(job, "failed", error=f"worker died: {type(exc).__name__}: {exc}")


def _record(outcome: Outcome, progress: Callable[[Outcome], None] | None) -> Outcome:
    if outcome.status == "executed":
        _freeze(outcome.job)
    else:
        _thaw(outcome.job)
    if progress:
        progress(outcome)
    return outcome


def execute_and_render(job: Job, site: Path, root: Path, config: "SiteConfig") -> Outcome:
    """In a worker: papermill, then the page and its PDF. Never raises: failures are outcomes."""
    from perfcore.render import page_paths, render_page

    started = time.perf_counter()
    error = execute(job, root)
    page = None
    if error and job.executed.exists():
        mark_failed(job.executed, error)
    if job.executed.exists():
        out_html, out_pdf = page_paths(site, job.context)
        try:
            page = render_page(job.executed, out_html=out_html, out_pdf=out_pdf if job.report.pdf else None,
                               context=job.context, config=config)
        except Exception as exc:  # a render failure must not stop the other pages
            error = error or f"render failed: {exc}"
    if page is not None and page.errors and error is None:
        error = "; ".join(page.errors)
    status = "failed" if error else "executed"
    return Outcome(job, status, time.perf_counter() - started, error, page)


def mark_failed(executed: Path, error: str) -> None:
    """Put a visible notice at the top of a failed page: what failed, and that figures may be missing."""
    import nbformat

    from perfcore.display import callout_bundle, md_escape

    book = nbformat.read(executed, as_version=4)
    notice = callout_bundle(
        "caution", f"This page did not build completely: {md_escape(error)}. Figures below may be missing; "
        "the consortium analyst has been told by the build summary.", title="This page failed to build")
    book.cells.insert(0, nbformat.v4.new_markdown_cell(notice.data["text/markdown"]))
    nbformat.write(book, executed)


def execute(job: Job, root: Path) -> str | None:
    """Run the notebook with papermill; on failure papermill has saved the partial notebook."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    job.executed.parent.mkdir(parents=True, exist_ok=True)
    with _stderr_to(job.executed.with_suffix(".log")):
        try:
            papermill.execute_notebook(
                str(root / "notebooks" / job.report.notebook), str(job.executed),
                parameters=job.parameters, kernel_name="python3", cwd=str(root),
                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            )
        except PapermillExecutionError as exc:
            return f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
        except Exception as exc:  # kernel died, notebook missing, ...: reported, not raised
            return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr (which the kernel inherits) to a log beside the executed notebook,
    so the kernel's start-up chatter stays out of the build's progress lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# -- fingerprints ---------------------------------------------------------------------------------------


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def code_fingerprint(root: Path) -> str:
    """perfcore's own code and templates, and the site configuration: a change re-runs everything."""
    import perfcore

    package = Path(perfcore.__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".css", ".js", ".typ", ".lua", ".xsd"))
    return _hash(*(f"{p.relative_to(package)}:{_file_hash(p)}" for p in files), _file_hash(root / "_quarto.yml"))


def data_fingerprints(data: "ReportData") -> dict[str, str]:
    """What pages show, hashed: per council code, 'consortium' (everything) and 'parameters'.

    A council page shows its own submissions in depth and, from the others,
    only the consortium figures and ranks it prints; those enter its hash as
    the formatted values, so another council's change re-runs it only when
    it changes something the page shows.
    """
    from perfcore import report, warehouse

    parameters = _hash(*(f"{p.name}:{_file_hash(p)}" for p in sorted(data.parameters.glob("*.yaml"))))
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        # A council's files and their outcomes: a new current extract is a new accepted file,
        # and the page lists rejected and conflicting ones too.
        files = con.execute(
            "select authority, string_agg(id::varchar || outcome, ',' order by id) from submissions "
            "where outcome <> 'duplicate' and authority is not null group by authority").fetchall()
        manual = con.execute(
            "select authority, string_agg(period || measure || value::varchar || submission_id::varchar, ',' "
            "order by period, measure) from current_manual group by authority").fetchall()
        # Rejections and replacements show on the data-quality pages; duplicates change nothing shown.
        history = con.execute(
            "select (select count(*) from rejections), (select max(submission_id) from rejections), "
            "(select count(*) from replacements), (select max(replaced_by_id) from replacements)").fetchone()
    finally:
        con.close()
    own: dict[str, str] = {}
    for authority, text in [*manual, *files]:
        own[authority] = _hash(own.get(authority, ""), text)
    out = {"parameters": parameters, "consortium": _hash(parameters, json.dumps(sorted(own.items())), str(history))}
    for council in data.consortium.members:
        shown = report.shared_figures(data, council.code)
        out[council.code] = _hash(parameters, own.get(council.code, ""), json.dumps(shown, sort_keys=True, default=str))
    return out


def _freeze_path(job: Job) -> Path:
    return job.executed.with_suffix(".freeze.json")


def _frozen(job: Job) -> str | None:
    path = _freeze_path(job)
    if not (path.exists() and job.executed.exists()):
        return None
    return json.loads(path.read_text()).get("fingerprint")


def _freeze(job: Job) -> None:
    _freeze_path(job).write_text(json.dumps({"fingerprint": job.fingerprint, "page": job.label}))


def _thaw(job: Job) -> None:
    _freeze_path(job).unlink(missing_ok=True)


# -- DWP electronic return --------------------------------------------------------------------------------


def write_dwp_return(data: "ReportData", site: Path) -> Path:
    """dwp/<period>/sop-return-<period>.csv: speed-of-processing figures per council for DWP."""
    import csv

    from perfcore.report import value

    folder = site / "dwp" / data.period
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sop-return-{data.period}.csv"
    columns = ("new_claims_decided", "new_claims_days", "changes_actioned", "changes_days", "rti_days",
               "new_claims_within_14_days_pct", "caseload")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("gss_code", "council", "period", *columns, "framework_version"))
        for council in data.consortium.members:
            values = [value(data, council.code, c) for c in columns]
            writer.writerow((council.code, council.name, data.period,
                             *("" if v is None else f"{v:.4f}".rstrip("0").rstrip(".") for v in values),
                             data.framework.version))
    return path
