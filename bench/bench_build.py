"""Site build time for 10 and 27 councils, and time per notebook against bare papermill + nbconvert.

Not a test: run it by hand (``python bench/bench_build.py [--councils 10 27] [--months 24]``).
In one run it

* for each council count N: writes N councils' demo data (more than the ten
  members invents extra councils, with a parameters folder that accepts them),
  ingests it into a fresh DuckDB warehouse, then times ``perfcore.build.runner.build``
  twice: cold (every page executed and rendered) and warm (every page should
  be frozen: nothing changed, so nothing runs);
* for one council page (``notebooks/council.ipynb``, latest month) times,
  interleaved, a few times each:

  - perfcore: ``runner.execute_and_render`` on the planned Job (papermill
    through its API, then the HTML page *and* its PDF), in a fresh process
    so it pays interpreter start-up and imports as the bare run does, plus a
    breakdown measured warm in that process (execute alone, render HTML only,
    render HTML + PDF: the difference is the PDF's cost);
  - bare: the ``papermill`` CLI executing the same notebook with the same
    parameters, then ``jupyter nbconvert --to html`` on its output, each a
    subprocess;

  and reports medians and the ratio perfcore / bare, with and without the PDF
  (bare makes no PDF, so "without" is the like-for-like figure).

It prints one JSON report on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfcore.build.runner import BuildSummary, Job
    from perfcore.render import SiteConfig

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 26)  # fixed, as in the tests, so months and figures are reproducible


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- data: demo files ingested into a fresh warehouse ------------------------------------------------


@dataclass(frozen=True)
class Warehouse:
    councils: int
    database: Path
    parameters: Path
    files: int
    generate_s: float
    ingest_s: float


def prepare(folder: Path, councils: int, months: int) -> Warehouse:
    """Demo data for ``councils`` councils, ingested; every file must be accepted."""
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.demo import write_consortium_yaml, write_demo_data
    from perfcore.intake.ingest import ingest_paths

    started = time.perf_counter()
    summary = write_demo_data(
        folder / "input",
        consortium=load_consortium(ROOT / "parameters"),
        councils=councils,
        months=months,
        today=TODAY,
        initiatives_file=ROOT / "parameters" / "initiatives.yaml",
    )
    parameters = ROOT / "parameters"
    if summary.extra_councils:  # invented councils need a consortium.yaml that names them
        parameters = write_consortium_yaml(summary, folder / "parameters", copy_from=ROOT / "parameters").parent
    generated = time.perf_counter()
    database = folder / "warehouse.duckdb"
    con = warehouse.connect(database)
    try:
        results = list(ingest_paths([folder / "input"], con, load_consortium(parameters), today=TODAY))
    finally:
        con.close()  # the build opens it read-only, from other processes
    bad = [r.line() for r in results if r.outcome != "accepted"]
    if bad:
        raise SystemExit(f"demo data for {councils} councils did not ingest cleanly: {bad[:3]}")
    return Warehouse(councils, database, parameters, len(results), generated - started, time.perf_counter() - generated)


# -- the whole site, cold then warm --------------------------------------------------------------------------


def time_build(data: Warehouse, folder: Path, workers: int | None, *, all_periods: bool = False) -> BuildSummary:
    from perfcore.build.runner import build

    def progress(outcome: Any) -> None:
        log(
            f"  {outcome.status:8} {outcome.job.label} ({outcome.seconds:.1f}s)"
            f"{': ' + outcome.error if outcome.error else ''}"
        )

    return build(
        None,
        site=folder / "site",
        root=ROOT,
        warehouse=data.database,
        parameters=data.parameters,
        reports_dir=folder / "reports",
        workers=workers,
        progress=progress,
        all_periods=all_periods,
    )


def build_report(summary: BuildSummary) -> dict[str, Any]:
    pages = len(summary.outcomes)
    ran = [o.seconds for o in summary.outcomes if o.status != "frozen"]
    return {
        "seconds": round(summary.seconds, 1),
        "pages": pages,
        "executed": len(summary.executed),
        "frozen": len(summary.frozen),
        "failed": len(summary.failed),
        "seconds_per_page": round(summary.seconds / pages, 2) if pages else None,
        # each page's own time inside its worker (several run at once, so these overlap)
        "page_seconds_median": round(statistics.median(ran), 2) if ran else None,
        "failures": {o.job.label: o.error for o in summary.failed},
    }


def bench_site(councils: int, folder: Path, months: int, workers: int | None) -> tuple[Warehouse, dict[str, Any]]:
    log(f"{councils} councils: writing and ingesting {months} months of demo data")
    shutil.rmtree(folder, ignore_errors=True)  # a kept folder from an earlier run would make every file a duplicate
    data = prepare(folder, councils, months)
    log(f"{councils} councils: cold build ({data.files} files ingested)")
    before = sources_fingerprint()
    cold = time_build(data, folder, workers)
    between = sources_fingerprint()
    log(f"{councils} councils: warm build (nothing changed)")
    warm = time_build(data, folder, workers)
    report = {
        "councils": councils,
        "period": cold.period,
        "files_ingested": data.files,
        "demo_data_s": round(data.generate_s, 1),
        "ingest_s": round(data.ingest_s, 1),
        "cold_build": build_report(cold),
        "warm_build": build_report(warm),
        # a page re-runs when perfcore's code or its notebook changes: an edit made while this ran
        # (by anyone) makes the "warm" build partly cold, and this says so
        "code_changed_during_builds": len({before, between, sources_fingerprint()}) > 1,
    }
    return data, report


def bench_history(data: Warehouse, folder: Path, workers: int | None) -> dict[str, Any]:
    """Every month with data (``build --all-periods``, what ``perfcore demo`` builds), cold, then again
    with nothing changed."""
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{data.councils} councils: the whole history, cold")
    before = sources_fingerprint()
    cold = time_build(data, folder, workers, all_periods=True)
    between = sources_fingerprint()
    log(f"{data.councils} councils: the whole history again, nothing changed")
    warm = time_build(data, folder, workers, all_periods=True)
    return {
        "councils": data.councils,
        "months": len(cold.periods),
        "cold_build": build_report(cold),
        "warm_build": build_report(warm),
        "code_changed_during_builds": len({before, between, sources_fingerprint()}) > 1,
    }


def sources_fingerprint() -> str:
    """What the runner's page fingerprints take from the source tree: perfcore's code and the notebooks."""
    from perfcore.build.runner import code_fingerprint

    digest = hashlib.sha256(code_fingerprint(ROOT).encode())
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        digest.update(notebook.name.encode() + notebook.read_bytes())
    return digest.hexdigest()


# -- one notebook: perfcore's per-page work against bare papermill + nbconvert -----------------------------


def council_job(data: Warehouse, folder: Path) -> tuple[Job, SiteConfig]:
    """The planned Job for the first member's council report, writing under ``folder``."""
    from perfcore.build.runner import plan
    from perfcore.render import load_site_config
    from perfcore.reporting import report

    config = load_site_config(ROOT)
    loaded = report.load(None, warehouse=data.database, parameters=data.parameters)
    jobs = plan(loaded, config, root=ROOT, reports_dir=folder / "reports", site=folder / "site", only=("report",))
    return jobs[0], config


