"""Memory flat in file size: ``read_extract`` holds one batch and one record element at a time.

No timing here: peak memory is read in a fresh child process (ru_maxrss), and
a file ten times larger must not raise it by more than a few MiB. Keeping the
parsed tree or the batches would add well over 100 MiB for the larger file.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from perfcore.intake import extract, hbpe

PROBE = """
import resource, sys
from pathlib import Path
from perfcore.intake import extract
records = 0
def sink(batch):
    global records
    records += len(batch)
extract.read_extract(Path(sys.argv[1]), sink, lambda header: None)
print(records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def write_extract(path: Path, records: int) -> Path:
    """A valid extract of ``records`` records: claims, changes and work on hand, streamed by ``hbpe.write_extract``."""
    start = date(2026, 10, 1)
    claims, changes = records * 4 // 10, records // 2

    def day(i: int) -> date:
        return start + timedelta(days=i % 31)

    sections = {
        "Claim": (
            (f"NC{i:08d}", str(day(i) - timedelta(days=5)), None, str(day(i)), "awarded", None) for i in range(claims)
        ),
        "Change": (
            (f"CE{i:08d}", f"HB{i % 999:06d}", "income", str(day(i)), None, str(day(i))) for i in range(changes)
        ),
        "Item": ((f"WI{i:08d}", "change", str(start)) for i in range(records - claims - changes)),
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
        expenditure="1.00",
    )
    with path.open("w", encoding="utf-8") as out:
        hbpe.write_extract(out, header, sections)
    return path


def peak_mib(path: Path) -> tuple[int, int]:
    """(records read, peak RSS in MiB) of a child process streaming ``path`` to a sink that keeps nothing."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
    records, peak = done.stdout.split()
    return int(records), int(peak)


def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    small = peak_mib(write_extract(tmp_path / "small.xml", 20_000))
    large = peak_mib(write_extract(tmp_path / "large.xml", 200_000))
    assert (small[0], large[0]) == (20_000, 200_000)
    assert large[1] - small[1] < 16, f"peak RSS {small[1]} MiB for 20k records, {large[1]} MiB for 200k"


def test_batches_are_bounded_complete_and_in_file_order(tmp_path):
    path = write_extract(tmp_path / "extract.xml", 25_000)
    seen: list[tuple[str, int, list[int], int]] = []
    first_claim: list[list[str | None]] = []

    def sink(batch: extract.Batch) -> None:  # keeps figures, never the batch
        seen.append((batch.section.element, len(batch), batch.lines[:], len(batch.values)))
        if not first_claim and batch.section.element == "Claim":
            first_claim.append([column[0] for column in batch.columns()])

    extract.read_extract(path, sink, lambda header: None, batch_rows=1_000)
    assert all(0 < rows <= 1_000 for _, rows, _, _ in seen)
    assert sum(rows for _, rows, _, _ in seen) == 25_000
    widths = {s.element: len(s.names) for s in extract.SECTIONS}
    assert all(values == rows * widths[element] for element, rows, _, values in seen)
    lines = [line for _, _, batch_lines, _ in seen for line in batch_lines]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    assert [element for element, *_ in seen][0] == "Claim" and [element for element, *_ in seen][-1] == "Item"
    assert first_claim == [["NC00000000", "2026-09-26", None, "2026-10-01", "awarded", None]]
