"""Each indicator's definition (indicators.md) on hand-worked cases."""

from __future__ import annotations

import pytest

from builders import Harness, change, claim, extract_xml, item, manual_csv, overpayment, recovery

DUNDEE, BORDERS = "S12000042", "S12000026"


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.discard()


def test_new_claim_days_are_inclusive(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-01",
            [
                claim("A", "2026-01-10", "2026-01-19"),  # 10 days
                claim("B", "2026-01-12", "2026-01-12"),  # decided the day received: 1 day
            ],
        )
    )
    values = h.values(DUNDEE, "2026-01")
    assert values["new_claims_decided"] == 2
    assert values["new_claims_days"] == pytest.approx((10 + 1) / 2)


def test_withdrawn_claims_are_excluded_everywhere(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-01",
            [
                claim("A", "2026-01-01", "2026-01-10"),  # 10 days
                claim("B", "2026-01-01", "2026-01-30", outcome="refused"),  # 30 days
                claim("C", "2025-11-01", "2026-01-30", outcome="withdrawn"),  # ignored
            ],
        )
    )
    values = h.values(DUNDEE, "2026-01")
    assert values["new_claims_decided"] == 2
    assert values["new_claims_days"] == pytest.approx(20.0)
    assert values["new_claims_within_14_days_pct"] == pytest.approx(50.0)


def test_within_14_days_counts_from_info_complete(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-01",
            [
                claim("A", "2026-01-01", "2026-01-20", info="2026-01-06"),  # 14 days after info: within
                claim("B", "2026-01-01", "2026-01-21", info="2026-01-06"),  # 15 days after info: not within
                claim("C", "2026-01-01", "2026-01-15"),  # no info date: from received, 14: within
                claim("D", "2026-01-01", "2026-01-16"),  # 15 from received: not within
            ],
        )
    )
    assert h.values(DUNDEE, "2026-01")["new_claims_within_14_days_pct"] == pytest.approx(50.0)


def test_change_days_advance_notification_and_exclusions(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                change("C1", "2026-10-02", "2026-10-06"),  # 5 days
                change("C2", "2026-10-02", "2026-10-12", effective="2026-10-10"),  # from effective: 3 days
                change("C3", "2026-10-02", "2026-10-05", effective="2026-10-20"),  # actioned before start: 1 day
                change("C4", "2026-10-05", "2026-10-08", effective="2026-10-01"),  # effective earlier: from notified, 4
                change("U1", "2026-10-01", "2026-10-30", type_="uprating"),  # excluded
                change("R1", "2026-10-01", "2026-10-30", type_="revision"),  # excluded
            ],
        )
    )
    values = h.values(DUNDEE, "2026-10")
    assert values["changes_actioned"] == 4
    assert values["changes_days"] == pytest.approx((5 + 3 + 1 + 4) / 4)


def test_right_time_indicator_pools_claims_and_changes(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                claim("A", "2026-10-01", "2026-10-20"),  # 20
                change("C1", "2026-10-02", "2026-10-06"),  # 5
                change("C2", "2026-10-02", "2026-10-03"),  # 2
            ],
        )
    )
    assert h.values(DUNDEE, "2026-10")["rti_days"] == pytest.approx((20 + 5 + 2) / 3)


def test_work_on_hand_over_30_days_is_strictly_more_than_30(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                item("I1", "2026-10-01"),  # 30 days before 31 Oct: not over 30
                item("I2", "2026-09-30"),  # 31 days: over 30
                item("I3", "2026-10-31"),
            ],
        )
    )
    values = h.values(DUNDEE, "2026-10")
    assert values["work_on_hand"] == 3
    assert values["work_on_hand_over_30_days"] == 1


def test_fytd_restarts_in_april(h):
    # March 2026 belongs to FY 2025/26; April 2026 starts FY 2026/27.
    for period, day, amount in (
        ("2026-02", "2026-02-10", "100.00"),
        ("2026-03", "2026-03-10", "300.00"),
        ("2026-04", "2026-04-10", "50.00"),
        ("2026-05", "2026-05-10", "150.00"),
    ):
        h.ingest(
            extract_xml(
                DUNDEE,
                period,
                [
                    overpayment(f"OP{period}", day, amount),
                    overpayment(f"OQ{period}", day, amount, cause="claimant-error"),
                    recovery(f"OP{period}", day, "10.00"),
                ],
                expenditure="100000.00",
            )
        )
    march = h.values(DUNDEE, "2026-03")
    may = h.values(DUNDEE, "2026-05")
    assert march["la_error_overpayment_pct"] == pytest.approx(100 * 400 / 200000)
    assert may["la_error_overpayment_pct"] == pytest.approx(100 * 200 / 200000)
    assert may["overpayment_recovery_pct"] == pytest.approx(100 * 20 / 400)
    assert h.values(DUNDEE, "2026-04")["la_error_overpayment_pct"] == pytest.approx(100 * 50 / 100000)


