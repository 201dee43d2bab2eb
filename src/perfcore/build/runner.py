"""The build: every report notebook for every council and the consortium, executed and rendered.

``build`` reads as the pipeline::

    data   = report.load(period)                    a snapshot of the warehouse, once, read-only
    months = [data] or every month with data        --all-periods: one plan per month, one pool for all
    jobs   = plan(data, ...)                        one job per (report, audience, period)
    jobs   = shard(jobs, K, N)                      --shard K/N: every N-th page, so N runners share a build
    stale  = jobs whose fingerprint changed          like Quarto's freeze
    pages  = run stale jobs in parallel             papermill → render_page (HTML + PDF)
    files  = the month's file per audience          CSV (and Parquet for analysts), no kernel
    site   = build_site(all pages)                  landing pages, indexes, search, DWP folder

A job's fingerprint covers the notebook, its parameters, perfcore's own code,
the parameters files, and exactly the data the page shows: its own council's
submissions, plus (for a council page) what ``Report.shows`` declares it prints
from other councils' data, the same object the notebook draws those parts from.
A page whose fingerprint is unchanged is neither executed nor rendered again.
A failing notebook does not stop the others: papermill saves the partial
notebook for the analyst, the last good page stays published (or a notice in
words takes its place), and the build ends with a summary and a non-zero status.
Pages are rendered into a staging folder and moved into place whole; every
other file is written to a temporary file and renamed. Workers die with the
build; SIGTERM and Ctrl-C stop it with one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcore import files, settings
from perfcore.exceptions import BuildError, BuildStopped, StorageFull

if TYPE_CHECKING:
    from perfcore.render import PageContext, RenderedPage, SiteConfig
    from perfcore.reporting.report import ReportData


@dataclass(frozen=True)
class Report:
    """One kind of report page: declared once, drives planning, the site and the docs."""

    name: str  # the page's file name, e.g. "report"
    notebook: str  # under notebooks/
    audience: str  # "council", "consortium" (every member), "analysts" (consortium role only) or "dwp"
    title: str
    pdf: bool = False
    for_dwp: bool = False
    depends: str = "data"  # "data": the warehouse (as the page shows it); "parameters": only parameters/
    help: str = ""
    # A council page: the perfcore.reporting.report function returning what it shows from other
    # councils' data (its ``digest()`` is fingerprinted; the notebook draws those parts from it).
    shows: str = ""
    # The page reads the site's users file (how many users each council has): its path is a parameter
    # and what the page shows of it (the counts, never the password hashes) is fingerprinted.
    users: bool = False


REPORTS: tuple[Report, ...] = (
    Report(
        "report",
        "council.ipynb",
        "council",
        "Monthly performance report",
        pdf=True,
        for_dwp=True,
        help="one council in depth: headline tiles, alerts, trends, work on hand, subsidy position, rank, data quality",
        shows="from_other_councils",
    ),
    Report(
        "benchmarks",
        "consortium.ipynb",
        "consortium",
        "Consortium benchmarks",
        pdf=True,
        help="every indicator across all members, the consortium figure, the best performer per indicator",
    ),
    Report(
        "analytics",
        "analytics.ipynb",
        "analysts",
        "Early warning and analysis",
        help="alerts, funnel plots, sustained best practice, how indicators move together, initiatives",
    ),
    Report(
        "data-quality",
        "data_quality.ipynb",
        "analysts",
        "Data quality",
        help="which councils submitted, when, which Sequence; rejected files and records; missing returns",
    ),
    Report(
        "onboarding",
        "onboarding.ipynb",
        "analysts",
        "Onboarding and feeds",
        users=True,
        help="each council's onboarding steps with their dates or what is outstanding; whether each feed arrived "
        "on time, late or not at all, month by month; overdue actions across councils",
    ),
    Report(
        "indicators",
        "indicators.ipynb",
        "consortium",
        "How the indicators are computed",
        depends="parameters",
        help="the framework's definitions, thresholds and sources",
    ),
    Report(
        "guide",
        "guide.ipynb",
        "consortium",
        "Guide for users",
        depends="parameters",
        help="how to read the reports, for each role; what to do when an alert fires; how to submit data",
    ),
    Report(
        "guide", "guide.ipynb", "dwp", "Guide for users", depends="parameters", help="the same guide in DWP's folder"
    ),
)


@dataclass(frozen=True)
class Job:
    report: Report
    parameters: dict[str, Any]
    context: PageContext
    executed: Path  # reports/executed/<audience dir>/<period>/<name>.ipynb
    fingerprint: str

    @property
    def label(self) -> str:
        return str(self.context.page_path)


@dataclass(frozen=True)
class Progress:
    """Where the build is when a page is done: pages done of all planned, and an estimate of the time left."""

    done: int
    total: int
    seconds_left: float | None = None  # from the pages executed so far; None before the first one ends

    def text(self) -> str:
        width = len(str(self.total))
        text = f"{self.done:>{width}}/{self.total}"
        if self.seconds_left is not None and self.done < self.total:
            minutes, seconds = divmod(round(self.seconds_left), 60)
            text += f", about {minutes}m{seconds:02d}s left" if minutes else f", about {seconds}s left"
        return text


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # "executed", "frozen", "failed"
    seconds: float = 0.0
    error: str | None = None
    page: RenderedPage | None = None  # what was executed or kept after a failure; a frozen page is on disk only
    progress: Progress | None = None  # set when the outcome is reported (build progress lines)


@dataclass(frozen=True)
class Shard:
    """``--shard K/N``: this runner builds the K-th of N deterministic, disjoint parts of the pages."""

    index: int  # 1..count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, _, count = text.partition("/")
        if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
            raise BuildError(f"shard {text!r}: write K/N with 1 <= K <= N, e.g. 1/4")
        return cls(int(index), int(count))

    def select(self, jobs: list[Job]) -> list[Job]:
        """Round-robin over the pages sorted by path: the same plan always splits the same way, every page is in
        exactly one shard, and each shard gets a like share of every kind of page."""
        chosen = {
            job.label for n, job in enumerate(sorted(jobs, key=lambda j: j.label)) if n % self.count == self.index - 1
        }
        return [job for job in jobs if job.label in chosen]

    @property
    def first(self) -> bool:
        """The shard that also writes the month's files that belong to no page (DWP's CSV)."""
        return self.index == 1

    def councils_for_dwp(self, planned: list[Job], selected: list[Job], period: str, members: set[str]) -> set[str]:
        """The councils whose DWP return for ``period`` this shard writes: those whose report for DWP it
        builds, and (the first shard) those whose report no shard builds in this run (``--report``)."""

        def councils(jobs: list[Job]) -> set[str]:
            return {j.parameters["council"] for j in jobs if j.report.for_dwp and j.context.period == period}

        mine = councils(selected)
        if self.first:
            mine |= members - councils(planned)
        return mine

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class BuildSummary:
    period: str  # the latest month built
    site: Path
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)
    seconds: float = 0.0
    provisional: bool = False  # the month is not complete yet (periods.is_complete)
    periods: tuple[str, ...] = ()  # every month built, oldest first (one unless --all-periods)
    shard: Shard | None = None

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
        month = f"{self.period} (provisional: not every member's extract is in)" if self.provisional else self.period
        if len(self.periods) > 1:
            month = f"{len(self.periods)} months, {self.periods[0]} to {month}"
        if self.shard is not None:
            month += f" (shard {self.shard})"
        text = (
            f"built {len(self.outcomes)} pages for {month} in {self.seconds:.0f}s: "
            f"{len(self.executed)} executed, {len(self.frozen)} unchanged, {len(self.failed)} failed"
        )
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
    today: str | None = None,
    users: str | Path | None = None,
    all_periods: bool = False,
    shard: Shard | None = None,
) -> BuildSummary:
    """Build the month's pages (``period``, default the latest complete month) and the site around them.

    ``all_periods``: every month with data up to that month, each planned as a build of that month
    would plan it, all run in one worker pool. ``shard``: only this shard's part of the pages (the
    first shard also writes DWP's month files); ``merge_shards`` then makes the one site."""
    from perfcore import warehouse as wh
    from perfcore.render import build_site, load_site_config
    from perfcore.reporting import data as reporting_data
    from perfcore.reporting import downloads, onboarding, report

    started, pool, no_worker_ran = time.perf_counter(), None, False
    root = root or settings.project_root()
    config = load_site_config(root)
    reports_dir = settings.resolve_path("reports", reports_dir)
    site = Path(site) if site else default_site(config, root, reports_dir)
    files.remove_leftovers(site, STAGING)
    files.remove_leftovers(reports_dir / "executed")
    try:
        with (
            _stopped_by_signals(),
            warehouse_snapshot(warehouse, reports_dir) as snapshot,
            contextlib.ExitStack() as held,
        ):
            data = report.load(period, warehouse=snapshot, parameters=parameters, today=today)
            # the snapshot is the build's alone: this process's reads share a connection instead of opening it
            held.enter_context(reporting_data.kept_open(data.warehouse))
            months = every_month(data, today) if all_periods else [data]
            users_file = onboarding.users_file(wh.warehouse_path(warehouse), users)  # beside the real warehouse
            code, inputs = code_fingerprint(root), data_fingerprints(data)
            key = build_key(months, code, inputs, root, users_shown(data, users_file), only, shard)
            trusted = _last_build_key(reports_dir) == key
            _forget_build_key(reports_dir)  # until this build ends: a build stopped half-way vouches for nothing
            # Something changed, so pages will run: the workers start their kernels while the plan is made.
            pool = None if trusted else _warm_pool(workers, root, reports_dir / "executed" / "kernels.log")
            jobs = []
            for month in months:
                jobs += plan(
                    month,
                    config,
                    root=root,
                    reports_dir=reports_dir,
                    site=site,
                    only=only,
                    users=users_file,
                    code=code,
                    inputs=inputs,
                    trust_frozen=trusted,
                )
            planned, jobs = jobs, shard.select(jobs) if shard is not None else jobs
            # The landing pages' stories (figures only, no page; one shard writes them, like DWP's CSV) and
            # the figures pages (where each figure comes from: no kernel) are made on a thread of this
            # process while the workers run the pages, which it only waits for.
            with ThreadPoolExecutor(1, thread_name_prefix="landing") as side:
                told = (
                    side.submit(write_landing_months, months, site, planned, trusted)
                    if not shard or shard.first
                    else None
                )
                explained = side.submit(
                    write_figures, months, site, config, today=today, unchanged=trusted, only=only, shard=shard
                )
                outcomes = run(jobs, site=site, root=root, config=config, workers=workers, progress=progress, pool=pool)
                pool = None  # run has shut it down
                no_worker_ran = all(o.status == "frozen" for o in outcomes)
                if told is not None:
                    told.result()
                figures_pages = explained.result()
            pages = [o.page for o in outcomes if o.page is not None] + figures_pages
            nothing_ran = trusted and not any(o.status == "executed" for o in outcomes)
            for month in months if shard is None or shard.first else []:
                # each audience's file of the month: no kernel, and a file is rewritten only when its bytes change
                if not (nothing_ran and downloads.month_files_written(month, site)):
                    downloads.write_month_files(month, site)
            for month in months:
                if nothing_ran and _dwp_month_written(site, month):
                    continue  # nothing it is made from changed since the last build wrote it
                if shard is None:
                    write_dwp_return(month, site)
                    write_dwp_returns(month, site)
                    continue
                if shard.first:  # the month's CSV: figures only, no page
                    write_dwp_return(month, site)
                # a council's return carries its report's PDF: the shard that built that page writes it
                write_dwp_returns(
                    month,
                    site,
                    councils=shard.councils_for_dwp(planned, jobs, month.period, set(month.consortium.codes)),
                )
            build_site(pages, config, site, state=_site_state_path(reports_dir))
            _remember_build_key(reports_dir, key)
    finally:
        if pool is not None:  # the plan failed or the build was stopped before the pages ran
            _end_workers(pool)
        if no_worker_ran:  # every page frozen: no worker left anything (this process writes by rename)
            shutil.rmtree(site / STAGING, ignore_errors=True)
        else:
            files.remove_leftovers(site, STAGING)  # what workers ended mid-page left, in staging or beside a page
    return BuildSummary(
        data.period,
        site,
        tuple(outcomes),
        time.perf_counter() - started,
        data.provisional,
        tuple(m.period for m in months),
        shard,
    )


