"""Where one council page's build time goes: kernel, imports, queries, analytics, charts, pandoc, Typst.

Not a test: run it by hand on a warehouse with data (``perfcore demo``, or ``perfcore demo-data`` + ``ingest``)::

    python bench/profile_page.py --warehouse data/warehouse.duckdb [--council S12000042] [--out bench/PROFILE.md]

For the planned council-report Job of the latest complete month it measures, in this order:

1. the page as a build worker makes it: ``runner.execute`` (papermill through its API) in a fresh
   kernel, then again in the same kernel kept warm (a worker's next pages), and ``render_page``
   (HTML + PDF), each wall-clock;
2. a kernel's start-up and shutdown alone: papermill on a notebook with one empty cell;
3. the notebook's code run in-process in an IPython shell, cold (first run in a fresh process:
   pays every import and vl-convert's JavaScript start-up) then warm (second run, profiled with
   cProfile): the warm profile is split into report.load, the other warehouse queries (DuckDB
   calls), analytics (``perfcore.analytics``), the chart builders (their pandas work and the Vega-Lite
   dicts), chart rendering (vl-convert) and the rest;
4. ``render_page`` again under cProfile: pandoc (``write_formats``: one process writes the HTML and
   the Typst; any other run through ``run_pandoc``),
   Typst (``typst.compile``) and the rest (reading the notebook, writing files).

A category's time is the time spent in its functions when called from outside the category
(cProfile's per-caller cumulative times), so a category is never counted twice within itself;
categories can nest (report.load runs DuckDB queries): the table says which.

It prints a Markdown table on stdout (and writes it to ``--out``) and the raw numbers as JSON on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TODAY = "2026-11-26"


def council_job(warehouse: Path, parameters: Path, council: str | None, folder: Path):
    from perfcore.build.runner import plan
    from perfcore.render import load_site_config
    from perfcore.reporting import report

    config = load_site_config(ROOT)
    data = report.load(None, warehouse=warehouse, parameters=parameters)
    jobs = plan(data, config, root=ROOT, reports_dir=folder / "reports", site=folder / "site", only=("report",))
    chosen = [j for j in jobs if council is None or j.parameters["council"] == council]
    if not chosen:
        raise SystemExit(f"no council page for {council}")
    return chosen[0], config


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def category_seconds(stats: pstats.Stats, member: Callable[[tuple[str, int, str]], bool]) -> float:
    """Time in the category's functions when entered from outside it (no double counting within it)."""
    total = 0.0
    for function, (_cc, _nc, _tt, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if not member(function):
            continue
        for caller, timing in callers.items():
            if not member(caller):
                total += timing[3]  # cumulative time of the calls from this caller
    return total


def in_file(fragment: str) -> Callable[[tuple[str, int, str]], bool]:
    return lambda f: fragment in f[0].replace(os.sep, "/")


def named(*fragments: str) -> Callable[[tuple[str, int, str]], bool]:
    return lambda f: any(x in f[2] for x in fragments)


def function(file_fragment: str, name: str) -> Callable[[tuple[str, int, str]], bool]:
    return lambda f: file_fragment in f[0].replace(os.sep, "/") and f[2] == name


def pandoc_runs(f: tuple[str, int, str]) -> bool:
    """A pandoc process: ``write_formats`` (a page's HTML and Typst in one run) or ``run_pandoc``."""
    return "perfcore/render/pandoc.py" in f[0].replace(os.sep, "/") and f[2] in ("write_formats", "run_pandoc")


def chart_builders(f: tuple[str, int, str]) -> bool:
    """The chart builders (``show_figure`` draws: vl-convert's time, counted apart)."""
    return "perfcore/reporting/charts.py" in f[0].replace(os.sep, "/") and f[2] != "show_figure"


# -- the notebook in-process -------------------------------------------------------------------------------


def notebook_cells(job) -> list[str]:
    """The notebook's code cells, with the job's parameters assigned after its parameters cell."""
    import nbformat

    book = nbformat.read(ROOT / "notebooks" / job.report.notebook, as_version=4)
    cells = []
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        cells.append(cell.source)
        if "parameters" in cell.metadata.get("tags", []):
            cells.append("\n".join(f"{k} = {v!r}" for k, v in job.parameters.items()))
    return cells


def profile_notebook(job) -> dict[str, Any]:
    """In a fresh process (as cold as a new kernel): the notebook's code twice, each run profiled."""
    os.environ.setdefault("PERFCORE_TODAY", TODAY)
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    cells = notebook_cells(job)
    before = set(sys.modules)
    out: dict[str, Any] = {}
    for run in ("cold", "warm"):
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        run_cells(shell, cells)
        profile.disable()
        total = time.perf_counter() - started
        stats = pstats.Stats(profile)
        out[run] = {
            "total_s": total,
            "reporting_data_s": category_seconds(stats, in_file("perfcore/reporting/data.py")),
            "analytics_s": category_seconds(stats, in_file("perfcore/analytics/")),
            "chart_specs_s": category_seconds(stats, chart_builders),
            "vl_convert_s": category_seconds(stats, named("vegalite_to_svg")),
            "charts": sum(v[1] for f, v in stats.stats.items() if "vegalite_to_svg" in f[2]),  # type: ignore[attr-defined]
        }
    # the same code once more, unprofiled: cProfile's overhead inflates Python-heavy parts
    out["warm_unprofiled_s"], _ = timed(lambda: run_cells(shell, cells))
    out["modules"] = [name for name in sys.modules if name not in before]  # in the order they were imported
    return out


def time_imports(modules: list[str]) -> float:
    """In a fresh process: importing every module the notebook's run imported, in the same order."""
    import importlib

    started = time.perf_counter()
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    return time.perf_counter() - started


def run_cells(shell, cells: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        for source in cells:
            result = shell.run_cell(source, store_history=False)
            if not result.success:
                raise SystemExit(f"cell failed in-process: {result.error_in_exec or result.error_before_exec}")


# -- main ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "data" / "warehouse.duckdb")
    parser.add_argument("--parameters", type=Path, default=ROOT / "parameters")
    parser.add_argument("--council", default=None, help="GSS code (default: the first member)")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    os.environ.setdefault("PERFCORE_TODAY", TODAY)
    sys.path.insert(0, str(ROOT / "src"))
    numbers: dict[str, Any] = {"load_average_at_start": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}

    with tempfile.TemporaryDirectory(prefix="profile-page-") as temporary:
        folder = Path(temporary)
        job, config = council_job(args.warehouse, args.parameters, args.council, folder)
        numbers["page"] = job.label
        from perfcore.build.runner import execute
        from perfcore.render import page_paths, render_page

        # 1. as a worker does it
        numbers["papermill_execute_s"], error = timed(lambda: execute(job, ROOT))
        if error:
            raise SystemExit(f"papermill failed: {error}")
        # the worker's next page: the same kernel, kept warm (build.kernels)
        numbers["papermill_execute_warm_s"], error = timed(lambda: execute(job, ROOT))
        if error:
            raise SystemExit(f"papermill failed in the warm kernel: {error}")
        out_html, out_pdf = page_paths(folder / "site", job.context)
        numbers["render_html_pdf_s"], _ = timed(
            lambda: render_page(job.executed, out_html=out_html, out_pdf=out_pdf, context=job.context, config=config)
        )
        numbers["render_html_only_s"], _ = timed(
            lambda: render_page(job.executed, out_html=out_html, out_pdf=None, context=job.context, config=config)
        )

        # 2. a kernel alone: papermill on a notebook with one empty cell (start, shutdown, papermill's own work)
        import nbformat
        import papermill

        empty = folder / "empty.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")]), empty)
        numbers["empty_notebook_s"], _ = timed(
            lambda: papermill.execute_notebook(
                str(empty), str(folder / "empty-out.ipynb"), kernel_name="python3", progress_bar=False
            )
        )

        # per cell, in the real kernel (papermill records each cell's wall time)
        executed = nbformat.read(job.executed, as_version=4)
        numbers["kernel_cells_s"] = sum(
            (c.metadata.get("papermill", {}).get("duration") or 0.0) for c in executed.cells if c.cell_type == "code"
        )

        # 3. the notebook's code in a fresh process: cold, then warm, each under cProfile
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:
            numbers["in_process"] = pool.apply(profile_notebook, (job,))
        with context.Pool(1) as pool:
            numbers["imports_s"] = pool.apply(time_imports, (numbers["in_process"].pop("modules"),))

        # 4. render under cProfile
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        render_page(job.executed, out_html=out_html, out_pdf=out_pdf, context=job.context, config=config)
        profile.disable()
        numbers["render_profiled_s"] = time.perf_counter() - started
        stats = pstats.Stats(profile)
        numbers["render"] = {
            "pandoc_s": category_seconds(stats, pandoc_runs),
            "pandoc_runs": sum(v[1] for f, v in stats.stats.items() if pandoc_runs(f)),  # type: ignore[attr-defined]
            "typst_s": category_seconds(stats, function("perfcore/render/pdf.py", "compile_pdf")),
        }
    numbers["load_average_at_end"] = round(os.getloadavg()[0], 2)
    table = markdown(numbers)
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    print(json.dumps(numbers, indent=1), file=sys.stderr)
    return 0


