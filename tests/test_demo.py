"""The demo data generator: real files in tmp folders, read back with lxml.

The full default demo (10 councils, 24 months) is generated once per module;
tests that do not need it use a small run (3 councils, 6 months).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import yaml
from lxml import etree

from perfcore import periods as P
from perfcore.config.parameters import is_gss_code, load_consortium
from perfcore.demo import (
    MANUAL_MEASURES,
    MANUAL_RULES,
    RECORD_RULES,
    DemoSummary,
    RecordError,
    write_consortium_yaml,
    write_demo_data,
)
from perfcore.exceptions import ConfigError, PerfcoreError

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "parameters"
SCHEMA = ROOT / "src" / "perfcore" / "intake" / "schema" / "hbpe-1.0.xsd"
TODAY = date(2026, 11, 26)  # end period 2026-10, as initiatives.yaml assumes
NS = "{urn:perfcore:hbpe:1}"


# --------------------------------------------------------------------------- reading files back


def _day(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class Facts:
    """What one extract says, computed from the XML as the indicator framework defines it."""

    code: str
    period: str
    sequence: int
    created: str
    claims: int = 0  # awarded or refused
    claim_days: int = 0
    claims_within_14: int = 0
    withdrawn: int = 0
    changes: int = 0  # not uprating or revision
    change_days: int = 0
    uprating: int = 0
    revisions: int = 0
    advance: int = 0
    woh: int = 0
    woh_over_30: int = 0
    caseload: int = 0
    expenditure: float = 0.0
    overpaid: float = 0.0
    overpaid_la: float = 0.0
    recovered: float = 0.0
    written_off: float = 0.0
    violations: set[tuple[str, str]] = field(default_factory=set)  # (ref, rule id)

    @property
    def claims_avg(self) -> float:
        return self.claim_days / self.claims

    @property
    def changes_avg(self) -> float:
        return self.change_days / self.changes


def read_extract(path: Path) -> Facts:
    return facts_of(etree.parse(str(path)))


def facts_of(document: etree._ElementTree) -> Facts:
    root = document.getroot()
    header = root.find(f"{NS}Header")
    period = header.findtext(f"{NS}Period")
    facts = Facts(
        code=header.find(f"{NS}Authority").get("code"),
        period=period,
        sequence=int(header.findtext(f"{NS}Sequence")),
        created=header.findtext(f"{NS}Created"),
    )
    first, last = P.first_day(period), P.last_day(period)
    inside = lambda day: first <= day <= last  # noqa: E731
    seen: dict[str, set[str]] = defaultdict(set)

    def once(section: str, ref: str) -> None:
        if ref in seen[section]:
            facts.violations.add((ref, "duplicate_ref"))
        seen[section].add(ref)

    for claim in root.iter(f"{NS}Claim"):
        ref, received, decided = claim.get("ref"), _day(claim.get("received")), _day(claim.get("decided"))
        info = _day(claim.get("infoComplete")) if claim.get("infoComplete") else None
        once("claims", ref)
        if received > decided:
            facts.violations.add((ref, "claim_received_after_decided"))
        if info and info < received:
            facts.violations.add((ref, "claim_info_complete_before_received"))
        if info and info > decided:
            facts.violations.add((ref, "claim_info_complete_after_decided"))
        if not inside(decided):
            facts.violations.add((ref, "claim_decided_outside_period"))
        if claim.get("outcome") == "withdrawn":
            facts.withdrawn += 1
            continue
        facts.claims += 1
        facts.claim_days += (decided - received).days + 1
        facts.claims_within_14 += (decided - (info or received)).days <= 14
    for change in root.iter(f"{NS}Change"):
        ref, notified, actioned = change.get("ref"), _day(change.get("notified")), _day(change.get("actioned"))
        effective = _day(change.get("effective")) if change.get("effective") else None
        once("changes", ref)
        if notified > actioned:
            facts.violations.add((ref, "change_notified_after_actioned"))
        if not inside(actioned):
            facts.violations.add((ref, "change_actioned_outside_period"))
        kind = change.get("type")
        if kind == "uprating":
            facts.uprating += 1
        elif kind == "revision":
            facts.revisions += 1
        else:
            start = effective if effective and effective > notified else notified
            facts.advance += effective is not None and effective > notified
            facts.changes += 1
            facts.change_days += 1 if actioned <= start else (actioned - start).days + 1
    for item in root.iter(f"{NS}Item"):
        received = _day(item.get("received"))
        once("items", item.get("ref"))
        if received > last:
            facts.violations.add((item.get("ref"), "item_received_after_period"))
        facts.woh += 1
        facts.woh_over_30 += (last - received).days > 30
    facts.caseload = int(root.find(f"{NS}Caseload").get("claims"))
    facts.expenditure = float(root.find(f"{NS}Expenditure").get("amount"))
    for op in root.iter(f"{NS}Overpayment"):
        once("overpayments", op.get("ref"))
        if not inside(_day(op.get("identified"))):
            facts.violations.add((op.get("ref"), "overpayment_identified_outside_period"))
        amount = float(op.get("amount"))
        facts.overpaid += amount
        facts.overpaid_la += amount if op.get("cause") in ("la-error", "admin-delay") else 0.0
    for tag, rule, total in (
        ("Recovery", "recovery_date_outside_period", "recovered"),
        ("WriteOff", "writeoff_date_outside_period", "written_off"),
    ):
        for payment in root.iter(f"{NS}{tag}"):
            once(tag, payment.get("overpayment"))  # at most one payment of a kind per overpayment per file
            if not inside(_day(payment.get("date"))):
                facts.violations.add((payment.get("overpayment"), rule))
            setattr(facts, total, getattr(facts, total) + float(payment.get("amount")))
    return facts


def latest(facts: dict[str, Facts]) -> dict[tuple[str, str], Facts]:
    """The submission that counts for each council and month: the highest Sequence."""
    chosen: dict[tuple[str, str], Facts] = {}
    for fact in facts.values():
        key = (fact.code, fact.period)
        if key not in chosen or fact.sequence > chosen[key].sequence:
            chosen[key] = fact
    return chosen


def series(chosen: dict[tuple[str, str], Facts], code: str, periods: tuple[str, ...]) -> list[Facts]:
    return [chosen[(code, period)] for period in periods]


def read_manual(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def consortium():
    return load_consortium(PARAMETERS)


@pytest.fixture(scope="module")
def full(tmp_path_factory, consortium) -> DemoSummary:
    with pytest.MonkeyPatch.context() as patch:  # the default initiatives file, wherever pytest runs from
        patch.setenv("PERFCORE_PARAMETERS", str(PARAMETERS))
        return write_demo_data(tmp_path_factory.mktemp("full"), consortium=consortium, today=TODAY)


@pytest.fixture(scope="module")
def checked(full) -> tuple[dict[str, Facts], list[str]]:
    """Each full-demo extract parsed once: its facts, and the names of files the schema rejects."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    facts, invalid = {}, []
    for path in full.extract_files:
        document = etree.parse(str(path))
        if not schema.validate(document):
            invalid.append(f"{path.name}: {schema.error_log.last_error}")
        facts[path.name] = facts_of(document)
    return facts, invalid