def every_month(data: ReportData, today: str | None = None) -> list[ReportData]:
    """``data`` for every month with data up to its own month, oldest first, each with its own status
    (complete or provisional). The indicator table is the one already loaded: only the month differs."""
    from perfcore import warehouse as wh
    from perfcore.warehouse import indicators

    con = wh.connect(data.warehouse, read_only=True)
    try:
        counts = indicators.extracts_in(con, data.consortium)
    finally:
        con.close()
    day = settings.today(today)
    months = [m for m in indicators.months_with_data(data.table, data.framework) if m <= data.period]
    if data.period not in months:  # asked for a month without data of its own: it is built as asked
        months.append(data.period)
    return [
        dataclasses.replace(data, period=m, status=indicators.month_status(m, counts, data.consortium, day))
        for m in sorted(months)
    ]


def merge_shards(shards: list[Path], site: Path, config: SiteConfig) -> list[Path]:
    """The site made from N shards' sites: every shard's files copied into ``site`` (pages are disjoint;
    files several shards wrote, such as assets and DWP's copies of council PDFs, are the same bytes), then
    the indexes, search and DWP folder rebuilt from every page manifest, as one build would write them.

    Returns the files copied. A shard folder that is missing or holds no pages is an error: a shard that
    failed to upload must not quietly publish a site without its pages."""
    from perfcore.render import build_site
    from perfcore.render.context import MANIFEST

    for folder in shards:  # all checked before anything is copied
        if not any(folder.glob(f"*/**/*_files/{MANIFEST}")):
            raise BuildError(f"{folder}: no built pages here; is it a shard's site folder (perfcore build --shard)?")
    copied = []
    for folder in shards:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                copied.append(files.copy_file(path, site / relative))
    build_site([], config, site)
    return copied


