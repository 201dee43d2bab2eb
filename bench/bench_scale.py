"""All of Great Britain: every indicator for 400 councils × 24 months, and a month's site for 400 councils.

Not a test: run it by hand (``python bench/bench_scale.py [--councils 400] [--months 24] [--keep DIR]``).
In one run it

* writes the demo data for N councils (the ten members, real English and Welsh councils, then invented
  ones) and ingests it into a fresh warehouse, unless ``--keep DIR`` already holds that warehouse
  (writing and ingesting 400 councils' 24 months takes several minutes and ~4 GB of XML);
* times the indicator table of every council and month from the warehouse (``indicators.compute``:
  the SQL components, then every indicator), beside the plain alternative of only reading the same
  components out of DuckDB (``components.monthly_components``), the floor any indicator code stands on;
* builds the latest month's site for the N councils cold on the machine's cores (every page: N council
  reports and the consortium's pages), sampling the resident memory of the whole process tree (the build,
  its workers and their kernels) every 0.2 s for the peak;
* builds it again with nothing changed (every page frozen).

It prints one JSON report on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bench_build
from bench_build import TODAY, Warehouse, build_report, log, prepare


def warehouse_for(folder: Path, councils: int, months: int) -> Warehouse:
    """The prepared warehouse in ``folder`` if a finished one is there, else a new one."""
    done = folder / "prepared.json"
    if done.exists():
        kept = json.loads(done.read_text(encoding="utf-8"))
        if kept["councils"] == councils and kept["months"] == months:
            log(f"reusing the warehouse in {folder}")
            return Warehouse(councils, Path(kept["database"]), Path(kept["parameters"]), kept["files"], 0.0, 0.0)
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{councils} councils: writing and ingesting {months} months of demo data (several minutes)")
    data = prepare(folder, councils, months)
    shutil.rmtree(folder / "input", ignore_errors=True)  # ingest kept its own copy of every file
    done.write_text(
        json.dumps(
            {
                "councils": councils,
                "months": months,
                "database": str(data.database),
                "parameters": str(data.parameters),
                "files": data.files,
            }
        ),
        encoding="utf-8",
    )
    return data


def time_indicators(data: Warehouse, repeat: int) -> dict[str, Any]:
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium, load_framework
    from perfcore.warehouse import components, indicators

    consortium = load_consortium(data.parameters)
    framework = load_framework(data.parameters / "framework.yaml")
    con = warehouse.connect(data.database, read_only=True)
    try:
        plain, ours, rows = [], [], 0
        for _ in range(repeat):  # interleaved, so drift in the machine hits both alike
            started = time.perf_counter()
            components.monthly_components(con)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            table = indicators.compute(con, framework, consortium.codes)
            ours.append(time.perf_counter() - started)
            rows = len(table)
    finally:
        con.close()
    return {
        "councils": len(consortium.members),
        "rows": rows,
        "components_only_s": round(min(plain), 2),
        "indicators_s": round(min(ours), 2),
        "ratio_to_components_only": round(min(ours) / min(plain), 2),
    }


class PeakMemory:
    """The largest sum of resident memory over this process and all its descendants, sampled."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil  # installed with ipykernel, which every build needs

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # ended between listing and reading
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)


def time_month(data: Warehouse, folder: Path, workers: int | None) -> dict[str, Any]:
    shutil.rmtree(folder / "site", ignore_errors=True)
    shutil.rmtree(folder / "reports", ignore_errors=True)
    log(f"{data.councils} councils: a month's site, cold")
    with PeakMemory() as memory:
        cold = bench_build.time_build(data, folder, workers)
    log(f"{data.councils} councils: the same month again, nothing changed")
    warm = bench_build.time_build(data, folder, workers)
    return {
        "period": cold.period,
        "cold_build": build_report(cold),
        "peak_memory_gib": round(memory.peak / 2**30, 2),
        "warm_build": build_report(warm),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=400)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the indicator timing")
    parser.add_argument("--workers", type=int, default=None, help="build workers (default: the machine's cores)")
    parser.add_argument("--no-site", action="store_true", help="time the indicators only")
    parser.add_argument(
        "--keep", type=Path, default=None, metavar="DIR", help="keep (and reuse) the warehouse here; default: temporary"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PERFCORE_TODAY", TODAY.isoformat())
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temporary:
        work = args.keep or Path(temporary)
        report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_at_start": round(os.getloadavg()[0], 1)}
        data = warehouse_for(work / f"councils-{args.councils}", args.councils, args.months)
        report["files_ingested"] = data.files
        report["ingest_s"] = round(data.ingest_s, 1) if data.ingest_s else "reused"
        log("all indicators from the warehouse")
        report["indicators"] = time_indicators(data, args.repeat)
        if not args.no_site:
            report["month"] = time_month(data, work / f"site-{args.councils}", args.workers)
        report["load_average_at_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