def markdown(n: dict[str, Any]) -> str:
    r, runs = n["render"], n["in_process"]
    page = n["papermill_execute_s"] + n["render_html_pdf_s"]
    overhead = n["papermill_execute_s"] - n["kernel_cells_s"]
    rows: list[tuple[str, float | None, float | None, str]] = [
        (
            "**whole page as a build worker makes it** (papermill + HTML + PDF)",
            page,
            n["papermill_execute_warm_s"] + n["render_html_pdf_s"],
            "cold: the worker's first page; warm: its next ones",
        ),
        (
            "papermill execute: whole notebook",
            n["papermill_execute_s"],
            n["papermill_execute_warm_s"],
            "cold starts the worker's kernel; warm reuses it (namespace reset)",
        ),
        ("· the notebook's cells in the kernel (papermill's per-cell times)", n["kernel_cells_s"], None, ""),
        ("· everything else: kernel start and shutdown, papermill, nbformat", overhead, None, ""),
        (
            "· · papermill on a one-empty-cell notebook",
            n["empty_notebook_s"],
            None,
            "kernel start + shutdown + papermill, measured alone",
        ),
        ("render HTML + PDF (`render_page`)", n["render_html_pdf_s"], None, ""),
        ("· HTML only", n["render_html_only_s"], None, "the PDF costs the difference"),
        (
            "· pandoc (subprocesses, profiled)",
            r["pandoc_s"],
            None,
            f"pandoc runs: {r['pandoc_runs']} (HTML and Typst written by one)",
        ),
        ("· Typst compile, PDF/A (profiled)", r["typst_s"], None, ""),
        ("**the notebook's code in-process, profiled** (cold = first run in a fresh process)", None, None, ""),
        ("· total under cProfile", runs["cold"]["total_s"], runs["warm"]["total_s"], ""),
        ("· total without the profiler", None, runs["warm_unprofiled_s"], "cProfile inflates Python-heavy parts"),
        (
            "· imports (every module the run imported, timed alone in a fresh process)",
            n["imports_s"],
            0.0,
            "pandas, statsmodels, scipy, ...; unprofiled",
        ),
        (
            "· warehouse reads: `report.load` + other `reporting.data` queries",
            runs["cold"]["reporting_data_s"],
            runs["warm"]["reporting_data_s"],
            "DuckDB + indicator table in pandas; cold includes its lazy imports",
        ),
        ("· analytics (`perfcore.analytics`)", runs["cold"]["analytics_s"], runs["warm"]["analytics_s"], ""),
        (
            "· chart specs: the `reporting.charts` builders (their pandas work and the Vega-Lite dicts)",
            runs["cold"]["chart_specs_s"],
            runs["warm"]["chart_specs_s"],
            "drawing them is vl-convert's row",
        ),
        (
            "· chart rendering: vl-convert `vegalite_to_svg`",
            runs["cold"]["vl_convert_s"],
            runs["warm"]["vl_convert_s"],
            f"{runs['warm']['charts']} charts; cold pays the JS runtime start",
        ),
    ]
    lines = [
        f"Page: `{n['page']}`; {n['cpus']} CPUs; load average {n['load_average_at_start']} at start, "
        f"{n['load_average_at_end']} at end (above ~1 means other work shared the machine).",
        "",
        "| part | seconds (cold) | seconds (warm) | note |",
        "|---|---:|---:|---|",
    ]
    for label, cold, warm, note in rows:
        cells = ["" if x is None else f"{x:.2f}" for x in (cold, warm)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