def default_site(config: SiteConfig, root: Path, reports_dir: Path) -> Path:
    """_quarto.yml's output-dir; under the reports folder when it is there (so --reports moves the site too)."""
    default_reports = root / settings.setting("reports").default
    try:
        return reports_dir / config.output_dir.relative_to(default_reports)
    except ValueError:  # output-dir is outside reports/: it was put there on purpose
        return config.output_dir


@contextlib.contextmanager
def warehouse_snapshot(warehouse: str | Path | None, reports_dir: Path) -> Iterator[Path]:
    """A private copy of the warehouse for the whole build: every page reads the same data, and an
    ingest may run meanwhile (DuckDB lets one process write a file only while nobody else has it open)."""
    from perfcore import warehouse as wh

    source = wh.warehouse_path(warehouse)
    _remove_dead_snapshots(files.make_folder(reports_dir))
    snapshot = reports_dir / f"{SNAPSHOT_PREFIX}{os.getpid()}.duckdb"
    con = wh.connect(source, read_only=True)  # waits while an ingest writes; keeps writers out while we copy
    try:
        for suffix in ("", ".wal"):  # an unfinished checkpoint lives in the .wal beside the file
            if Path(f"{source}{suffix}").exists():
                files.copy_file(Path(f"{source}{suffix}"), Path(f"{snapshot}{suffix}"))
    finally:
        con.close()
    try:
        yield snapshot
    finally:
        for suffix in ("", ".wal"):
            Path(f"{snapshot}{suffix}").unlink(missing_ok=True)