def _perfcore_child(job: Job, site: Path, config: SiteConfig, queue: Any) -> None:
    """In a fresh process: the page as a build worker makes it, then a warm breakdown of its parts."""
    from perfcore.build.runner import execute, execute_and_render
    from perfcore.render import page_paths, render_page

    started = time.perf_counter()
    outcome = execute_and_render(job, site, ROOT, config)
    paged = time.perf_counter()
    out_html, out_pdf = page_paths(site, job.context)
    phases = {
        "page_s": paged - started,
        "execute_s": _timed(lambda: execute(job, ROOT)),
        "render_html_s": _timed(
            lambda: render_page(job.executed, out_html=out_html, out_pdf=None, context=job.context, config=config)
        ),
        "render_html_pdf_s": _timed(
            lambda: render_page(job.executed, out_html=out_html, out_pdf=out_pdf, context=job.context, config=config)
        ),
    }
    queue.put({"status": outcome.status, "error": outcome.error, **phases})


def _timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def perfcore_page(job: Job, site: Path, config: SiteConfig) -> dict[str, Any]:
    """Spawned, not forked: the child starts as cold as the bare CLI does."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    started = time.perf_counter()
    process = context.Process(target=_perfcore_child, args=(job, site, config, queue))
    process.start()
    result = queue.get()
    # the child's wall time up to its page (start-up, imports, page), excluding the breakdown after it
    result["process_s"] = (
        time.perf_counter() - started - sum(result[k] for k in ("execute_s", "render_html_s", "render_html_pdf_s"))
    )
    process.join()
    if result["status"] != "executed":
        raise SystemExit(f"perfcore page failed: {result['error']}")
    return result


def cli(name: str) -> list[str]:
    """``name`` as its console script if installed, else through this interpreter's ``-m``."""
    if name == "nbconvert":
        return ["jupyter", "nbconvert"] if shutil.which("jupyter") else [sys.executable, "-m", "nbconvert"]
    return [name] if shutil.which(name) else [sys.executable, "-m", name]


