"""Onboarding and feed status, computed from what each council has sent."""

from __future__ import annotations

import json

from builders import Harness, claim, extract_xml, manual_csv
from perfcore import cli
from perfcore.reporting import onboarding

DUNDEE, MIDLOTHIAN = "S12000042", "S12000019"


def test_steps_and_feeds_follow_the_data(tmp_path):
    harness = Harness(tmp_path)
    harness.ingest(extract_xml(DUNDEE, "2026-09", [claim("A", "2026-09-01", "2026-09-03")]))
    harness.ingest(extract_xml(DUNDEE, "2026-10", [claim("B", "2026-10-01", "2026-10-03")]))
    harness.ingest(manual_csv([(DUNDEE, "2026-10", "calls_offered", "10")]), suffix=".csv")
    harness.ingest("not xml at all", name="broken.xml")  # Midlothian's first try is not even XML: no council known
    harness.ingest(extract_xml(MIDLOTHIAN, "2026-10", [claim("C", "2026-10-01", "2026-11-03")]))  # decided outside Oct
    # arrival times: September's on time (within 15 days of the month's end), October's late
    harness.con.execute("update submissions set received_at = timestamp '2026-10-05 09:00' where period = '2026-09'")
    harness.con.execute("update submissions set received_at = timestamp '2026-11-20 09:00' where period = '2026-10'")
    found = {s.code: s for s in onboarding.status(harness.con, harness.consortium, ["2026-09", "2026-10"])}
    dundee = {step.key: step for step in found[DUNDEE].steps}
    assert dundee["first_valid_extract"].done and dundee["first_valid_extract"].on.isoformat() == "2026-10-05"
    assert dundee["first_manual_return"].done and not dundee["first_commentary"].done
    assert dundee["updater_registered"].done and not dundee["users_created"].done  # no users file
    assert found[DUNDEE].feeds == {
        "2026-09": {"extract": "on time", "manual": "missing", "commentary": "missing"},
        "2026-10": {"extract": "late", "manual": "late", "commentary": "missing"},
    }
    midlothian = {step.key: step for step in found[MIDLOTHIAN].steps}
    assert midlothian["extract_configured"].done and midlothian["first_valid_extract"].done
    edinburgh_like = found["S12000008"]
    assert [s.key for s in edinburgh_like.outstanding] == [
        "extract_configured",
        "first_valid_extract",
        "first_manual_return",
        "first_commentary",
        "users_created",
    ]


def test_perfcore_onboarding_prints_every_council(tmp_path, capsys):
    harness = Harness(tmp_path)
    harness.ingest(extract_xml(DUNDEE, "2026-10", [claim("B", "2026-10-01", "2026-10-03")]))
    harness.con.close()
    argv = ["onboarding", "--warehouse", str(tmp_path / "warehouse.duckdb"), "--today", "2026-11-26", "--months", "2"]
    assert cli.main([*argv, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 10 and rows[0]["steps"]["first_valid_extract"]["done"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Dundee City (S12000042): 3 of 6 onboarding steps done" in out and "2026-10: extract" in out