SNAPSHOT_PREFIX = ".warehouse-snapshot-"


def _remove_dead_snapshots(reports_dir: Path) -> None:
    """Snapshots of builds that were killed (SIGKILL runs no cleanup); a running build's is left alone."""
    for leftover in reports_dir.glob(f"{SNAPSHOT_PREFIX}*.duckdb*"):
        pid = leftover.name[len(SNAPSHOT_PREFIX) :].split(".")[0]
        if pid.isdigit() and not _running(int(pid)):
            leftover.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM stops the build as Ctrl-C does: workers are ended and the CLI prints one line."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise BuildStopped(
            f"build stopped by {signal.Signals(signum).name}: pages finished before it are published, "
            "the others keep their last good version; run the build again to finish"
        )

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def plan(
    data: ReportData,
    config: SiteConfig,
    *,
    root: Path,
    reports_dir: Path,
    site: Path,
    only: tuple[str, ...] = (),
    users: Path | None = None,
    code: str | None = None,
    inputs: dict[str, str] | None = None,
    trust_frozen: bool = False,
) -> list[Job]:
    """One job per report page for the month (``only``: just these report names), with fingerprints.

    ``users``: the site's users file, for the pages that read it (``Report.users``); ``code`` and
    ``inputs``: ``code_fingerprint(root)`` and ``data_fingerprints(data)`` when the caller has them
    already (once per build, not per month). ``trust_frozen``: nothing a page depends on changed since
    the last build that ended (``build_key``), so a page frozen then keeps its fingerprint without
    computing what it shows again; pages not frozen then are fingerprinted as usual."""
    unknown = set(only) - {r.name for r in REPORTS}
    if unknown:
        raise BuildError(
            f"unknown report(s) {sorted(unknown)}; reports are {', '.join(sorted({r.name for r in REPORTS}))}"
        )
    from perfcore.render import page_context

    code = code or code_fingerprint(root)
    inputs = inputs or data_fingerprints(data)
    jobs = []
    for report in (r for r in REPORTS if not only or r.name in only):
        councils = data.consortium.members if report.audience == "council" else (None,)
        for council in councils:
            parameters = {"period": data.period, "warehouse": str(data.warehouse), "parameters": str(data.parameters)}
            if council is not None:
                parameters["council"] = council.code
            if report.users:
                parameters["users"] = str(users) if users else None
            context = page_context(
                config,
                audience=report.audience,
                period=data.period,
                report=report.name,
                report_title=report.title if council is None else f"{council.name}: {report.title.lower()}",
                council_name=council.name if council else None,
                council_slug=council.slug if council else None,
                for_dwp=report.for_dwp,
                provisional=data.provisional,
            )
            executed = reports_dir / "executed" / context.page_path.with_suffix(".ipynb")
            if trust_frozen and (frozen := _frozen_at(executed)) is not None:
                jobs.append(Job(report, parameters, context, executed, frozen))
                continue
            notebook = root / "notebooks" / report.notebook
            # Paths are left out: the same data moved elsewhere is the same page.
            shown = {k: v for k, v in parameters.items() if k not in ("warehouse", "parameters", "users")}
            if report.users:
                shown["users"] = users_shown(data, users)
            shown["provisional"] = data.provisional  # the page says so: it changes when the month completes
            if report.depends == "parameters":
                what = inputs["parameters"] + data.period
            elif council is not None:
                what = inputs[council.code] + shown_from_others(report, data, council.code)
            else:
                what = inputs["consortium"]
            fingerprint = _hash(code, _file_hash(notebook), json.dumps(shown, sort_keys=True), what)
            jobs.append(Job(report, parameters, context, executed, fingerprint))
    return jobs


def run(
    jobs: list[Job],
    *,
    site: Path,
    root: Path,
    config: SiteConfig,
    workers: int | None,
    progress: Callable[[Outcome], None] | None,
    pool: ProcessPoolExecutor | None = None,
) -> list[Outcome]:
    """Execute and render stale jobs in parallel; frozen ones are left on disk (their outcome has no page).

    ``pool``: workers already started (``_warm_pool``), used and then shut down; else a pool is made.

    Each outcome reaches ``progress`` with its ``Progress``: pages done of all planned, and the time left
    estimated from the pages executed so far (frozen pages take no time)."""
    from perfcore.render import page_paths

    outcomes: list[Outcome] = []
    stale: list[Job] = []
    meter = _Meter(len(jobs))
    for job in jobs:
        out_html, _ = page_paths(site, job.context)
        manifest = out_html.parent / f"{job.context.report}_files" / "page.json"
        if _frozen(job) == job.fingerprint and out_html.exists() and manifest.exists():
            # no page: it is on disk as the last build left it, and build_site reads it there with the others
            outcome = Outcome(job, "frozen")
            outcomes.append(outcome)
            if progress:
                progress(meter.note(outcome))
        else:
            stale.append(job)
    workers = max(1, min(workers or os.cpu_count() or 1, len(stale) or 1))
    if stale:  # always in worker processes, even one: a stop signal then never lands inside papermill
        meter.start(len(stale))
        outcomes += _run_in_pool(
            stale, workers, site=site, root=root, config=config, progress=progress, meter=meter, pool=pool
        )
    elif pool is not None:
        _end_workers(pool)
    order = {job.label: n for n, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order[o.job.label])


