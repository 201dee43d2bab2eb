"""A small, real warehouse for the reporting layer's tests: the ten members, two months, known figures.

Every member sends an extract for September and October 2026. In October
council ``i`` (consortium order) decides its four new claims in
``NEW_CLAIMS_DAYS[i]`` days, so the ranks are known: two councils tie for
1st, and with ten ranked, ranks 3 and 8 fall in quartiles 2 and 4. The last
member sends no changes in October, so it is unranked on change times.
One record is rejected (decided before received) so the data-quality tables
have a row. Building it takes about a second, so a test session builds it once
(``conftest.reporting_warehouse``): tests read that one, and a test that changes
the data works on a ``copy``.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from builders import Harness, change, claim, extract_xml, item, manual_csv, overpayment

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
PREVIOUS = "2026-09"
TODAY = "2026-11-26"
# October's days to decide a new claim, per member in consortium.yaml order: a tie for 1st.
NEW_CLAIMS_DAYS = (12, 12, 14, 15, 17, 18, 19, 21, 24, 26)
SEPTEMBER_DAYS = 16  # every member, so each October figure moved from 16.0 days


def _day(period: str, n: int) -> str:
    return (date.fromisoformat(f"{period}-01") + timedelta(days=n - 1)).isoformat()


def council_extract(
    code: str,
    period: str,
    days: int,
    *,
    changes: bool = True,
    sequence: int = 1,
    extra_items: int = 0,
    bad_record: bool = False,
) -> str:
    """Four new claims taking ``days`` days (inclusive), a change, work on hand in three age bands, an overpayment."""
    records = [claim(f"NC{k}", _day(period, 1 + k), _day(period, days + k)) for k in range(4)]
    if changes:
        records.append(change("CH1", _day(period, 2), _day(period, 5)))
    month_end = date.fromisoformat(_day(period, 28)).replace(day=1) + timedelta(days=31)
    month_end = month_end.replace(day=1) - timedelta(days=1)
    ages = [5, 20, 45, *(70 + n for n in range(extra_items))]  # days waiting at month end
    records += [
        item(f"W{n}", (month_end - timedelta(days=age)).isoformat(), kind="new-claim" if n % 2 == 0 else "change")
        for n, age in enumerate(ages)
    ]
    records.append(overpayment("OP1", _day(period, 10), "2000.00"))
    if bad_record:
        records.append(claim("BAD1", _day(period, 20), _day(period, 3)))  # decided before received
    return extract_xml(code, period, records, sequence=sequence, expenditure="400000.00")


def build(folder: Path) -> Path:
    """The warehouse file, with every member's September and October extracts and one manual return."""
    h = Harness(folder, today=TODAY)
    codes = h.consortium.codes
    for code in codes:
        h.ingest(council_extract(code, PREVIOUS, SEPTEMBER_DAYS))
    for n, (code, days) in enumerate(zip(codes, NEW_CLAIMS_DAYS)):
        h.ingest(council_extract(code, PERIOD, days, changes=n < len(codes) - 1, bad_record=n == 0))
    h.ingest(
        manual_csv(
            [(codes[0], PERIOD, "accuracy_cases_checked", "100"), (codes[0], PERIOD, "accuracy_cases_correct", "97")]
        ),
        suffix=".csv",
    )
    h.con.close()
    return folder / "warehouse.duckdb"


def copy(warehouse: Path, folder: Path) -> Path:
    """The warehouse ``build`` made, with the submitted files kept beside it, copied into ``folder``."""
    shutil.copytree(warehouse.parent, folder, dirs_exist_ok=True)
    return folder / warehouse.name


def load(warehouse: Path):
    from perfcore.reporting import report

    return report.load(PERIOD, warehouse=warehouse, parameters=ROOT / "parameters", today=TODAY)
