"""The reporting layer's tables on a small real warehouse: ranks, quartiles, benchmarks, data quality.

The published rank and quartile of every council, for every indicator, must be
the library's (``analytics.ranks``): one definition for pages and library alike.
"""

from __future__ import annotations

import pandas as pd
import pytest

import reporting_builders as rb
from perfcore import analytics
from perfcore.analytics.alerts import Alert
from perfcore.reporting import report, wording

CODES = (
    "S12000042",
    "S12000008",
    "S12000011",
    "S12000010",
    "S12000038",
    "S12000021",
    "S12000050",
    "S12000019",
    "S12000040",
    "S12000026",
)


@pytest.fixture(scope="module")
def data(reporting_warehouse):
    return rb.load(reporting_warehouse)


def test_every_published_rank_and_quartile_is_the_librarys(data):
    library = analytics.ranks(
        data.table,
        data.framework,
        data.period,
        areas=data.consortium.codes,
        indicators=[i.id for i in data.framework.indicators if i.better],
    )
    assert not library.empty
    places = {code: {p.indicator.id: p for p in report.positions(data, code)} for code in data.consortium.codes}
    for indicator in data.framework.indicators:
        mine = library[library["indicator"] == indicator.id].set_index("area")
        league = report.league(data, indicator.id).set_index("code")
        for code in data.consortium.codes:
            place = places[code].get(indicator.id)
            if not analytics.is_comparable(indicator):
                assert league["rank"].isna().all() and place is None
                continue
            if code not in mine.index:  # no figure: unranked everywhere
                assert league.loc[code, "rank"] != league.loc[code, "rank"] and place.rank is None
                continue
            expected = mine.loc[code]
            quarter = None if pd.isna(expected["quartile"]) else int(expected["quartile"])  # none under four ranked
            assert league.loc[code, "rank"] == expected["rank"]
            assert (None if pd.isna(league.loc[code, "quartile"]) else league.loc[code, "quartile"]) == quarter
            assert (place.rank, place.quartile, place.of) == (expected["rank"], quarter, expected["of"])
            row = report.position_table([place]).iloc[0]
            assert row["Rank"] == wording.rank_text(expected["rank"], expected["of"])
            assert row["Quartile"] == wording.quartile_text(expected["quartile"])


def test_with_ten_ranked_the_3rd_is_in_quartile_2_and_the_8th_in_quartile_4(data):
    rows = {r["Indicator"]: r for r in report.position_table(report.positions(data, CODES[2])).to_dict("records")}
    assert rows["New claims, days"]["Rank"] == "3rd of 10" and rows["New claims, days"]["Quartile"] == "Q2"
    rows = {r["Indicator"]: r for r in report.position_table(report.positions(data, CODES[7])).to_dict("records")}
    assert rows["New claims, days"]["Rank"] == "8th of 10" and rows["New claims, days"]["Quartile"] == "Q4 (worst)"


def test_league_ties_share_the_better_rank_and_the_unranked_come_last(data):
    league = report.league(data, "new_claims_days")
    assert list(league["rank"][:3]) == [1.0, 1.0, 3.0]
    assert list(league["council"][:2]) == ["Dundee City", "East Ayrshire"]  # a tie: by name
    changes = report.league(data, "changes_days")
    assert changes.iloc[-1]["council"] == "Scottish Borders" and changes.iloc[-1]["rank"] != changes.iloc[-1]["rank"]
    counts = report.league(data, "work_on_hand")  # a count: listed by size, never ranked
    assert counts["rank"].isna().all() and list(counts["value"]) == sorted(counts["value"], reverse=True)


def test_benchmark_table_stars_the_best_and_ends_with_the_consortium(data):
    table = report.benchmark_table(data, ("new_claims_days",))
    cells = table["New claims, days"].tolist()
    assert cells[0] == "★ 12.0 days G" and cells[1] == "12.0 days G"  # the tie: the first listed gets the star
    assert cells[-2] == "26.0 days R" and table["Council"].iloc[-1] == "Consortium"
    assert cells[-1] == "17.8 days"  # pooled: 4 claims each, (2 x 12 + 14 + ... + 26) / 10
    best = report.best_performers(data).set_index("Indicator")
    assert best.loc["New claims, days", "Best this month"] == "Dundee City"


def test_framework_table_and_definitions_phrase_thresholds_one_way(data):
    framework = report.framework_table(data).set_index("Id")
    assert framework.loc["new_claims_days", "Green"] == "≤ 20" and framework.loc["accuracy_pct", "Green"].startswith(
        "≥ "
    )
    assert framework.loc["la_error_overpayment_pct", "Window"] == "financial year to date"
    text = report.indicator_definition(data.framework.indicator("new_claims_days"))
    assert "- **Thresholds**: Green at most 20; Amber at most 25; Red above 25" in text
    assert "- **Window**: the month" in text


def test_work_on_hand_is_counted_in_the_age_bands(data):
    frame = report.work_on_hand_age(data, CODES[0])
    assert list(frame["Age"]) == [label for *_, label in wording.AGE_BANDS]
    assert frame.set_index("Age").loc["31–60 days", "New claims"] == 1
    assert int(frame[["New claims", "Changes"]].to_numpy().sum()) == 3


def test_alert_table_names_the_rule_and_the_months(data):
    alert = Alert(
        "S12000042", "new_claims_days", "spc_run", "high", "Evidence.", ("2026-03", "2026-10"), "2026-03", 2.0
    )
    row = report.alert_table(data, [alert]).iloc[0]
    run = analytics.load_settings(data.parameters).spc.run_length
    assert row["Alert"] == f"High: Run of {run} on one side of the mean"
    assert row["Months"] == "Mar 2026 to Oct 2026" and row["Council"] == "Dundee City"


def test_data_quality_tables_list_the_rejected_record(data):
    rejected = report.rejection_table(data, CODES[0])
    assert rejected.iloc[0][["Level", "Reference", "Reason"]].tolist() == ["record", "BAD1", "received after decided"]
    assert rejected.iloc[0]["Line"].isdigit()
    reasons = report.rejection_reasons(data, CODES[0])
    assert reasons.iloc[0]["Rejected"] == 1 and report.rejections_more(data, CODES[0]) is None
    assert report.rejection_table(data, CODES[1]).empty
    status = report.returns_status(data).set_index("Council")
    assert (
        status.loc["Dundee City", "Extract"] == "received" and status.loc["Dundee City", "Manual return"] == "partial"
    )
    assert status.loc["East Ayrshire", "Manual return"] == "MISSING"
    submissions = report.submission_table(data, CODES[0])  # newest first: the manual return, then the extract
    assert submissions[["Outcome", "Records rejected"]].values.tolist() == [["accepted", "0"], ["accepted", "1"]]


def test_with_fewer_than_four_ranked_there_are_no_quartiles():
    """The best of three is not 'in the worst quarter': with under four councils, no quartile at all."""
    import pandas as pd

    from perfcore.analytics import benchmark

    assert list(pd.isna(benchmark.quartile(pd.Series([1, 2, 3]), 3))) == [True, True, True]
    assert list(benchmark.quartile(pd.Series([1, 3, 8, 10]), 10)) == [1, 2, 4, 4]
    assert wording.quartile_text(pd.NA) == "" and wording.quartile_text(1) == "Q1 (best)"