class _Meter:
    """Counts pages done and estimates the time left from the executed pages' pace (wall clock, all workers)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.ran, self.to_run, self.since = total, 0, 0, 0, time.perf_counter()

    def start(self, to_run: int) -> None:
        self.to_run, self.since = to_run, time.perf_counter()

    def note(self, outcome: Outcome) -> Outcome:
        self.done += 1
        left = None
        if outcome.status != "frozen":
            self.ran += 1
            left = (time.perf_counter() - self.since) / self.ran * (self.to_run - self.ran)
        return dataclasses.replace(outcome, progress=Progress(self.done, self.total, left))


def _run_in_pool(
    stale: list[Job],
    workers: int,
    *,
    site: Path,
    root: Path,
    config: SiteConfig,
    progress: Callable[[Outcome], None] | None,
    meter: _Meter | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> list[Outcome]:
    pool = pool or _new_pool(workers)
    meter = meter or _Meter(len(stale))
    outcomes = []
    try:
        futures = {pool.submit(execute_and_render, job, site, root, config): job for job in stale}
        for future in as_completed(futures):
            outcome = meter.note(_result_or_failure(future, futures[future], site, config))
            outcomes.append(_record(outcome, progress))
    except BaseException:  # stopped, disk full, Ctrl-C: no worker may go on publishing pages
        _end_workers(pool)
        raise
    pool.shutdown()
    return outcomes


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may hold DuckDB connections and library threads,
    # which a forked child inherits in an undefined state.
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_started, initargs=(os.getpid(),)
    )


def _warm_pool(workers: int | None, root: Path, kernel_log: Path) -> ProcessPoolExecutor:
    """A pool whose workers start their kernels and imports now (``kernels.warm_up``), while the parent plans."""
    count = max(1, workers or os.cpu_count() or 1)
    pool = _new_pool(count)
    for _ in range(count):  # one each, most likely: each warm-up keeps its worker busy for seconds
        pool.submit(_warm_up, root, kernel_log)
    return pool


def _warm_up(root: Path, kernel_log: Path) -> None:
    from perfcore.build import kernels

    kernels.warm_up(root, kernel_log)


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now (their kernels notice and end themselves)."""
    processes = list((pool._processes or {}).values())  # the executor has no public way to stop running tasks
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def _worker_started(parent: int) -> None:
    """In each worker: Ctrl-C is the parent's to handle, and the worker dies with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    # Linux: the kernel kills us the moment the parent dies, even by SIGKILL.
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    # Everywhere (and in case the parent died before prctl took effect): a watchdog on our parent.
    threading.Thread(target=_watch_parent, args=(parent,), name="perfcore-parent-watchdog", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)  # the build is gone: nobody would read what we make


def _result_or_failure(future, job: Job, site: Path, config: SiteConfig) -> Outcome:
    """A worker that died (out of memory, killed) fails its page, not the build; a full disk stops the build."""
    try:
        return future.result()
    except StorageFull:
        raise
    except Exception as exc:
        return Outcome(
            job,
            "failed",
            error=f"worker died: {type(exc).__name__}: {exc}",
            page=keep_or_notice(job, "the process running it ended unexpectedly", site, config),
        )


def _record(outcome: Outcome, progress: Callable[[Outcome], None] | None) -> Outcome:
    if outcome.status == "executed":
        _freeze(outcome.job)
    else:
        _thaw(outcome.job)
    if progress:
        progress(outcome)
    return outcome


def execute_and_render(job: Job, site: Path, root: Path, config: SiteConfig) -> Outcome:
    """In a worker: papermill, then the page and its PDF. Failures are outcomes (only a full disk raises).

    A page is published only whole and only when it built: a failure keeps the last good page
    (and its PDF) in place, or publishes a notice that says in words what failed. The details
    (error, traceback, paths) go to the build's progress lines and the executed notebook's log.
    """
    started = time.perf_counter()
    error, public = execute(job, root), "the report's calculations stopped with an error"
    page = None
    if error is None:
        page, error = publish(job, job.executed, site, config, pdf=job.report.pdf)
        public = "the finished report could not be turned into a page"
    if error is not None:
        page = keep_or_notice(job, public, site, config)
    return Outcome(job, "failed" if error else "executed", time.perf_counter() - started, error, page)


STAGING = ".staging"  # inside the site, so publishing is a rename on one file system


def publish(
    job: Job, notebook: Path, site: Path, config: SiteConfig, *, pdf: bool, failure: str | None = None
) -> tuple[RenderedPage | None, str | None]:
    """Render into a staging folder; only a page without errors then replaces the published one.

    ``failure``: the page is a notice about this failure (recorded in its manifest, so it is
    never taken for a good page)."""
    from perfcore.render import page_paths, render_page
    from perfcore.render.context import MANIFEST

    staging = site / STAGING / f"{os.getpid()}-{job.fingerprint[:16]}"
    try:
        out_html, out_pdf = page_paths(staging, job.context)
        try:
            page = render_page(
                notebook, out_html=out_html, out_pdf=out_pdf if pdf else None, context=job.context, config=config
            )
        except Exception as exc:  # a render failure must not stop the other pages; a full disk stops them all
            if files.is_disk_full(exc):
                raise files.storage_full(site, exc) from exc
            return None, f"render failed: {exc}"
        if page.errors and failure is None:
            return None, "; ".join(page.errors)
        if failure is not None:
            page = dataclasses.replace(page, errors=(failure,))
            files.write_text(
                page.html.parent / f"{job.context.report}_files" / MANIFEST,
                json.dumps(page.to_json(), indent=1, ensure_ascii=False),
            )
        return _move_into_place(staging, site, job.context, pdf=pdf), None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, site: Path, context: PageContext, *, pdf: bool) -> RenderedPage:
    """Chart files first, then the PDF, the page last (it links to both); each move is a rename."""
    from perfcore.render import RenderedPage
    from perfcore.render.context import MANIFEST

    assets = site / context.assets_path
    files.make_folder(assets.parent)
    with files.disk_full_is_one_line(site):
        if assets.exists():
            retired = files.temporary_beside(assets)
            os.replace(assets, retired)
            os.replace(staging / context.assets_path, assets)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging / context.assets_path, assets)
        if pdf:
            os.replace(staging / context.pdf_path, site / context.pdf_path)
        os.replace(staging / context.page_path, site / context.page_path)
    return RenderedPage.from_manifest(assets / MANIFEST)


def keep_or_notice(job: Job, what_failed: str, site: Path, config: SiteConfig) -> RenderedPage | None:
    """The last good page if there is one (left exactly as it was), else a notice page without a PDF."""
    good = _last_good_page(job, site)
    if good is not None:
        return good
    notice = job.executed.with_name(f"{job.executed.stem}.notice.ipynb")
    write_notice(notice, job, what_failed)
    page, _ = publish(job, notice, site, config, pdf=False, failure=what_failed)
    return page


def _last_good_page(job: Job, site: Path) -> RenderedPage | None:
    from perfcore.render import RenderedPage, page_paths
    from perfcore.render.context import MANIFEST

    out_html, _ = page_paths(site, job.context)
    manifest = out_html.parent / f"{job.context.report}_files" / MANIFEST
    if not (out_html.exists() and manifest.exists()):
        return None
    try:
        page = RenderedPage.from_manifest(manifest)
    except (ValueError, KeyError, TypeError, OSError):
        return None
    return page if page.ok and (page.pdf is None or page.pdf.exists()) else None


def write_notice(path: Path, job: Job, what_failed: str) -> None:
    """A one-cell notebook saying, in words only, that the page could not be built (no error text:
    it may hold paths, process ids or data from other councils)."""
    import nbformat

    from perfcore import periods
    from perfcore.reporting.display import callout_bundle

    notice = callout_bundle(
        "caution",
        f"This page could not be built for {periods.label(job.context.period)}: {what_failed}. "
        "The figures will appear here when the next build succeeds; the consortium's analyst has the details "
        "in the build log.",
        title="This page could not be built",
    )
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_markdown_cell(f"# {job.context.report_title}"),
        nbformat.v4.new_markdown_cell(notice.data["text/markdown"]),
    ]
    files.write_text(path, nbformat.writes(book))


def execute(job: Job, root: Path) -> str | None:
    """Run the notebook with papermill into a temporary file that then replaces the executed notebook
    (also on failure: papermill saves the partial notebook, which the analyst reads beside the log)."""
    files.make_folder(job.executed.parent)
    output = files.temporary_beside(job.executed)
    try:
        with _stderr_to(job.executed.with_suffix(".log")):
            error = _papermill(job, root, output)
        if output.exists():
            with files.disk_full_is_one_line(job.executed):
                os.replace(output, job.executed)
        return error
    finally:
        output.unlink(missing_ok=True)


def _papermill(job: Job, root: Path, output: Path) -> str | None:
    """Execute the notebook in this worker's warm kernel (``build.kernels``); errors are returned, not raised."""
    from perfcore.build import kernels

    try:
        return kernels.run_notebook(
            root / "notebooks" / job.report.notebook,
            output,
            job.parameters,
            cwd=root,
            log=_executed_root(job) / "kernels.log",
        )
    except Exception as exc:
        if files.is_disk_full(exc):
            raise files.storage_full(job.executed, exc) from exc
        raise