@pytest.fixture(scope="module")
def facts(checked) -> dict[str, Facts]:
    return checked[0]


@pytest.fixture(scope="module")
def chosen(facts) -> dict[tuple[str, str], Facts]:
    return latest(facts)


def small(out: Path, consortium, **options) -> DemoSummary:
    return write_demo_data(out, consortium=consortium, councils=3, months=6, today=TODAY, **options)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- reproducibility and layout


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path, consortium):
    first = small(tmp_path / "a", consortium, seed=7)
    second = small(tmp_path / "b", consortium, seed=7)
    small(tmp_path / "c", consortium, seed=8)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys()
    assert sum(a[name] != c[name] for name in a) == len(a)  # every file changes with the seed
    assert first.stories == second.stories


def test_adding_councils_leaves_the_others_unchanged(tmp_path, consortium):
    runs = [
        small(tmp_path / "three", consortium),
        write_demo_data(tmp_path / "four", consortium=consortium, councils=4, months=6, today=TODAY),
    ]
    three, four = tree(tmp_path / "three"), tree(tmp_path / "four")
    # Planted errors are placed by position among the councils: leave out the files holding them.
    planted = {e.file for run in runs for e in run.stories["record_errors"] + run.stories["manual_errors"]}
    common = [name for name in three if Path(name).name not in planted]
    assert len(common) >= 15
    assert all(three[name] == four[name] for name in common)


