"""Sentences on a small real warehouse: what a person would write, with the library's ranks."""

from __future__ import annotations

import pytest

import reporting_builders as rb
from perfcore.reporting import report

DUNDEE, RENFREWSHIRE = "S12000042", "S12000011"


@pytest.fixture(scope="module")
def data(reporting_warehouse):
    return rb.load(reporting_warehouse)


def test_a_councils_summary_says_the_figure_the_change_the_rank_and_the_status(data):
    sentences = report.narrative(data, RENFREWSHIRE, report.positions(data, RENFREWSHIRE))
    assert (
        sentences[0] == "New claims took 14.0 days in October, down from 16.0 days (better); 3rd of 10; status green."
    )
    # every change took 4 days: nine councils tie for 1st (the tenth sent none)
    assert "Changes took 4.0 days in October, unchanged from 4.0 days; 1st of 9; status green." in sentences
    assert all(s.endswith(".") for s in sentences)


def test_the_consortium_summary_has_no_rank_and_missing_figures_are_left_out(data):
    sentences = report.narrative(data, "consortium")
    assert sentences[0].startswith("New claims took 17.8 days in October, up from 16.0 days (worse)")
    assert not any(" of 10" in s for s in sentences)
    assert not any(s.startswith("Accuracy") for s in report.narrative(data, "S12000008"))  # no manual return


def test_headlines_carry_direction_and_whether_it_is_better(data):
    head = {h.indicator.id: h for h in report.headlines(data, "S12000026")}["new_claims_days"]
    assert (head.text, head.direction, head.better, head.rag) == ("26.0 days", "up", False, "red")


def test_subsidy_position_and_sentence(data):
    position = report.subsidy_position(data, DUNDEE)
    assert position.band == "40% subsidy" and report.subsidy_callout_kind(position) == "warning"
    sentence = report.subsidy_sentence(position, "Dundee City")
    assert sentence.startswith("LA-error and administrative-delay overpayments are 0.50% of expenditure")
    assert "(£4,000 of £800,000)" in sentence and "Dundee City is in the **40% subsidy** band." in sentence


def test_work_on_hand_alerts_and_data_quality_sentences(data):
    assert report.work_on_hand_sentence(data, DUNDEE) == (
        "At the end of October 2026 3 items were waiting for a decision; 1 of them had waited more than 30 days "
        "(1 a month earlier). Old work on hand tends to rise before processing times do: watch it."
    )
    assert report.alerts_sentence(data, [], "Dundee City").startswith("No alerts for Dundee City in October 2026")
    assert report.data_quality_sentence(data, DUNDEE).startswith(
        "2 file(s) received for October 2026: 2 accepted; 1 record(s)"
    )
    assert report.returns_sentence(data).startswith(
        "10 of 10 members sent an extract for October 2026. Manual return incomplete: "
    )


def test_the_alert_rules_sentence_reads_its_numbers_from_thresholds_yaml(data):
    settings = report.analytics_settings(data)
    sentence = report.alert_rules_sentence(data)
    assert f"{settings.spc.run_length} on one side of the mean" in sentence
    assert "a point beyond the limits" in sentence and "or 2 of 3 beyond two sigma." in sentence


def test_not_enough_data_is_said_in_words(data):
    spc = report.spc_for(data, DUNDEE, "new_claims_days")
    assert isinstance(spc, report.NotYet) and "it needs 8 months, and there are 2 months" in spc.reason
    funnel = report.funnel_for(data, "accuracy_pct")  # one council sent a manual return
    assert isinstance(funnel, report.NotYet) and "it needs 3 councils with cases, and 1 of the 10" in funnel.reason


def test_the_members_alerts_sentence_counts_alerts_and_names_no_council(data):
    """The benchmarks page is what every member opens: alerts are counted there, never attributed."""
    from types import SimpleNamespace

    items = [
        SimpleNamespace(area=DUNDEE, severity="high"),
        SimpleNamespace(area=DUNDEE, severity="medium"),
        SimpleNamespace(area=RENFREWSHIRE, severity="high"),
    ]
    sentence = report.members_alerts_sentence(data, items)
    assert sentence.startswith("3 alert(s) across 2 of 10 members in October 2026, 2 of high severity.")
    assert not any(council.name in sentence for council in data.consortium.members)
    assert report.members_alerts_sentence(data, []).startswith("No alerts for any member in October 2026")