def _executed_root(job: Job) -> Path:
    """reports/executed: the executed notebook's path less the page's own path within the site."""
    return job.executed.parents[len(job.context.page_path.parts) - 1]


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
    files = sorted(
        p
        for p in package.rglob("*")
        if p.is_file() and p.suffix in (".py", ".html", ".css", ".js", ".typ", ".lua", ".xsd")
    )
    return _hash(*(f"{p.relative_to(package)}:{_file_hash(p)}" for p in files), _file_hash(root / "_quarto.yml"))


def data_fingerprints(data: ReportData) -> dict[str, str]:
    """What pages show, hashed: per council code (its own data), 'consortium' (everything) and 'parameters'.

    A council page adds ``shown_from_others``: what it prints from other councils' data.
    """
    from perfcore import warehouse

    parameters = _hash(*(f"{p.name}:{_file_hash(p)}" for p in sorted(data.parameters.glob("*.yaml"))))
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        # A council's files and their outcomes: a new current extract is a new accepted file,
        # and the page lists rejected and conflicting ones too.
        files = con.execute(
            "select authority, string_agg(id::varchar || outcome, ',' order by id) from submissions "
            "where outcome <> 'duplicate' and authority is not null group by authority"
        ).fetchall()
        manual = con.execute(
            "select authority, string_agg(period || measure || value::varchar || submission_id::varchar, ',' "
            "order by period, measure) from current_manual group by authority"
        ).fetchall()
        # The commentary rows: a return may carry several councils' rows (its submission then names
        # no council), and each council's page shows its own commentary and actions.
        commentary = con.execute(
            "select authority, string_agg(submission_id::varchar || ':' || line::varchar, ',' "
            "order by submission_id, line) from commentary_rows group by authority"
        ).fetchall()
        # Rejections and replacements show on the data-quality pages; duplicates change nothing shown.
        history = con.execute(
            "select (select count(*) from rejections), (select max(submission_id) from rejections), "
            "(select count(*) from replacements), (select max(replaced_by_id) from replacements)"
        ).fetchone()
    finally:
        con.close()
    own: dict[str, str] = {}
    for authority, text in [*manual, *files, *commentary]:
        own[authority] = _hash(own.get(authority, ""), text)
    out = {"parameters": parameters, "consortium": _hash(parameters, json.dumps(sorted(own.items())), str(history))}
    for council in data.consortium.members:
        out[council.code] = _hash(parameters, own.get(council.code, ""))
    return out