def test_layout_and_months(tmp_path, consortium):
    summary = small(tmp_path, consortium)
    assert summary.periods == tuple(P.span("2026-05", "2026-10"))
    assert [c.code for c in summary.councils] == ["S12000042", "S12000008", "S12000011"]
    for council in summary.councils:
        xml = sorted(p.name for p in (tmp_path / "extracts" / council.code).glob("*.xml"))
        expected = {f"{council.code}-{p}-seq1.xml" for p in summary.periods}
        if council.code == "S12000042":
            expected.add("S12000042-2026-08-seq2.xml")  # the resubmission
        assert set(xml) == expected
    manual = sorted(p.name for p in (tmp_path / "manual").glob("*.csv"))
    assert manual == sorted(f"{c.code}-{p}.csv" for c in summary.councils for p in summary.periods)
    assert set(summary.extract_files) == set((tmp_path / "extracts").rglob("*.xml"))
    assert set(summary.manual_files) == set((tmp_path / "manual").glob("*.csv"))


def test_created_comes_from_the_period_not_the_clock(tmp_path, consortium):
    summary = small(tmp_path, consortium)
    fact = read_extract(summary.extract_files[0])
    assert fact.period == "2026-05" and fact.created == "2026-06-01T02:00:00Z"


def test_end_period_defaults_to_the_last_complete_month(tmp_path, consortium):
    summary = write_demo_data(tmp_path, consortium=consortium, councils=1, months=2, today=date(2026, 3, 1))
    assert summary.periods == ("2026-01", "2026-02")


@pytest.mark.parametrize(
    "options",
    [{"months": 0}, {"councils": 0}, {"seed": -1}, {"end_period": "2026-11"}, {"end_period": "October"}],
)
def test_bad_arguments_are_refused(tmp_path, consortium, options):
    arguments = {"consortium": consortium, "today": TODAY, **options}
    with pytest.raises(ConfigError):
        write_demo_data(tmp_path, **arguments)
    assert issubclass(ConfigError, PerfcoreError)


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_every_extract_is_valid_against_the_schema(full, checked):
    assert checked[1] == []
    assert len(full.extract_files) == 10 * 24 + 1


def test_names_are_escaped(tmp_path, consortium):
    from dataclasses import replace

    odd = replace(consortium.members[0], name='Dundee & "Angus" <City>')
    summary = write_demo_data(tmp_path, consortium=replace(consortium, members=(odd,)), months=1, today=TODAY)
    root = etree.parse(str(summary.extract_files[0])).getroot()
    assert root.find(f"{NS}Header/{NS}Authority").text == 'Dundee & "Angus" <City>'


# --------------------------------------------------------------------------- realism


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_volumes_are_realistic(full, chosen):
    for council in full.councils:
        months = series(chosen, council.code, full.periods)
        caseload = np.array([f.caseload for f in months])
        assert 0.85 * council.approx_caseload < caseload.mean() < 1.15 * council.approx_caseload
        assert abs(caseload[-1] / caseload[0] - 1) < 0.15  # drifts slowly
        claims = np.array([f.claims + f.withdrawn for f in months]) / caseload
        assert 0.012 < claims.mean() < 0.03
        changes = np.array([f.changes + f.revisions for f in months]) / caseload
        assert 0.08 < changes.mean() < 0.17
        weekly = np.array([f.expenditure for f in months]) / caseload / (52 / 12)
        assert 55 < weekly.mean() < 110
        aprils = [f for f in months if f.period.endswith("-04")]
        assert all(f.uprating > 0.2 * f.caseload for f in aprils)
        assert all(f.uprating == 0 for f in months if not f.period.endswith("-04"))
    borders = series(chosen, "S12000026", full.periods[-12:])
    assert 2_000 < sum(f.claims + f.withdrawn for f in borders) < 3_000  # about 2,500 new claims a year
    assert 25e6 < sum(f.expenditure for f in borders) < 45e6  # about £30m a year


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_processing_times_are_realistic(full, chosen):
    usual = [f for f in chosen.values() if not (f.code == "S12000019" and f.period >= "2026-07")]
    claims = np.array([f.claims_avg for f in usual])
    assert 8 < claims.min() and claims.max() < 36
    assert 15 < np.mean(claims) < 23
    within_14 = sum(f.claims_within_14 for f in usual) / sum(f.claims for f in usual)
    assert 0.7 < within_14 < 0.95
    changes = np.array([f.changes_avg for f in chosen.values()])
    assert 2 < changes.min() and changes.max() < 14
    withdrawn = sum(f.withdrawn for f in usual) / sum(f.claims + f.withdrawn for f in usual)
    assert 0.02 < withdrawn < 0.04
    assert sum(f.advance for f in usual) > 0.05 * sum(f.changes for f in usual)
    assert sum(f.revisions for f in usual) > 0
    # Changes are quicker in January-April (up-rating season), as in the GB figures.
    season = [f.changes_avg for f in chosen.values() if f.period[5:] in ("01", "02", "03", "04")]
    rest = [f.changes_avg for f in chosen.values() if f.period[5:] not in ("01", "02", "03", "04")]
    assert np.mean(season) < np.mean(rest) - 0.8


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_work_on_hand_is_present_and_partly_old(chosen):
    for fact in chosen.values():
        assert 0.01 * fact.caseload < fact.woh < 0.08 * fact.caseload
    assert sum(f.woh_over_30 for f in chosen.values()) > 0.05 * sum(f.woh for f in chosen.values())


