"""Ingestion speed and memory against a bare lxml iterparse of the same file.

Not a test: run it by hand (``python bench/bench_ingest.py [--records N] [--repeat R]``).
It writes one large, valid HBPE extract, then in the same run measures

* bare:     lxml ``iterparse`` over the file, clearing each element (no schema,
            no database): the floor any streaming reader pays;
* xsd:      the same loop with perfcore's XSD and hardened parser options,
            reading nothing: the floor any *validating* streaming reader pays
            (lxml holds the GIL while it parses and validates, so no second
            thread can take this work off the parsing thread);
* extract:  ``perfcore.intake.extract.read_extract`` with a sink that only counts:
            the careful reader, one validating parse that also gathers every
            record's line and attributes into batches (no database); ingest
            uses it for a file the fast reader leaves to it (any invalid file);
* fast:     ``perfcore.intake.extract.read_extract_fast`` with a sink that only
            counts: expat gathers the batches while libxml2 validates the same
            file against the XSD on a second thread (lxml releases the GIL);
* perfcore: ``ingest_file`` into a fresh DuckDB warehouse: keep the file,
            hash it, read it the fast way (the careful way if in doubt), insert
            each batch on a third thread, check every record-level rule in SQL,
            commit one transaction. Imports count, as they do for the CLI.

Each measurement runs in its own child process (so peak memory, ru_maxrss,
is that job's alone), the jobs interleaved so drift in a shared machine hits
all alike; the report gives medians over ``--repeat`` runs: records per
second, the ratio to bare (goal: perfcore at least half the bare rate), peak
memory, and the CPU seconds (user + system, every thread) each job used.

Read the wall-clock ratios with the machine's load in mind: Linux shares the
CPU between sessions (autogroup scheduling), so while another session keeps a
core busy this one gets about one core, whatever its threads could use. Then
the wall ratios follow the CPU ratios; on a quiet machine the perfcore job
also has the second core for its validating and inserting threads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def write_extract(path: Path, records: int) -> int:
    """An extract of roughly ``records`` records: 40% claims, 50% changes, 10% work on hand."""
    from perfcore.intake import hbpe

    start = date(2026, 10, 1)
    claims, changes = int(records * 0.4), int(records * 0.5)
    items = records - claims - changes

    def claim(i: int) -> tuple[str | None, ...]:
        decided = start + timedelta(days=i % 31)
        return f"NC{i:08d}", str(decided - timedelta(days=5 + i % 40)), None, str(decided), "awarded", "social"

    def change(i: int) -> tuple[str | None, ...]:
        actioned = start + timedelta(days=i % 31)
        notified = actioned - timedelta(days=i % 9)
        return f"CE{i:08d}", f"HB{i % 20000:06d}", "income", str(notified), None, str(actioned)

    sections = {
        "Claim": map(claim, range(claims)),
        "Change": map(change, range(changes)),
        "Item": ((f"WI{i:08d}", "change", str(start + timedelta(days=i % 31))) for i in range(items)),
    }
    header = hbpe.Header(
        "S12000042",
        "Dundee City Council",
        "2026-10",
        "Northgate",
        "iWorld",
        None,
        "2026-11-01T02:00:00Z",
        1,
        caseload=30000,
        expenditure="12000000.00",
    )
    with path.open("w", encoding="utf-8") as out:
        hbpe.write_extract(out, header, sections)
    return records


def _count_records(context) -> int:
    """Walk an iterparse, count record elements and free each element as it ends."""
    count = 0
    for _event, element in context:
        if element.tag.endswith(("}Claim", "}Change", "}Item")):
            count += 1
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count


def bare_parse(path: str) -> int:
    from lxml import etree

    return _count_records(etree.iterparse(path, events=("end",)))


def xsd_parse(path: str) -> int:
    """The bare loop with perfcore's parser settings and the XSD: what validation alone costs."""
    from lxml import etree

    from perfcore.intake.extract import schema

    return _count_records(
        etree.iterparse(
            path,
            events=("end",),
            schema=schema(),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
        )
    )


def extract_only(path: str) -> int:
    from perfcore.intake.extract import read_extract

    count = 0

    def sink(batch) -> None:
        nonlocal count
        count += len(batch)

    read_extract(Path(path), sink, lambda header: None)
    return count


def fast_only(path: str) -> int:
    from perfcore.intake.extract import read_extract_fast

    count = 0

    def sink(batch) -> None:
        nonlocal count
        count += len(batch)

    read_extract_fast(Path(path), sink, lambda header: None)
    return count


def perfcore_ingest(path: str) -> int:
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.intake.ingest import ingest_file

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        con = warehouse.connect(Path(folder) / "bench.duckdb")
        result = ingest_file(Path(path), con, load_consortium(root / "parameters"), today=date(2026, 11, 26))
        assert result.outcome == "accepted", result.reason
        return result.records_loaded


def _measure(job: str, path: str, queue) -> None:
    function = JOBS[job]
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    records = function(path)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak_mib = after.ru_maxrss / 1024
    queue.put({"job": job, "records": records, "seconds": elapsed, "cpu_seconds": cpu, "peak_mib": peak_mib})


JOBS = {"bare": bare_parse, "xsd": xsd_parse, "extract": extract_only, "fast": fast_only, "perfcore": perfcore_ingest}


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
        runs: dict[str, list[dict]] = {job: [] for job in JOBS}
        for _ in range(args.repeat):  # interleaved, so drift in the machine hits every job alike
            for job in runs:
                runs[job].append(measure(job, path))
    seconds = {job: statistics.median(r["seconds"] for r in results) for job, results in runs.items()}
    cpu = {job: statistics.median(r["cpu_seconds"] for r in results) for job, results in runs.items()}
    peak = {job: statistics.median(r["peak_mib"] for r in results) for job, results in runs.items()}
    rate = {job: runs[job][0]["records"] / seconds[job] for job in runs}
    report = {
        "file_mib": round(size_mib, 1),
        "records": args.records,
        "repeat": args.repeat,
        "bare_records_per_s": round(rate["bare"]),
        "xsd_records_per_s": round(rate["xsd"]),
        "extract_records_per_s": round(rate["extract"]),
        "fast_records_per_s": round(rate["fast"]),
        "perfcore_records_per_s": round(rate["perfcore"]),
        "ratio_xsd_to_bare": round(rate["xsd"] / rate["bare"], 3),
        "ratio_extract_to_bare": round(rate["extract"] / rate["bare"], 3),
        "ratio_fast_to_bare": round(rate["fast"] / rate["bare"], 3),
        "ratio_perfcore_to_bare": round(rate["perfcore"] / rate["bare"], 3),
        "goal_ratio": 0.5,
        "cpu_ratio_perfcore_to_bare": round(cpu["bare"] / cpu["perfcore"], 3),
        "bare_peak_mib": round(peak["bare"]),
        "xsd_peak_mib": round(peak["xsd"]),
        "extract_peak_mib": round(peak["extract"]),
        "fast_peak_mib": round(peak["fast"]),
        "perfcore_peak_mib": round(peak["perfcore"]),
        "seconds": {job: [round(r["seconds"], 3) for r in results] for job, results in runs.items()},
        "cpu_seconds": {job: [round(r["cpu_seconds"], 3) for r in results] for job, results in runs.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