def users_shown(data: ReportData, users: Path | None) -> dict[str, int] | str:
    """What a page shows of the users file: how many users each council has.

    A users file that cannot be read must not stop the build's plan: the page says it cannot count them."""
    from perfcore.exceptions import AccessError
    from perfcore.reporting.onboarding import council_users

    try:
        return council_users(users, data.consortium)
    except (AccessError, OSError) as exc:
        return f"unreadable: {exc}"


def shown_from_others(report: Report, data: ReportData, council: str) -> str:
    """A council page's hash of what it prints from other councils' data, as formatted on the page.

    ``report.shows`` names the reporting function that returns it; the notebook
    draws those parts from the same object, so another council's change re-runs
    the page only when it changes something the page shows. Nothing declared: nothing shown.
    """
    if not report.shows:
        return ""
    from perfcore.reporting import report as reporting

    shown = getattr(reporting, report.shows)(data, council).digest(data)
    return _hash(json.dumps(shown, sort_keys=True, default=str))


def _freeze_path(job: Job) -> Path:
    return job.executed.with_suffix(".freeze.json")


def _frozen(job: Job) -> str | None:
    return _frozen_at(job.executed)


def _frozen_at(executed: Path) -> str | None:
    path = executed.with_suffix(".freeze.json")
    if not (path.exists() and executed.exists()):
        return None
    return json.loads(path.read_text()).get("fingerprint")


# -- the whole build's key: nothing changed, nothing to fingerprint again ----------------------------------


def build_key(
    months: list[ReportData],
    code: str,
    inputs: dict[str, str],
    root: Path,
    users: dict[str, int] | str,
    only: tuple[str, ...],
    shard: Shard | None,
) -> str:
    """Everything any page's fingerprint is made from, for the whole build: perfcore's code, every
    notebook, the parameters and every council's data (``inputs["consortium"]``), the users counted,
    the months with their status, and which pages were asked for. Equal keys mean equal fingerprints."""
    notebooks = sorted({r.notebook for r in REPORTS})
    return _hash(
        code,
        *(f"{name}:{_file_hash(root / 'notebooks' / name)}" for name in notebooks),
        inputs["consortium"],
        json.dumps(users, sort_keys=True),
        json.dumps([(m.period, m.provisional) for m in months]),
        json.dumps(sorted(only)),
        str(shard),
    )


def _build_key_path(reports_dir: Path) -> Path:
    return reports_dir / "executed" / "build-key.json"


def _site_state_path(reports_dir: Path) -> Path:
    """Where build_site remembers what it read and wrote (it names every audience's files: not in the site)."""
    return reports_dir / "executed" / "site-built.json"