def _fytd(chosen, code: str, year_start: str) -> list[Facts]:
    return [chosen[(code, p)] for p in P.span(year_start, P.shift(year_start, 11))]


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_overpayments_straddle_the_subsidy_thresholds_and_are_mostly_recovered(full, chosen):
    la_pct, recovery_pct = [], []
    for council in full.councils:
        year = _fytd(chosen, council.code, "2025-04")
        la_pct.append(100 * sum(f.overpaid_la for f in year) / sum(f.expenditure for f in year))
        recovery_pct.append(100 * sum(f.recovered for f in year) / sum(f.overpaid for f in year))
        assert all(f.written_off > 0 for f in year[3:6])  # write-offs happen every month or so
        assert sum(f.overpaid for f in year) > 4 * sum(f.overpaid_la for f in year)  # other causes are larger
    assert 0.25 < min(la_pct) < 0.48 < 0.54 < max(la_pct) < 0.7
    assert 55 < min(recovery_pct) and max(recovery_pct) < 90


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_manual_returns_are_realistic(full, chosen):
    bad = {(e.file, e.measure) for e in full.stories["manual_errors"]}
    for path in full.manual_files:
        rows = read_manual(path)
        assert rows[0] == ["authority", "period", "measure", "value"]
        assert [r[2] for r in rows[1:]] == list(MANUAL_MEASURES)
        values = {r[2]: float(r[3]) for r in rows[1:]}
        fact = chosen[(rows[1][0], rows[1][1])]
        assert 80 <= values["accuracy_cases_checked"] <= 150
        assert 0.94 <= values["accuracy_cases_correct"] / values["accuracy_cases_checked"] <= 1
        assert 12 <= values["admin_cost_gbp"] / fact.caseload <= 21
        if not bad & {(path.name, "calls_answered"), (path.name, "staff_fte")}:
            assert 0.79 <= values["calls_answered"] / values["calls_offered"] <= 0.98
            assert 10 < values["staff_fte"] < 100


# --------------------------------------------------------------------------- records and planted errors


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_only_the_planted_records_break_record_level_rules(full, facts):
    found = {RecordError(name, ref, rule) for name, fact in facts.items() for ref, rule in fact.violations}
    planted = full.stories["record_errors"]
    assert found == set(planted)
    assert len(planted) == len(set(planted))
    assert {e.rule for e in planted} == set(RECORD_RULES)  # every rule is covered
    files = {e.file for e in planted}
    assert len(files) >= 5 and len({f.split("-")[0] for f in files}) >= 5  # spread over councils


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_manual_errors_break_their_rule_on_the_line_recorded(full):
    errors = full.stories["manual_errors"]
    assert {e.rule for e in errors} == set(MANUAL_RULES)
    for error in errors:
        rows = read_manual(full.out / "manual" / error.file)
        values = {r[2]: float(r[3]) for r in rows[1:]}
        assert rows[error.line - 1][2] == error.measure
        if error.rule == "manual_calls_answered_exceeds_offered":
            assert values["calls_answered"] > values["calls_offered"]
        else:
            assert values[error.measure] < 0
    broken = [
        p.name
        for p in full.manual_files
        if any(float(r[3]) < 0 for r in read_manual(p)[1:]) or float(read_manual(p)[6][3]) > float(read_manual(p)[5][3])
    ]
    assert sorted(broken) == sorted(e.file for e in errors)