def test_admin_delay_counts_with_la_error_but_other_causes_do_not(h):
    h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                overpayment("O1", "2026-10-02", "100.00", cause="la-error"),
                overpayment("O2", "2026-10-02", "50.00", cause="admin-delay"),
                overpayment("O3", "2026-10-02", "999.00", cause="dwp-error"),
            ],
            expenditure="10000.00",
        )
    )
    assert h.values(DUNDEE, "2026-10")["la_error_overpayment_pct"] == pytest.approx(1.5)


def test_consortium_pools_sums_never_a_mean_of_means(h):
    h.ingest(extract_xml(DUNDEE, "2026-10", [claim("A", "2026-10-01", "2026-10-10")]))  # 1 claim, 10 days
    h.ingest(extract_xml(BORDERS, "2026-10", [claim(f"B{i}", "2026-10-01", "2026-10-30") for i in range(3)]))  # 3 x 30
    pooled = h.values("consortium", "2026-10")
    assert pooled["new_claims_days"] == pytest.approx((10 + 90) / 4)  # 25, not (10 + 30) / 2 = 20
    assert pooled["new_claims_decided"] == 4
    assert pooled["caseload"] == 2 * 12345


def test_manual_return_indicators_and_cost_per_case(h):
    h.ingest(extract_xml(DUNDEE, "2026-10", caseload="1000"))
    h.ingest(
        manual_csv(
            [
                (DUNDEE, "2026-10", "accuracy_cases_checked", 120),
                (DUNDEE, "2026-10", "accuracy_cases_correct", 114),
                (DUNDEE, "2026-10", "admin_cost_gbp", 21000),
                (DUNDEE, "2026-10", "calls_offered", 5400),
                (DUNDEE, "2026-10", "calls_answered", 4950),
            ]
        ),
        suffix=".csv",
    )
    values = h.values(DUNDEE, "2026-10")
    assert values["accuracy_pct"] == pytest.approx(95.0)
    assert values["cost_per_case"] == pytest.approx(21.0)
    assert values["calls_answered_pct"] == pytest.approx(100 * 4950 / 5400)


def test_pooled_cost_per_case_uses_only_councils_with_both_inputs(h):
    h.ingest(extract_xml(DUNDEE, "2026-10", caseload="1000"))
    h.ingest(extract_xml(BORDERS, "2026-10", caseload="3000"))  # no admin cost from Borders
    h.ingest(manual_csv([(DUNDEE, "2026-10", "admin_cost_gbp", 20000)]), suffix=".csv")
    assert h.values("consortium", "2026-10")["cost_per_case"] == pytest.approx(20.0)


def test_null_not_zero_when_nothing_to_divide(h):
    h.ingest(extract_xml(DUNDEE, "2026-10", []))
    values = h.values(DUNDEE, "2026-10")
    assert values["new_claims_decided"] == 0  # a real zero: the extract says no claims
    assert values["new_claims_days"] is None  # nothing to divide by
    assert values["changes_days"] is None
    assert values["accuracy_pct"] is None  # no manual return
    assert values["overpayment_recovery_pct"] is None  # no overpayments identified
    missing = h.values(BORDERS, "2026-10")  # no data at all
    assert all(v is None for v in missing.values())
    assert set(missing) == set(h.framework.ids)


def test_every_figure_carries_the_framework_version(h):
    from perfcore.warehouse import indicators

    h.ingest(extract_xml(DUNDEE, "2026-10", [claim("A", "2026-10-01", "2026-10-10")]))
    table = indicators.compute(h.con, h.framework)
    assert set(table["framework_version"]) == {h.framework.version}


def test_a_changed_threshold_changes_the_status_without_code(tmp_path):
    import yaml

    from perfcore.config.parameters import load_framework

    root = Harness(tmp_path).root
    raw = yaml.safe_load((root / "parameters" / "framework.yaml").read_text())
    for entry in raw["indicators"]:
        if entry["id"] == "new_claims_days":
            entry["thresholds"] = {"green": 10, "amber": 12}
    raw["version"] = "1.1-draft"
    draft = tmp_path / "framework.yaml"
    draft.write_text(yaml.safe_dump(raw))
    current, changed = load_framework(root / "parameters" / "framework.yaml"), load_framework(draft)
    assert current.indicator("new_claims_days").rag(19.0) == "green"
    assert changed.indicator("new_claims_days").rag(19.0) == "red"
    assert changed.version == "1.1-draft"
