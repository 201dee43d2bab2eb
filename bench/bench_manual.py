"""Manual-return checks: time against a plain parse of the same CSV, as rows grow.

Not a test: run it by hand (``python bench/bench_manual.py [--rows 5000 10000 20000] [--repeat R]``).
For each size it writes returns whose every row breaks the part ≤ whole rule
against a value already held, in two shapes:

* month:  every row is ``calls_answered`` for one council and month
          (the worst case for a row-by-row recheck);
* spread: rows spread over every member and month since 2000.

and measures, in the same run,

* csv:      ``csv.reader`` over the file, keeping the rows (the floor any
            reader pays);
* perfcore: ``ingest_file`` into a warehouse already holding the wholes
            (copied fresh for each run): keep the file, check every row,
            load, judge part ≤ whole in SQL, record every rejection, commit.

It prints medians over ``--repeat`` runs and the ratio perfcore / csv. Linear
checks keep the ratio flat (or falling, as fixed costs spread) as rows grow;
the row-by-row recheck it replaced took 3.5, 8.8 and 24.8 s for 5k, 10k and 20k.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 26)


def months() -> list[str]:
    return [f"{year}-{month:02d}" for year in range(2000, 2026) for month in range(1, 13)]


def write_returns(folder: Path, rows: int, shape: str, codes: list[str]) -> tuple[Path, Path]:
    """(wholes held first, the return to time): every row of the second breaks the rule."""
    if shape == "month":
        groups = [(codes[0], "2026-10")]
    else:
        groups = [(code, period) for code in codes for period in months()]
    held = folder / f"held-{shape}-{rows}.csv"
    held.write_text(
        "authority,period,measure,value\n"
        + "".join(f"{code},{period},calls_offered,100\n" for code, period in groups[:rows])
    )
    timed = folder / f"return-{shape}-{rows}.csv"
    timed.write_text(
        "authority,period,measure,value\n"
        + "".join(
            f"{code},{period},calls_answered,{150 + i % 7}\n"
            for i, (code, period) in zip(range(rows), (groups[i % len(groups)] for i in range(rows)))
        )
    )
    return held, timed


def time_csv(path: Path) -> float:
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    elapsed = time.perf_counter() - start
    assert len(rows) > 1
    return elapsed


def prepare_warehouse(folder: Path, held: Path, consortium) -> Path:
    from perfcore import warehouse
    from perfcore.intake.ingest import ingest_file

    database = folder / "held" / "warehouse.duckdb"
    con = warehouse.connect(database)
    try:
        assert ingest_file(held, con, consortium, today=TODAY).records_rejected == 0
    finally:
        con.close()
    return database


def time_perfcore(template: Path, path: Path, rows: int, consortium, run: int) -> float:
    from perfcore import warehouse
    from perfcore.intake.ingest import ingest_file

    copy = template.parent.parent / f"run{run}" / "warehouse.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, copy)
    con = warehouse.connect(copy)
    try:
        start = time.perf_counter()
        result = ingest_file(path, con, consortium, today=TODAY)
        elapsed = time.perf_counter() - start
    finally:
        con.close()
    assert (result.records_loaded, result.records_rejected) == (0, rows), result
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 10_000, 20_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from perfcore.config.parameters import load_consortium

    consortium = load_consortium(ROOT / "parameters")
    codes = list(consortium.codes)
    print(f"{'shape':7} {'rows':>7} {'csv s':>9} {'perfcore s':>11} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            for shape in ("month", "spread"):
                folder = Path(tmp) / f"{shape}-{rows}"
                folder.mkdir()
                held, timed = write_returns(folder, rows, shape, codes)
                template = prepare_warehouse(folder, held, consortium)
                bare, ours = [], []
                for run in range(args.repeat):  # interleaved, so drift on a shared machine hits both
                    bare.append(time_csv(timed))
                    ours.append(time_perfcore(template, timed, rows, consortium, run))
                csv_s, perfcore_s = statistics.median(bare), statistics.median(ours)
                print(f"{shape:7} {rows:>7,} {csv_s:>9.4f} {perfcore_s:>11.3f} {perfcore_s / csv_s:>7.0f}")


if __name__ == "__main__":
    main()