def test_small_runs_still_plant_every_rule(tmp_path, consortium):
    summary = write_demo_data(tmp_path, consortium=consortium, councils=1, months=1, today=TODAY)
    found = {RecordError(p.name, ref, rule) for p in summary.extract_files for ref, rule in read_extract(p).violations}
    assert found == set(summary.stories["record_errors"])
    assert {e.rule for e in found} == set(RECORD_RULES)
    assert {e.rule for e in summary.stories["manual_errors"]} == set(MANUAL_RULES)


# --------------------------------------------------------------------------- stories


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_midlothian_new_claims_deteriorate_over_the_last_four_months(full, chosen):
    story = full.stories["deterioration"]
    assert story["council"] == "S12000019" and story["periods"] == list(full.periods[-4:])
    months = series(chosen, "S12000019", full.periods)
    before = np.array([f.claims_avg for f in months[:-4]])
    last_four = np.array([f.claims_avg for f in months[-4:]])
    assert before.mean() < 23 and before.max() < 26
    assert last_four.mean() > before.mean() + 7
    assert last_four[-1] > 30 and last_four[-1] > before.mean() + 4 * before.std()  # beyond SPC limits


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_east_renfrewshire_change_days_drop_from_the_initiative_start(full, chosen):
    story = full.stories["initiative"]
    start = story["start"]
    shift = story["level_shift_days"]
    assert start == "2025-11" and shift == -3.0

    def drop(code: str) -> float:
        months = series(chosen, code, full.periods)
        pooled = lambda fs: sum(f.change_days for f in fs) / sum(f.changes for f in fs)  # noqa: E731
        return pooled([f for f in months if f.period >= start]) - pooled([f for f in months if f.period < start])

    assert drop("S12000011") == pytest.approx(shift, abs=0.8)
    others = [drop(c.code) for c in full.councils if c.code != "S12000011"]
    assert max(abs(d) for d in others) < 1.2
    assert drop("S12000011") - np.mean(others) == pytest.approx(shift, abs=0.8)


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_initiative_start_agrees_with_initiatives_yaml(full):
    raw = yaml.safe_load((PARAMETERS / "initiatives.yaml").read_text(encoding="utf-8"))
    entry = next(e for e in raw["initiatives"] if e["council"] == "S12000011")
    framework = yaml.safe_load((PARAMETERS / "framework.yaml").read_text(encoding="utf-8"))
    ids = {i["id"] for i in framework["indicators"]}
    for item in raw["initiatives"]:
        assert {"id", "council", "start", "indicators", "title", "description"} <= item.keys()
        assert P.is_period(item["start"]) and set(item["indicators"]) <= ids
    story = full.stories["initiative"]
    assert story["source"] == str(PARAMETERS / "initiatives.yaml")
    assert (story["id"], story["start"], story["title"]) == (entry["id"], entry["start"], entry["title"])
    assert story["indicators"] == entry["indicators"]


def test_initiative_start_follows_the_file_or_defaults(tmp_path, consortium):
    custom = tmp_path / "initiatives.yaml"
    custom.write_text(
        "initiatives:\n  - {id: x, council: S12000011, start: '2026-08', indicators: [changes_days], title: T}\n",
        encoding="utf-8",
    )
    moved = small(tmp_path / "moved", consortium, initiatives_file=custom)
    fallback = small(tmp_path / "fallback", consortium, initiatives_file=tmp_path / "absent.yaml")
    assert moved.stories["initiative"]["start"] == "2026-08"
    assert fallback.stories["initiative"]["start"] == "2025-11"  # 11 months before the end period
    er = [read_extract(p) for p in moved.extract_files if p.name.startswith("S12000011")]
    before = sum(f.change_days for f in er if f.period < "2026-08") / sum(f.changes for f in er if f.period < "2026-08")
    after = sum(f.change_days for f in er if f.period >= "2026-08") / sum(
        f.changes for f in er if f.period >= "2026-08"
    )
    assert after < before - 1.5


