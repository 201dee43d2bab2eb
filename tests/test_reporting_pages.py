"""What a council page shows from other councils' data: declared once, drawn and fingerprinted from it.

The freeze rule without papermill: another council's change re-runs a council
page when it changes something the page prints (its rank, a consortium
figure it draws), and only then.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

import reporting_builders as rb
from builders import Harness
from perfcore.build.runner import REPORTS, shown_from_others
from perfcore.reporting import report

ROOT = Path(__file__).resolve().parents[1]
DUNDEE, BORDERS, MIDLOTHIAN = "S12000042", "S12000026", "S12000019"
COUNCIL_PAGE = next(r for r in REPORTS if r.audience == "council")


def test_the_council_report_declares_what_it_shows_from_others():
    assert COUNCIL_PAGE.shows == "from_other_councils" and callable(getattr(report, COUNCIL_PAGE.shows))


def test_the_council_notebook_draws_other_councils_figures_only_from_the_declaration():
    source = "\n".join(c.source for c in nbformat.read(ROOT / "notebooks" / COUNCIL_PAGE.notebook, as_version=4).cells)
    assert "report.from_other_councils(data, council)" in source
    for undeclared in (
        "report.trend(",
        "report.positions(",
        "report.initiative_results(",
        "report.peer_average(",
        'report.series(data, "consortium"',
    ):
        assert undeclared not in source, (
            f"council.ipynb calls {undeclared}: take it from `others` so the build fingerprints it"
        )
    assert "report.narrative(data, council, others.positions)" in source


def test_the_declared_parts_are_what_the_page_prints(reporting_warehouse):
    data = rb.load(reporting_warehouse)
    others = report.from_other_councils(data, DUNDEE)
    assert report.trend(data, DUNDEE, "new_claims_days").equals(others.trend(data, "new_claims_days"))
    with pytest.raises(KeyError, match="COUNCIL_TRENDS"):
        others.trend(data, "work_on_hand")
    digest = others.digest(data)
    assert digest["positions"] == report.position_table(others.positions).to_dict("records")
    assert set(digest["consortium"]) == set(report.COUNCIL_TRENDS)
    assert digest["consortium"]["new_claims_days"][-2:] == ["16.0 days", "17.8 days"]
    json.dumps(digest)  # what the runner hashes


def test_another_councils_change_reruns_a_page_only_when_it_changes_what_the_page_prints(reporting_warehouse, tmp_path):
    warehouse = rb.copy(reporting_warehouse, tmp_path)
    before = shown_from_others(COUNCIL_PAGE, rb.load(warehouse), DUNDEE)
    # Borders resubmits October with the same figures and more old work on hand: a count Dundee's page never shows.
    h = Harness(tmp_path, today=rb.TODAY)
    assert (
        h.ingest(rb.council_extract(BORDERS, rb.PERIOD, 26, changes=False, sequence=2, extra_items=3)).outcome
        == "accepted"
    )
    assert h.values(BORDERS, rb.PERIOD)["work_on_hand"] == 6
    h.con.close()
    assert shown_from_others(COUNCIL_PAGE, rb.load(warehouse), DUNDEE) == before
    # Midlothian resubmits with faster claims: the consortium's figure, which Dundee's trend draws, moves.
    h = Harness(tmp_path, today=rb.TODAY)
    assert h.ingest(rb.council_extract(MIDLOTHIAN, rb.PERIOD, 13, sequence=2)).outcome == "accepted"
    h.con.close()
    assert shown_from_others(COUNCIL_PAGE, rb.load(warehouse), DUNDEE) != before