def _last_build_key(reports_dir: Path) -> str | None:
    try:
        return json.loads(_build_key_path(reports_dir).read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def _forget_build_key(reports_dir: Path) -> None:
    _build_key_path(reports_dir).unlink(missing_ok=True)


def _remember_build_key(reports_dir: Path, key: str) -> None:
    files.write_text(_build_key_path(reports_dir), json.dumps({"key": key}))


def _freeze(job: Job) -> None:
    files.write_text(_freeze_path(job), json.dumps({"fingerprint": job.fingerprint, "page": job.label}))


def _thaw(job: Job) -> None:
    _freeze_path(job).unlink(missing_ok=True)


# -- where each figure comes from ------------------------------------------------------------------------------


EXPLAINED_BY = ("report", "benchmarks", "analytics")  # the reports whose tiles, tables and charts link to them


def write_figures(
    months: list[ReportData],
    site: Path,
    config: SiteConfig,
    *,
    today: str | None = None,
    unchanged: bool = False,
    only: tuple[str, ...] = (),
    shard: Shard | None = None,
) -> list[RenderedPage]:
    """Each month's figures pages (``render.figures``): plain HTML from one read of the warehouse, no kernel.

    Skipped when nothing changed since the last build wrote them (``unchanged``: the build key is the
    last build's, and the pages are made from nothing the key leaves out), in a build of chosen reports none of
    which links to them (``--report``), and by every shard but the first (they need no report page)."""
    from perfcore import warehouse as wh
    from perfcore.render import figures
    from perfcore.reporting import explain

    if (only and not set(only) & set(EXPLAINED_BY)) or (shard is not None and not shard.first) or not months:
        return []
    todo = [m for m in months if not (unchanged and (site / "consortium" / m.period / "figures.html").exists())]
    if not todo:
        return []
    data = months[0]
    con = wh.connect(data.warehouse, read_only=True)
    try:
        evidence = explain.read_evidence(con, data.consortium, data.framework, data.table)
    finally:
        con.close()
    chosen = [figures.Month(m.period, m.provisional) for m in todo]
    return figures.write_pages(evidence, chosen, site, config, published=settings.today(today))


# -- DWP electronic return --------------------------------------------------------------------------------


def _dwp_month_written(site: Path, data: ReportData) -> bool:
    month = site / "dwp" / data.period
    return (month / f"sop-return-{data.period}.csv").exists() and (month / "returns").is_dir()


def _story_audiences(data: ReportData, planned: list[Job]) -> set[tuple[str, str, str | None]]:
    """(audience, folder, council) of every audience with pages planned for the month."""
    return {
        (j.context.audience, str(j.context.audience_dir), j.parameters.get("council"))
        for j in planned
        if j.context.period == data.period
    }


def _stories_written(site: Path, data: ReportData, planned: list[Job]) -> bool:
    from perfcore.reporting import landing

    return all(
        landing.path(site, folder, data.period).exists()
        for audience, folder, _ in _story_audiences(data, planned)
        if audience in landing.AUDIENCES
    )


def write_landing_months(months: list[ReportData], site: Path, planned: list[Job], trusted: bool) -> None:
    """Each month's stories, unless the build key is unchanged and they are there already."""
    by_period: dict[str, list[Job]] = {}
    for job in planned:  # once, not once per month: a history plans hundreds of pages for each of its months
        by_period.setdefault(job.context.period, []).append(job)
    for month in months:
        jobs = by_period.get(month.period, [])
        if not (trusted and _stories_written(site, month, jobs)):
            write_landing_stories(month, site, jobs)


def write_landing_stories(data: ReportData, site: Path, planned: list[Job]) -> None:
    """``<audience>/<period>/landing.json`` for every audience with pages planned for the month: what its
    landing page tells (``reporting.landing``); a story that did not change is not written again."""
    from perfcore.reporting import landing

    landing.write_stories(data, site, _story_audiences(data, planned))


def write_dwp_returns(data: ReportData, site: Path, councils: set[str] | None = None) -> None:
    """dwp/<period>/returns/: each member's electronic return (XML, PDF, manifest), incomplete months marked.

    ``councils``: only these members' returns (a shard writes those whose report pages it built)."""
    from perfcore.dwp.returns import write_site_returns

    if councils is None or councils:
        write_site_returns(data, site, councils)


def write_dwp_return(data: ReportData, site: Path) -> Path:
    """dwp/<period>/sop-return-<period>.csv: speed-of-processing figures per council for DWP; not written
    again when its bytes would be the same (a build of chosen reports makes no returns folder, so it came here
    on every build, and the site around it was drawn again)."""
    import csv
    import io

    from perfcore.reporting.report import value

    path = site / "dwp" / data.period / f"sop-return-{data.period}.csv"
    columns = (
        "new_claims_decided",
        "new_claims_days",
        "changes_actioned",
        "changes_days",
        "rti_days",
        "new_claims_within_14_days_pct",
        "caseload",
    )
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(("gss_code", "council", "period", *columns, "framework_version"))
    for council in data.consortium.members:
        values = [value(data, council.code, c) for c in columns]
        writer.writerow(
            (
                council.code,
                council.name,
                data.period,
                *("" if v is None else f"{v:.4f}".rstrip("0").rstrip(".") for v in values),
                data.framework.version,
            )
        )
    files.write_if_changed(path, handle.getvalue().encode("utf-8"))
    return path
