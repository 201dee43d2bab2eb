"""The planted demo stories are found by the analytics, end to end.

Uses the session's demo warehouse (conftest's ``demo_warehouse``) where there
is one, else builds the default demo (10 councils, 24 months) for this module,
with the demo's own planted stories (perfcore.demo): Midlothian's new-claim
times deteriorate over the last four months, East Renfrewshire's change times
drop from its initiative's start, and everywhere work on hand older than 30
days leads new-claim times by a month.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from perfcore import periods

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "parameters"
TODAY = date(2026, 11, 26)  # end period 2026-10, as initiatives.yaml assumes
MIDLOTHIAN, EAST_RENFREWSHIRE = "S12000019", "S12000011"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(request, tmp_path_factory):
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium, load_framework
    from perfcore.config.thresholds import load_settings
    from perfcore.warehouse import indicators

    consortium, framework = load_consortium(PARAMETERS), load_framework(PARAMETERS / "framework.yaml")
    try:  # the session's shared demo warehouse, where conftest provides one
        database = request.getfixturevalue("demo_warehouse")
    except pytest.FixtureLookupError:
        database = _build_demo(tmp_path_factory.mktemp("analytics-demo"), consortium)
    con = warehouse.connect(database, read_only=True)
    table = indicators.compute(con, framework, consortium.codes)
    con.close()
    return table, framework, consortium, load_settings(PARAMETERS)


def _build_demo(folder: Path, consortium) -> Path:
    from perfcore import warehouse
    from perfcore.demo import write_demo_data
    from perfcore.intake.ingest import ingest_paths

    write_demo_data(
        folder / "demo", consortium=consortium, today=TODAY, initiatives_file=PARAMETERS / "initiatives.yaml"
    )
    con = warehouse.connect(folder / "warehouse.duckdb")
    for _ in ingest_paths([folder / "demo"], con, consortium, today=TODAY):
        pass  # the planted bad records are rejected; everything else loads
    con.close()
    return folder / "warehouse.duckdb"


def test_the_deteriorating_council_is_flagged_with_the_rule_and_when_it_started(demo):
    from perfcore.analytics.alerts import alerts

    table, framework, consortium, settings = demo
    found = alerts(table, framework, consortium.codes, settings=settings)
    ours = [a for a in found if a.area == MIDLOTHIAN and a.indicator == "new_claims_days"]
    assert {"spc_beyond_limits", "red"} <= {a.rule for a in ours}
    spc = next(a for a in ours if a.rule.startswith("spc_"))
    assert spc.started in periods.span("2026-07", "2026-10")  # within the four deteriorating months
    assert spc.severity == "high" and found.index(spc) < 5


def test_the_initiatives_effect_is_estimated_with_an_interval_containing_the_planted_drop(demo):
    from perfcore.analytics.impact import assess_initiative
    from perfcore.config.initiatives import load_initiatives
    from perfcore.demo import INITIATIVE_SHIFT_DAYS

    table, framework, consortium, settings = demo
    initiatives = load_initiatives(PARAMETERS, framework)
    initiative = next(i for i in initiatives if i.council == EAST_RENFREWSHIRE)
    result = assess_initiative(table, framework, initiative, "changes_days", settings, initiatives=initiatives)
    effect = result.did.effect
    assert effect.ci_low <= INITIATIVE_SHIFT_DAYS <= effect.ci_high
    assert effect.excludes_zero and "fell by" in result.verdict


def test_backlog_leading_processing_time_is_among_the_strongest_lagged_pairs(demo):
    from perfcore.analytics.interdependence import lagged_correlations, strongest_pairs

    table, framework, consortium, settings = demo
    top = strongest_pairs(lagged_correlations(table, settings), top=3)
    pair = top[(top["leader"] == "work_on_hand_over_30_days") & (top["follower"] == "new_claims_days")]
    assert not pair.empty and pair["lag"].item() == 1