def _standardised(values: list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return (array - array.mean()) / array.std()


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_backlog_leads_processing_time_by_a_month(full, chosen):
    lead, lagged, same = [], [], []
    for council in full.councils:
        months = series(chosen, council.code, full.periods)
        woh = _standardised([f.woh_over_30 for f in months])
        days = _standardised([f.claims_avg for f in months])
        lead += list(woh[:-1])
        lagged += list(days[1:])
        same += list(days[:-1])
    next_month = np.corrcoef(lead, lagged)[0, 1]
    same_month = np.corrcoef(lead, same)[0, 1]
    assert next_month > 0.45
    assert next_month > same_month + 0.1
    assert set(full.stories["backlog"]["latent"]) == {c.code for c in full.councils}


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_resubmission_seq2_corrects_seq1(full, facts):
    story = full.stories["resubmission"]
    first, second = story["files"]
    assert (story["council"], story["period"]) == ("S12000042", P.shift(full.periods[-1], -2))
    one, two = full.out / "extracts" / "S12000042" / first, full.out / "extracts" / "S12000042" / second
    assert one.exists() and two.exists() and one.read_bytes() != two.read_bytes()
    assert (facts[first].sequence, facts[second].sequence) == (1, 2)
    assert facts[first].claims + facts[first].withdrawn == story["claims_seq1"]
    assert facts[second].claims + facts[second].withdrawn == story["claims_seq2"]
    assert story["claims_seq1"] < 0.9 * story["claims_seq2"]
    assert story["counts"] == second


# --------------------------------------------------------------------------- scale runs


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_27_councils_with_extra_councils_and_a_consortium_that_accepts_them(tmp_path, consortium):
    summary = write_demo_data(tmp_path / "out", consortium=consortium, councils=27, months=1, today=TODAY)
    codes = [c.code for c in summary.councils]
    assert len(codes) == len(set(codes)) == 27 and all(is_gss_code(c) for c in codes)
    assert sorted(p.name for p in (tmp_path / "out" / "extracts").iterdir()) == sorted(codes)
    extras = summary.extra_councils
    assert len(extras) == 17 and extras[0].code == "E06000001" and extras[0].name == "Hartlepool"
    assert {c.country for c in extras} == {"England", "Wales"} and all(c.approx_caseload for c in extras)
    assert not set(c.code for c in extras) & set(consortium.codes)
    folder = write_consortium_yaml(summary, tmp_path / "parameters", copy_from=PARAMETERS).parent
    enlarged = load_consortium(folder)
    assert enlarged.codes == consortium.codes + tuple(c.code for c in extras)
    assert (folder / "framework.yaml").exists() and (folder / "initiatives.yaml").exists()
    again = write_demo_data(tmp_path / "again", consortium=consortium, councils=27, months=1, today=TODAY, seed=1)
    assert again.extra_councils == extras  # the same invented councils whatever the seed


# --------------------------------------------------------------------------- the contract with ingestion


@pytest.mark.slow  # writes (and some ingest) the whole two-year demo: the demo warehouse end to end
def test_ingestion_accepts_every_file_and_reports_exactly_the_planted_errors(tmp_path, consortium):
    from perfcore import warehouse
    from perfcore.intake.ingest import ingest_paths, rejections

    summary = small(tmp_path / "demo", consortium)
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    try:
        results = list(ingest_paths([tmp_path / "demo"], con, consortium, today=TODAY))
        rejected = rejections(con)
    finally:
        con.close()
    assert {r.outcome for r in results} == {"accepted"} and len(results) == len(summary.files)
    xml = {(r["file"], r["ref"]) for r in rejected if r["file"].endswith(".xml")}
    csv = {(r["file"], r["line"]) for r in rejected if r["file"].endswith(".csv")}
    assert xml == {(e.file, e.ref) for e in summary.stories["record_errors"]}
    assert csv == {(e.file, e.line) for e in summary.stories["manual_errors"]}
    assert {r["level"] for r in rejected} == {"record"}