def bare_page(job: Job, folder: Path) -> dict[str, Any]:
    """papermill CLI with the same notebook, parameters, kernel and cwd, then nbconvert to HTML."""
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / "council.ipynb"
    raw = [arg for key, value in job.parameters.items() for arg in ("-r", key, str(value))]  # -r: strings as written
    papermill = [
        *cli("papermill"),
        str(ROOT / "notebooks" / job.report.notebook),
        str(executed),
        *raw,
        "--kernel",
        "python3",
        "--cwd",
        str(ROOT),
        "--no-progress-bar",
        "--no-log-output",
        "--no-request-save-on-cell-execute",
    ]
    nbconvert = [*cli("nbconvert"), "--to", "html", str(executed), "--output-dir", str(folder)]
    return {"papermill_s": _run(papermill), "nbconvert_s": _run(nbconvert)}


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def bench_notebook(data: Warehouse, folder: Path, repeat: int) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    job, config = council_job(data, folder)
    log(f"per notebook: {job.label}, perfcore and bare interleaved, {repeat} times each")
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for n in range(repeat):  # interleaved, so drift in the machine hits both alike
        ours.append(perfcore_page(job, folder / "site", config))
        bare.append(bare_page(job, folder / "bare" / str(n)))
        log(f"  run {n + 1}: perfcore {ours[-1]['process_s']:.1f}s, bare {sum(bare[-1].values()):.1f}s")
    return notebook_report(job, ours, bare)


def notebook_report(job: Job, ours: list[dict[str, Any]], bare: list[dict[str, Any]]) -> dict[str, Any]:
    def median(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    pdf = median(ours, "render_html_pdf_s") - median(ours, "render_html_s")
    page = median(ours, "process_s")
    bare_total = statistics.median(r["papermill_s"] + r["nbconvert_s"] for r in bare)
    return {
        "notebook": f"notebooks/{job.report.notebook}",
        "parameters": {k: v for k, v in job.parameters.items() if k in ("council", "period")},
        "repeat": len(ours),
        "commands": {"papermill": " ".join(cli("papermill")), "nbconvert": " ".join(cli("nbconvert"))},
        "perfcore_page_s": round(page, 2),  # fresh process: start-up + imports + execute_and_render (HTML and PDF)
        "perfcore_page_without_pdf_s": round(page - pdf, 2),
        "perfcore_in_worker_s": round(median(ours, "page_s"), 2),  # execute_and_render alone, as timed in a build
        "perfcore_start_up_s": round(statistics.median(r["process_s"] - r["page_s"] for r in ours), 2),
        "perfcore_breakdown_warm_s": {
            "execute": round(median(ours, "execute_s"), 2),
            "render_html": round(median(ours, "render_html_s"), 2),
            "render_pdf": round(pdf, 2),
        },
        "bare_s": round(bare_total, 2),
        "bare_breakdown_s": {
            "papermill": round(median(bare, "papermill_s"), 2),
            "nbconvert": round(median(bare, "nbconvert_s"), 2),
        },
        "ratio_perfcore_to_bare": round(page / bare_total, 2),
        "ratio_perfcore_without_pdf_to_bare": round((page - pdf) / bare_total, 2),
    }


# -- main ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, nargs="+", default=[10, 27], metavar="N")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument(
        "--history",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also build the whole history (every month) for these council counts, cold then unchanged",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side of the per-notebook comparison")
    parser.add_argument("--workers", type=int, default=None, help="build workers (default: the machine's cores)")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="work here and keep the results (its councils-N/ and notebook/ are replaced; default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    # render_page stamps pages with perfcore's today; fixed, so runs are comparable
    os.environ.setdefault("PERFCORE_TODAY", TODAY.isoformat())
    with tempfile.TemporaryDirectory(prefix="bench-build-") as temporary:
        work = args.keep or Path(temporary)
        # the load average says whether other work shared the machine (it slows both sides alike)
        report: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "workers": args.workers or os.cpu_count(),
            "months": args.months,
            "load_average_at_start": round(os.getloadavg()[0], 1),
            "sites": [],
        }
        first: Warehouse | None = None
        prepared: dict[int, Warehouse] = {}
        for councils in args.councils:
            data, site = bench_site(councils, work / f"councils-{councils}", args.months, args.workers)
            report["sites"].append(site)
            first, prepared[councils] = first or data, data
        report["histories"] = []
        for councils in args.history:
            data = prepared.get(councils) or prepare(work / f"history-data-{councils}", councils, args.months)
            report["histories"].append(bench_history(data, work / f"history-{councils}", args.workers))
        if first is not None and args.repeat > 0:
            report["per_notebook"] = bench_notebook(first, work / "notebook", args.repeat)
        report["load_average_at_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
