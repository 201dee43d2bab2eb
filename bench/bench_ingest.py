"""Ingestion speed and memory against a bare lxml iterparse of the same file.

Not a test: run it by hand (``python bench/bench_ingest.py [--records N]``).
It writes one large, valid HBPE extract, then in the same run measures

* bare:   lxml ``iterparse`` over the file, clearing each element (no schema,
          no database): the floor any streaming reader pays;
* perfcore: ``ingest_file`` into a fresh DuckDB warehouse: keep the file,
          hash it, validate against the XSD while streaming, load in one
          transaction, check every record-level rule in SQL.

and reports records per second for both, their ratio (goal: perfcore at least
half the bare rate) and peak memory of each, measured in a child process so
one does not inflate the other.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def write_extract(path: Path, records: int) -> int:
    """An extract of roughly ``records`` records: 40% claims, 50% changes, 10% work on hand."""
    start = date(2026, 10, 1)
    claims, changes = int(records * 0.4), int(records * 0.5)
    items = records - claims - changes
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<Extract xmlns="urn:perfcore:hbpe:1" version="1.0">\n'
                  '<Header><Authority code="S12000042">Dundee City Council</Authority><Period>2026-10</Period>'
                  '<Source supplier="Northgate" system="iWorld"/><Created>2026-11-01T02:00:00Z</Created>'
                  '<Sequence>1</Sequence></Header>\n<NewClaims>\n')
        for i in range(claims):
            decided = start + timedelta(days=i % 31)
            received = decided - timedelta(days=5 + i % 40)
            out.write(f'<Claim ref="NC{i:08d}" received="{received}" decided="{decided}" outcome="awarded" tenure="social"/>\n')
        out.write("</NewClaims>\n<ChangeEvents>\n")
        for i in range(changes):
            actioned = start + timedelta(days=i % 31)
            notified = actioned - timedelta(days=i % 9)
            out.write(f'<Change ref="CE{i:08d}" claim="HB{i % 20000:06d}" type="income" notified="{notified}" actioned="{actioned}"/>\n')
        out.write("</ChangeEvents>\n<WorkOnHand>\n")
        for i in range(items):
            out.write(f'<Item ref="WI{i:08d}" kind="change" received="{start + timedelta(days=i % 31)}"/>\n')
        out.write('</WorkOnHand>\n<Caseload claims="30000"/>\n<Expenditure amount="12000000.00"/>\n</Extract>\n')
    return records


def bare_parse(path: str) -> int:
    from lxml import etree

    count = 0
    for _event, element in etree.iterparse(path, events=("end",)):
        if element.tag.endswith(("}Claim", "}Change", "}Item")):
            count += 1
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count


def perfcore_ingest(path: str) -> int:
    from perfcore import warehouse
    from perfcore.ingest import ingest_file
    from perfcore.parameters import load_consortium

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        con = warehouse.connect(Path(folder) / "bench.duckdb")
        result = ingest_file(Path(path), con, load_consortium(root / "parameters"), today=date(2026, 11, 26))
        assert result.outcome == "accepted", result.reason
        return result.records_loaded


def _measure(job: str, path: str, queue) -> None:
    function = {"bare": bare_parse, "perfcore": perfcore_ingest}[job]
    started = time.perf_counter()
    records = function(path)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"job": job, "records": records, "seconds": elapsed, "peak_mib": peak_mib})


def measure(job: str, path: Path) -> dict:
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_measure, args=(job, str(path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.xml"
        write_extract(path, args.records)
        size_mib = path.stat().st_size / 2**20
        runs = {"bare": [], "perfcore": []}
        for _ in range(args.repeat):  # interleaved, so drift in the machine hits both alike
            for job in runs:
                runs[job].append(measure(job, path))
    best = {job: min(results, key=lambda r: r["seconds"]) for job, results in runs.items()}
    rate = {job: r["records"] / r["seconds"] for job, r in best.items()}
    report = {
        "file_mib": round(size_mib, 1),
        "records": args.records,
        "bare_records_per_s": round(rate["bare"]),
        "perfcore_records_per_s": round(rate["perfcore"]),
        "ratio_perfcore_to_bare": round(rate["perfcore"] / rate["bare"], 3),
        "goal_ratio": 0.5,
        "bare_peak_mib": round(best["bare"]["peak_mib"]),
        "perfcore_peak_mib": round(best["perfcore"]["peak_mib"]),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
