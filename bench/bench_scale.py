"""All of Great Britain: every indicator for 400 councils × 24 months, and a month's site for 400 councils.

Not a test: run it by hand (``python bench/bench_scale.py [--councils 400] [--months 24] [--keep DIR]``).
In one run it

* makes a warehouse of N councils (the ten members, real English and Welsh councils, then invented
  ones), unless ``--keep DIR`` already holds that warehouse. By default (``--copy``) the ten members'
  demo data is written and ingested for real, and each further council gets a copy, made in SQL, of one
  member's submissions and records under its own code: council k beyond the members copies member
  k mod 10. Writing and ingesting 400 councils' own generated files instead (``--no-copy``) is 9,600
  files and ~4 GB of XML: most of an hour on two cores, for the same shape of data;
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
from bench_build import ROOT, TODAY, Warehouse, build_report, log, prepare


def prepare_by_copy(folder: Path, councils: int, months: int) -> Warehouse:
    """The members ingested for real, then every further council a copy of one member's data (see above)."""
    import duckdb

    from perfcore.config.parameters import load_consortium
    from perfcore.demo import DemoSummary, write_consortium_yaml
    from perfcore.demo.plan import make_plan

    consortium = load_consortium(ROOT / "parameters")
    members = prepare(folder / "members", len(consortium.members), months)
    started = time.perf_counter()
    plan = make_plan(folder, consortium, 2026, councils, months, None, TODAY, ROOT / "parameters" / "initiatives.yaml")
    summary = DemoSummary(folder, 2026, consortium, plan.councils, plan.extra_councils, (), (), (), (), {})
    parameters = write_consortium_yaml(summary, folder / "parameters", copy_from=ROOT / "parameters").parent
    database = folder / "warehouse.duckdb"
    shutil.copyfile(members.database, database)
    con = duckdb.connect(str(database))
    try:
        copy_councils(con, [c.code for c in consortium.members], [c.code for c in plan.extra_councils])
        files = con.execute("select count(*) from submissions").fetchone()[0]
    finally:
        con.close()
    return Warehouse(
        councils, database, parameters, files, members.generate_s, members.ingest_s + time.perf_counter() - started
    )


# Tables whose rows belong to a submission, and which of them also name the council.
_RECORDS = (
    "claims",
    "changes",
    "work_items",
    "overpayments",
    "recoveries",
    "write_offs",
    "extract_headers",
    "current_extracts",
    "rejections",
)
_OWN_ROWS = ("manual_values", "commentary_rows")  # a return can carry several councils' rows: copied by their council


def copy_councils(con, members: list[str], extras: list[str]) -> None:
    """Council ``extras[k]`` gets member ``members[k mod n]``'s submissions and rows, ids moved past the last."""
    last = con.execute("select max(id) from submissions").fetchone()[0]
    con.execute("create temp table copies (source varchar, target varchar, shift integer)")
    con.executemany(
        "insert into copies values (?, ?, ?)",
        [(members[k % len(members)], code, (k + 1) * (last + 1)) for k, code in enumerate(extras)],
    )
    columns = {
        table: {
            row[0]
            for row in con.execute(
                f"select column_name from information_schema.columns where table_name = '{table}'"
            ).fetchall()
        }
        for table in ("submissions", *_RECORDS, *_OWN_ROWS)
    }
    con.execute("begin")
    # a copy's digest must stay unique and still look like one (DWP's return validates it as 64 hex digits)
    con.execute(
        "insert into submissions select s.* replace (s.id + c.shift as id, c.target as authority, "
        "sha256(s.sha256 || '-' || c.target) as sha256) from submissions s join copies c on s.authority = c.source "
        "or s.id in (select submission_id from manual_values where authority = c.source "
        "union select submission_id from commentary_rows where authority = c.source)"
    )
    for table in _RECORDS:
        named = ", c.target as authority" if "authority" in columns[table] else ""
        con.execute(
            f"insert into {table} select t.* replace (t.submission_id + c.shift as submission_id{named}) "
            f"from {table} t join submissions s on s.id = t.submission_id join copies c on s.authority = c.source"
        )
    for table in _OWN_ROWS:
        con.execute(
            f"insert into {table} select t.* replace (t.submission_id + c.shift as submission_id, "
            f"c.target as authority) from {table} t join copies c on t.authority = c.source"
        )
    con.execute("commit")


def warehouse_for(folder: Path, councils: int, months: int, *, copy: bool = True) -> Warehouse:
    """The prepared warehouse in ``folder`` if a finished one is there, else a new one."""
    done = folder / "prepared.json"
    if done.exists():
        kept = json.loads(done.read_text(encoding="utf-8"))
        if kept["councils"] == councils and kept["months"] == months:
            log(f"reusing the warehouse in {folder}")
            return Warehouse(councils, Path(kept["database"]), Path(kept["parameters"]), kept["files"], 0.0, 0.0)
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{councils} councils: writing and ingesting {months} months of demo data ({'copied' if copy else 'each own'})")
    data = prepare_by_copy(folder, councils, months) if copy else prepare(folder, councils, months)
    for input_folder in (folder / "input", folder / "members" / "input"):
        shutil.rmtree(input_folder, ignore_errors=True)  # ingest kept its own copy of every file
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
        "--copy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="councils beyond the members copy a member's data in SQL (default); --no-copy ingests each its own",
    )
    parser.add_argument(
        "--keep", type=Path, default=None, metavar="DIR", help="keep (and reuse) the warehouse here; default: temporary"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PERFCORE_TODAY", TODAY.isoformat())
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temporary:
        work = args.keep or Path(temporary)
        report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_at_start": round(os.getloadavg()[0], 1)}
        data = warehouse_for(work / f"councils-{args.councils}", args.councils, args.months, copy=args.copy)
        report["data"] = "members ingested, the others copied in SQL" if args.copy else "every council ingested"
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
