"""Demo data: realistic HBPE 1.0 extracts and manual returns with planted stories.

``write_demo_data`` writes, under ``out``::

    extracts/<CODE>/<CODE>-<YYYY-MM>-seq<N>.xml   one HBPE 1.0 extract per council per month
    manual/<CODE>-<YYYY-MM>.csv                   the manual return: authority,period,measure,value

The figures follow ../shared/spec/indicators.md: caseloads of 5,000-30,000
claims drifting slowly down, about 2% of the caseload in new claims a month
taking 15-30 days on average, 10-15% in change events taking 3-12 days (lower
in January-April, with a mass of excluded ``uprating`` changes every April),
work on hand that is exactly the claims and changes received but not yet
decided at month end, about £60-100 a claim a week in benefit, LA-error
overpayments of 0.3-0.6% of expenditure, and recoveries of 60-85% of what is
identified.

Stories planted for analysis to find (``DemoSummary.stories``; a story whose
council is not in the run is ``None``):

``deterioration``
    Midlothian's new-claim times rise sharply over the last four months.
    Keys: council, name, indicator, periods, baseline_days, added_days
    (period -> days added to that month's mean).
``initiative``
    East Renfrewshire's change-event times fall by ``level_shift_days`` from
    the ``start`` of its initiative, read from ``parameters/initiatives.yaml``
    (or 11 months before the end period when the file has no entry for it).
    Keys: id, council, name, title, start, indicators, indicator,
    baseline_days, level_shift_days, slope_days_per_month, source.
``backlog``
    In every council a latent AR(1) backlog drives work on hand older than 30
    days at month end and the processing times of the following month.
    Keys: lead_indicator, lagging_indicators, lag_months, ar1_phi,
    log_days_per_sd, latent (code -> backlog per written month).
``resubmission``
    Dundee City resubmits the month two before the end: ``seq1`` misses the
    claims decided after the 24th, ``seq2`` has them all and is what counts.
    Keys: council, name, period, files, claims_seq1, claims_seq2, counts.
``record_errors`` / ``manual_errors``
    ``RecordError(file, ref, rule)`` and ``ManualError(file, line, measure,
    rule)`` lists: one or two deliberately bad records in a handful of files,
    together breaking every record-level rule of HBPE 1.0 (``RECORD_RULES``),
    and bad manual-return rows (``MANUAL_RULES``). For a Recovery or WriteOff
    the ref is its overpayment ref. Every file stays schema-valid, and no
    other record breaks a rule.

Everything is drawn from ``numpy.random.default_rng`` seeded by ``seed`` and
the council's code, so the same seed gives byte-identical files and adding
councils leaves the others' data unchanged (only where the planted errors go
depends on the councils' positions). ``Created`` is derived from the period,
never the clock.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, Sequence
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from perfcore import periods as P
from perfcore.intake.manual import MEASURES
from perfcore import settings
from perfcore.exceptions import ConfigError
from perfcore.config.parameters import Consortium, Council, parameters_dir

# The councils the stories are planted in (members of the default consortium).
DETERIORATION_COUNCIL = "S12000019"  # Midlothian
INITIATIVE_COUNCIL = "S12000011"  # East Renfrewshire
RESUBMISSION_COUNCIL = "S12000042"  # Dundee City

DETERIORATION_ADDED_DAYS = (4.0, 8.0, 12.0, 16.0)  # added to the mean, last four months
DETERIORATION_BASELINE_DAYS = 19.0
INITIATIVE_SHIFT_DAYS = -3.0
INITIATIVE_BASELINE_CHANGE_DAYS = 9.5
INITIATIVE_FALLBACK_MONTHS_BEFORE_END = 11  # so 12 months are "on" the initiative
BACKLOG_PHI = 0.55  # AR(1) persistence of the latent backlog
BACKLOG_EFFECT_CLAIMS = 0.15  # log-change of mean new-claim days per SD of backlog
BACKLOG_EFFECT_CHANGES = 0.08
RESUBMISSION_MONTHS_BEFORE_END = 2
RESUBMISSION_SEQ1_LAST_DAY = 24  # seq1 was extracted before later decisions were posted

RECORD_RULES: dict[str, str] = {
    "claim_received_after_decided": "Claim: received after decided",
    "claim_info_complete_before_received": "Claim: infoComplete before received",
    "claim_info_complete_after_decided": "Claim: infoComplete after decided",
    "claim_decided_outside_period": "Claim: decided outside Period",
    "change_notified_after_actioned": "Change: notified after actioned",
    "change_actioned_outside_period": "Change: actioned outside Period",
    "item_received_after_period": "Item: received after the last day of Period",
    "overpayment_identified_outside_period": "Overpayment: identified outside Period",
    "recovery_date_outside_period": "Recovery: date outside Period",
    "writeoff_date_outside_period": "WriteOff: date outside Period",
    "duplicate_ref": "a ref already used by an earlier record of the same section in the same file",
}
MANUAL_RULES: dict[str, str] = {
    "manual_calls_answered_exceeds_offered": "calls_answered > calls_offered for the same council and month",
    "manual_negative_value": "values are non-negative numbers",
}
# Rules planted together in one file; each group goes to a different council and month.
_ERROR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("claim_received_after_decided", "claim_info_complete_before_received"),
    ("claim_info_complete_after_decided", "claim_decided_outside_period"),
    ("change_notified_after_actioned", "change_actioned_outside_period"),
    ("item_received_after_period",),
    ("overpayment_identified_outside_period", "recovery_date_outside_period"),
    ("writeoff_date_outside_period", "duplicate_ref"),
)

MANUAL_MEASURES = MEASURES  # the manual return's measures, in the order written
OUTCOMES = ("awarded", "refused", "withdrawn")
TENURES = ("social", "private", "supported", "temporary")
CHANGE_TYPES = ("income", "household", "address", "rent", "capital", "other", "uprating", "revision")
CAUSES = ("la-error", "admin-delay", "claimant-error", "dwp-error", "technical", "other")
_UPRATING = CHANGE_TYPES.index("uprating")
_REVISION = CHANGE_TYPES.index("revision")
_SUPPLIER_VERSIONS = {"Northgate": "6.2", "Capita": "4.1", "Civica": "2.3"}
_EXTRA_SYSTEMS = (("Northgate", "iWorld"), ("Capita", "Academy"), ("Civica", "OpenRevenues"))

WARMUP_MONTHS = 12  # overpayments before the first month, so early recoveries have something to recover
LOOKAHEAD_MONTHS = 6  # claims decided after the end, so the last months have work on hand
MAX_CLAIM_DAYS = 150  # below LOOKAHEAD_MONTHS of days, so work on hand is complete
MAX_CHANGE_DAYS = 120


class RecordError(NamedTuple):
    """A planted bad record: the file, the record's ref (a payment's overpayment ref), the rule id."""

    file: str
    ref: str
    rule: str


class ManualError(NamedTuple):
    """A planted bad manual-return row: the file, its line number (header is line 1), measure, rule id."""

    file: str
    line: int
    measure: str
    rule: str


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo_data`` wrote and planted."""

    out: Path
    seed: int
    consortium: Consortium
    councils: tuple[Council, ...]  # the councils with data, extras included
    extra_councils: tuple[Council, ...]  # invented councils that are not consortium members
    periods: tuple[str, ...]
    extract_files: tuple[Path, ...]
    manual_files: tuple[Path, ...]
    stories: dict[str, Any] = field(compare=False)

    @property
    def files(self) -> tuple[Path, ...]:
        return self.extract_files + self.manual_files

    @property
    def enlarged_consortium(self) -> Consortium:
        """The consortium with the invented councils added, so ingestion accepts their files."""
        return Consortium(
            name=self.consortium.name,
            short_name=self.consortium.short_name,
            members=self.consortium.members + self.extra_councils,
        )


def write_demo_data(
    out: Path,
    *,
    consortium: Consortium,
    seed: int = 2026,
    councils: int | None = None,
    months: int = 24,
    end_period: str | None = None,
    today: date | None = None,
    initiatives_file: Path | None = None,
) -> DemoSummary:
    """Write demo extracts and manual returns under ``out`` and say what was planted.

    ``councils`` takes the first N members; more than the consortium has
    invents "Demo Council N" councils (codes E06000001 upward), returned in
    ``extra_councils``: write a parameters folder that accepts them with
    ``write_consortium_yaml``. ``end_period`` defaults to the last complete
    month before ``today`` (``settings.today()``). The initiative's start is
    read from ``initiatives_file`` (default ``parameters/initiatives.yaml``).
    Files already under ``out`` with the same names are overwritten.
    """
    plan = _plan(out, consortium, seed, councils, months, end_period, today, initiatives_file)
    results = {council.code: _write_council(council, plan) for council in plan.councils}
    return DemoSummary(
        out=Path(out),
        seed=seed,
        consortium=consortium,
        councils=plan.councils,
        extra_councils=plan.extra_councils,
        periods=plan.calendar.written_periods,
        extract_files=tuple(path for result in results.values() for path in result.extracts),
        manual_files=tuple(path for result in results.values() for path in result.manuals),
        stories=_stories(plan, results),
    )


def write_consortium_yaml(summary: DemoSummary, folder: Path, *, copy_from: Path | None = None) -> Path:
    """Write ``folder/consortium.yaml`` with the members and the invented councils.

    A scale run (``councils=27``) points ingestion at this folder. With
    ``copy_from`` (a parameters folder) the other ``*.yaml`` files there
    (framework, initiatives, ...) are copied beside it, making a complete folder.
    """
    import yaml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if copy_from is not None:
        for source in sorted(Path(copy_from).glob("*.yaml")):
            if source.name != "consortium.yaml":
                shutil.copyfile(source, folder / source.name)
    enlarged = summary.enlarged_consortium
    members = [{k: v for k, v in asdict(c).items() if v is not None} for c in enlarged.members]
    document = {"name": enlarged.name, "short_name": enlarged.short_name, "members": members}
    path = folder / "consortium.yaml"
    header = "# Written by perfcore.demo.write_consortium_yaml: the consortium plus invented demo councils.\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Calendar:
    """Simulated months: WARMUP before the written ones, LOOKAHEAD after them."""

    periods: tuple[str, ...]
    first_written: int
    written: int
    base: int  # ordinal of iso[0]
    iso: tuple[str, ...]  # ISO text of each day, indexed by ordinal - base
    first: np.ndarray  # ordinal of each month's first day
    last: np.ndarray
    workdays: tuple[np.ndarray, ...]  # ordinals of each month's Monday-Friday days

    @property
    def written_periods(self) -> tuple[str, ...]:
        return self.periods[self.first_written : self.first_written + self.written]

    @property
    def written_range(self) -> range:
        return range(self.first_written, self.first_written + self.written)

    @property
    def simulated_range(self) -> range:
        """Months whose claims and changes are drawn: written months and the lookahead."""
        return range(self.first_written, len(self.periods))

    def text(self, ordinal: int) -> str:
        return self.iso[ordinal - self.base]


@dataclass(frozen=True)
class _Initiative:
    id: str
    council: str
    start: str
    indicators: tuple[str, ...]
    title: str
    source: str


@dataclass(frozen=True)
class _Plan:
    out: Path
    seed: int
    councils: tuple[Council, ...]
    extra_councils: tuple[Council, ...]
    calendar: _Calendar
    initiative: _Initiative
    resubmission: tuple[str, str] | None  # (code, period) submitted twice
    error_sites: dict[tuple[str, str], tuple[str, ...]]  # (code, period) -> record rules planted there
    manual_error_sites: dict[tuple[str, str], tuple[str, ...]]  # (code, period) -> manual rules

    def council(self, code: str) -> Council | None:
        return next((c for c in self.councils if c.code == code), None)


def _plan(
    out: Path,
    consortium: Consortium,
    seed: int,
    councils: int | None,
    months: int,
    end_period: str | None,
    today: date | None,
    initiatives_file: Path | None,
) -> _Plan:
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative whole number, not {seed!r}")
    if not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a positive whole number, not {months!r}")
    if councils is not None and (not isinstance(councils, int) or councils < 1):
        raise ConfigError(f"councils must be a positive whole number, not {councils!r}")
    latest = P.last_complete(today or settings.today())
    end = end_period or latest
    if not P.is_period(end):
        raise ConfigError(f"end period {end!r} is not a month (YYYY-MM)")
    if end > latest:
        raise ConfigError(f"end period {end} has not ended yet (the last complete month is {latest})")
    chosen, extras = _choose_councils(consortium, councils)
    calendar = _calendar(end, months)
    written = calendar.written_periods
    codes = tuple(c.code for c in chosen)
    resubmission = None
    if RESUBMISSION_COUNCIL in codes and len(written) > RESUBMISSION_MONTHS_BEFORE_END:
        resubmission = (RESUBMISSION_COUNCIL, written[-1 - RESUBMISSION_MONTHS_BEFORE_END])
    return _Plan(
        out=Path(out),
        seed=seed,
        councils=chosen,
        extra_councils=extras,
        calendar=calendar,
        initiative=_initiative(initiatives_file or parameters_dir() / "initiatives.yaml", end),
        resubmission=resubmission,
        # Away from the resubmission, so which submission holds an error is never in doubt.
        error_sites=_spread(_ERROR_GROUPS, codes, written, first_council=1, first_month=1, avoid=resubmission),
        manual_error_sites=_spread(tuple((r,) for r in MANUAL_RULES), codes, written, first_council=2, first_month=3),
    )


def _choose_councils(consortium: Consortium, wanted: int | None) -> tuple[tuple[Council, ...], tuple[Council, ...]]:
    members = consortium.members
    if wanted is None or wanted <= len(members):
        return members[: wanted or len(members)], ()
    extras = _invent_councils(wanted - len(members), taken=set(consortium.codes), numbered_from=len(members) + 1)
    return members + extras, extras


def _invent_councils(count: int, *, taken: set[str], numbered_from: int) -> tuple[Council, ...]:
    """Extra councils for scale runs: the same ones whatever the seed, so parameter folders stay stable."""
    invented: list[Council] = []
    candidate = 0
    while len(invented) < count:
        candidate += 1
        code = f"E06{candidate:06d}"
        if code in taken:
            continue
        number = numbered_from + len(invented)
        supplier, system = _EXTRA_SYSTEMS[number % len(_EXTRA_SYSTEMS)]
        caseload = int(np.random.default_rng(_key(0, code)).integers(5_000, 30_001))
        invented.append(
            Council(
                code=code,
                name=f"Demo Council {number}",
                supplier=supplier,
                system=system,
                updater=f"hb-returns@demo-council-{number}.example.org",
                approx_caseload=caseload,
            )
        )
    return tuple(invented)


def _calendar(end: str, months: int) -> _Calendar:
    first_written = P.shift(end, -(months - 1))
    all_periods = tuple(P.span(P.shift(first_written, -WARMUP_MONTHS), P.shift(end, LOOKAHEAD_MONTHS)))
    first = np.array([P.first_day(p).toordinal() for p in all_periods], dtype=np.int64)
    last = np.array([P.last_day(p).toordinal() for p in all_periods], dtype=np.int64)
    # Margin before the first month: claims decided there can have been received months earlier.
    base = int(first[0]) - 400
    iso = tuple(date.fromordinal(o).isoformat() for o in range(base, int(last[-1]) + 60))
    workdays = tuple(
        np.array([o for o in range(f, l + 1) if date.fromordinal(o).weekday() < 5], dtype=np.int64)
        for f, l in zip(first.tolist(), last.tolist())
    )
    return _Calendar(all_periods, WARMUP_MONTHS, months, base, iso, first, last, workdays)


def _initiative(path: Path, end: str) -> _Initiative:
    from perfcore.config.initiatives import initiatives_from_file

    for entry in initiatives_from_file(path):
        if entry.council == INITIATIVE_COUNCIL:
            return _Initiative(
                id=entry.id,
                council=INITIATIVE_COUNCIL,
                start=entry.start,
                indicators=tuple(entry.indicators),
                title=entry.title,
                source=str(path),
            )
    return _Initiative(
        id="east-renfrewshire-automated-coc",
        council=INITIATIVE_COUNCIL,
        start=P.shift(end, -INITIATIVE_FALLBACK_MONTHS_BEFORE_END),
        indicators=("changes_days", "rti_days"),
        title="Automated change-of-circumstance processing",
        source="default",
    )


def _spread(
    groups: Sequence[tuple[str, ...]],
    codes: Sequence[str],
    written: Sequence[str],
    *,
    first_council: int,
    first_month: int,
    avoid: tuple[str, str] | None = None,
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Give each group of rules its own council and month (sharing a file only when there are too few)."""
    sites: dict[tuple[str, str], tuple[str, ...]] = {}
    for number, rules in enumerate(groups):
        code = codes[(first_council + number) % len(codes)]
        month = len(written) - 1 - (first_month + 2 * number) % len(written)
        if (code, written[month]) == avoid:
            month = (month + 1) % len(written)
        site = (code, written[month])
        sites[site] = sites.get(site, ()) + rules
    return sites


def _key(seed: int, code: str) -> np.random.SeedSequence:
    """Seed material from the run's seed and the council's code, so councils are independent."""
    return np.random.SeedSequence([seed, *code.encode("ascii")])


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class _Profile:
    """A council's character: drawn once from its own stream."""

    caseload: int
    claim_rate: float
    change_rate: float
    claim_days: float
    change_days: float
    weekly_award: float
    la_error_pct: float
    other_overpaid_pct: float
    recovery_rate: float
    accuracy: float
    calls_per_case: float
    answered_rate: float
    cost_per_case: float
    cases_per_fte: float


@dataclass(frozen=True)
class _Events:
    """Claims or changes, one row per event, sorted by month then decision date."""

    month: np.ndarray
    ref: np.ndarray
    received: np.ndarray  # received (claims) or notified (changes)
    decided: np.ndarray  # decided (claims) or actioned (changes)
    middle: np.ndarray  # infoComplete (claims) or effective (changes); -1 where absent
    kind: np.ndarray  # outcome index (claims) or type index (changes)
    extra: np.ndarray  # tenure index, -1 where absent (claims) or HB claim number (changes)

    def rows(self, month: int) -> slice:
        start, stop = np.searchsorted(self.month, [month, month + 1])
        return slice(int(start), int(stop))


@dataclass(frozen=True)
class _Money:
    expenditure: np.ndarray  # per simulated month
    op_month: np.ndarray
    op_ref: np.ndarray
    op_claim: np.ndarray
    op_date: np.ndarray
    op_amount: np.ndarray
    op_cause: np.ndarray
    recoveries: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # month, op index, date, amount
    writeoffs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _CouncilData:
    profile: _Profile
    backlog: np.ndarray  # latent backlog z per simulated month (standard normal margins)
    caseload: np.ndarray
    claims: _Events
    changes: _Events
    money: _Money
    manual: dict[str, tuple[float, ...]]  # measure -> value per written month


def _simulate_council(council: Council, plan: _Plan) -> _CouncilData:
    # One child stream per concern, so e.g. more claims do not shift the money draws.
    streams = _key(plan.seed, council.code).spawn(7)
    rng = [np.random.default_rng(s) for s in streams]
    profile = _draw_profile(council, rng[0])
    calendar = plan.calendar
    backlog = _draw_backlog(len(calendar.periods), rng[1])
    caseload = _draw_caseload(profile, calendar, rng[2])
    claims = _draw_claims(profile, caseload, _claim_means(council, profile, backlog, plan), calendar, rng[3])
    changes = _draw_changes(profile, caseload, _change_means(council, profile, backlog, plan), calendar, rng[4])
    money = _draw_money(profile, caseload, calendar, rng[5])
    manual = _draw_manual(profile, caseload, backlog, calendar, rng[6])
    return _CouncilData(profile, backlog, caseload, claims, changes, money, manual)


def _draw_profile(council: Council, rng: np.random.Generator) -> _Profile:
    caseload = council.approx_caseload or int(rng.integers(5_000, 30_001))
    claim_days = float(rng.uniform(15.5, 22.0))
    change_days = float(rng.uniform(5.0, 10.0))
    if council.code == DETERIORATION_COUNCIL:
        claim_days = DETERIORATION_BASELINE_DAYS
    if council.code == INITIATIVE_COUNCIL:
        change_days = INITIATIVE_BASELINE_CHANGE_DAYS  # room to fall by the planted amount
    return _Profile(
        caseload=caseload,
        claim_rate=float(rng.uniform(0.019, 0.026)),
        change_rate=float(rng.uniform(0.10, 0.15)),
        claim_days=claim_days,
        change_days=change_days,
        weekly_award=float(rng.uniform(60.0, 100.0)),
        # LA-error share straddles the 0.48/0.54 subsidy thresholds across councils.
        la_error_pct=float(rng.uniform(0.30, 0.62)),
        other_overpaid_pct=float(rng.uniform(2.0, 3.5)),
        recovery_rate=float(rng.uniform(0.62, 0.85)),
        accuracy=float(rng.uniform(0.955, 0.99)),
        calls_per_case=float(rng.uniform(0.25, 0.40)),
        answered_rate=float(rng.uniform(0.85, 0.95)),
        cost_per_case=float(rng.uniform(12.0, 20.0)),
        cases_per_fte=float(rng.uniform(380.0, 480.0)),
    )


def _draw_backlog(months: int, rng: np.random.Generator) -> np.ndarray:
    """AR(1) with unit variance: a backlog builds up and clears over a few months."""
    shocks = rng.normal(0.0, math.sqrt(1.0 - BACKLOG_PHI**2), months)
    z = np.empty(months)
    z[0] = rng.normal()
    for month in range(1, months):
        z[month] = BACKLOG_PHI * z[month - 1] + shocks[month]
    return z


def _draw_caseload(profile: _Profile, calendar: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """A slow random walk drifting down (migration to Universal Credit), at the profile size at the end."""
    steps = rng.normal(-0.0025, 0.004, len(calendar.periods))
    walk = np.exp(np.cumsum(steps))
    end = calendar.first_written + calendar.written - 1
    return np.rint(profile.caseload * walk / walk[end]).astype(np.int64)


def _lagged_backlog_factor(backlog: np.ndarray, effect: float) -> np.ndarray:
    """Month t's mean-days factor from the backlog at the end of month t-1 (mean 1)."""
    previous = np.concatenate([[0.0], backlog[:-1]])
    return np.exp(effect * previous - effect**2 / 2)


def _claim_means(council: Council, profile: _Profile, backlog: np.ndarray, plan: _Plan) -> np.ndarray:
    means = profile.claim_days * _lagged_backlog_factor(backlog, BACKLOG_EFFECT_CLAIMS)
    if council.code == DETERIORATION_COUNCIL:
        last = plan.calendar.first_written + plan.calendar.written - 1
        ramp = DETERIORATION_ADDED_DAYS
        for step, added in enumerate(ramp):
            means[last - len(ramp) + 1 + step] += added
        means[last + 1 :] += ramp[-1]  # the lookahead stays bad: work on hand at the end shows it
    return means


_CHANGE_SEASON = {1: 0.9, 2: 0.88, 3: 0.82, 4: 0.7}  # Q4 and April are quick (GB SoP figures)


def _change_means(council: Council, profile: _Profile, backlog: np.ndarray, plan: _Plan) -> np.ndarray:
    season = np.array([_CHANGE_SEASON.get(P.parse(p)[1], 1.0) for p in plan.calendar.periods])
    means = profile.change_days * season * _lagged_backlog_factor(backlog, BACKLOG_EFFECT_CHANGES)
    if council.code == INITIATIVE_COUNCIL:
        on = np.array([p >= plan.initiative.start for p in plan.calendar.periods])
        means = means + np.where(on, INITIATIVE_SHIFT_DAYS, 0.0)
    return np.maximum(means, 1.5)


def _days(rng: np.random.Generator, mean: float, sigma: float, size: int, cap: int) -> np.ndarray:
    """Inclusive day counts >= 1 with the given mean: 1 + a rounded lognormal."""
    excess = max(mean - 1.0, 0.05)
    draws = rng.lognormal(math.log(excess) - sigma**2 / 2, sigma, size)
    return np.clip(1 + np.rint(draws).astype(np.int64), 1, cap)


def _draw_claims(
    profile: _Profile, caseload: np.ndarray, means: np.ndarray, calendar: _Calendar, rng: np.random.Generator
) -> _Events:
    parts = []
    for month in calendar.simulated_range:
        count = int(rng.poisson(caseload[month] * profile.claim_rate))
        decided = np.sort(rng.choice(calendar.workdays[month], count))
        days = _days(rng, float(means[month]), 0.55, count, MAX_CLAIM_DAYS)
        received = decided - days + 1
        # Most claims record when the evidence was complete; the decision follows within days.
        has_info = rng.random(count) < 0.7
        wait = np.minimum(_days(rng, 4.0, 0.8, count, MAX_CLAIM_DAYS) - 1, days - 1)
        info = np.where(has_info, decided - wait, -1)
        outcome = rng.choice(3, count, p=[0.82, 0.15, 0.03])
        tenure = rng.choice(5, count, p=[0.52, 0.30, 0.08, 0.07, 0.03])
        tenure = np.where(tenure == 4, -1, tenure)  # some systems leave tenure out
        parts.append((np.full(count, month), received, decided, info, outcome, tenure))
    return _events(parts, first_ref=int(rng.integers(100_000, 400_000)))


def _draw_changes(
    profile: _Profile, caseload: np.ndarray, means: np.ndarray, calendar: _Calendar, rng: np.random.Generator
) -> _Events:
    parts = []
    types_p = [0.38, 0.15, 0.10, 0.20, 0.05, 0.10, 0.0, 0.02]
    for month in calendar.simulated_range:
        count = int(rng.poisson(caseload[month] * profile.change_rate))
        actioned = np.sort(rng.choice(calendar.workdays[month], count))
        kind = rng.choice(len(CHANGE_TYPES), count, p=types_p)
        days = _days(rng, float(means[month]), 0.9, count, MAX_CHANGE_DAYS)
        days = np.where(kind == _REVISION, _days(rng, 15.0, 0.8, count, MAX_CHANGE_DAYS), days)
        notified, effective = _change_dates(rng, actioned, days)
        claim = rng.integers(1, 2 * profile.caseload, count)
        parts.append((np.full(count, month), notified, actioned, effective, kind, claim))
        if P.parse(calendar.periods[month])[1] == 4:
            parts.append(_uprating(rng, month, caseload[month], profile.caseload, calendar))
    return _events(parts, first_ref=int(rng.integers(1_000_000, 4_000_000)), sort=True)


def _change_dates(rng: np.random.Generator, actioned: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Notified and effective dates: ~8% advance notifications, whose clock starts on the effective date."""
    count = len(actioned)
    start = actioned - days + 1
    advance = rng.random(count) < 0.08
    early = advance & (rng.random(count) < 0.25)  # actioned before it takes effect: counts 1 day
    lead = rng.integers(1, 22, count)
    notified = np.where(advance, start - lead, start)
    effective = np.where(advance, start, -1)
    notified = np.where(early, actioned - rng.integers(0, 11, count), notified)
    effective = np.where(early, actioned + rng.integers(0, 15, count), effective)
    return notified, effective


def _uprating(
    rng: np.random.Generator, month: int, caseload: int, size: int, calendar: _Calendar
) -> tuple[np.ndarray, ...]:
    """April's mass up-rating: system changes actioned in the first days, excluded from the indicator."""
    count = int(caseload * rng.uniform(0.22, 0.28))
    first = int(calendar.first[month])
    actioned = np.sort(rng.choice(calendar.workdays[month][:4], count))
    return (
        np.full(count, month),
        np.full(count, first),
        actioned,
        np.full(count, first),
        np.full(count, _UPRATING),
        rng.integers(1, 2 * size, count),
    )


def _events(parts: list[tuple[np.ndarray, ...]], *, first_ref: int, sort: bool = False) -> _Events:
    month, received, decided, middle, kind, extra = (np.concatenate(column) for column in zip(*parts))
    if sort:  # merged parts: order by month, then decision date
        order = np.lexsort((decided, month))
        month, received, decided, middle, kind, extra = (
            a[order] for a in (month, received, decided, middle, kind, extra)
        )
    ref = first_ref + np.arange(len(month))
    return _Events(month, ref, received, decided, middle, kind, extra)


def _draw_money(profile: _Profile, caseload: np.ndarray, calendar: _Calendar, rng: np.random.Generator) -> _Money:
    months = len(calendar.periods)
    aprils = np.cumsum([P.parse(p)[1] == 4 for p in calendar.periods])
    weekly = profile.weekly_award * 1.03**aprils  # awards rise with each April up-rating
    expenditure = np.round(caseload * weekly * 52 / 12 * rng.normal(1.0, 0.01, months), 2)
    ops = [_draw_overpayments(profile, month, float(expenditure[month]), calendar, rng) for month in range(months)]
    op_month, op_date, op_amount, op_cause = (np.concatenate(column) for column in zip(*ops))
    op_ref = int(rng.integers(100_000, 400_000)) + np.arange(len(op_month))
    op_claim = rng.integers(1, 2 * profile.caseload, len(op_month))
    recoveries, writeoffs = _draw_repayments(profile, op_month, op_date, op_amount, calendar, rng)
    return _Money(expenditure, op_month, op_ref, op_claim, op_date, op_amount, op_cause, recoveries, writeoffs)


def _draw_overpayments(
    profile: _Profile, month: int, expenditure: float, calendar: _Calendar, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    la_count = int(rng.poisson(expenditure * profile.la_error_pct / 100 / 600.0))
    other_count = int(rng.poisson(expenditure * profile.other_overpaid_pct / 100 / 900.0))
    la_cause = rng.choice([0, 1], la_count, p=[0.6, 0.4])
    other_cause = rng.choice([2, 3, 4, 5], other_count, p=[0.7, 0.1, 0.08, 0.12])
    amount = np.concatenate([_amounts(rng, 600.0, la_count), _amounts(rng, 900.0, other_count)])
    count = la_count + other_count
    identified = rng.choice(calendar.workdays[month], count)
    order = np.argsort(identified, kind="stable")
    cause = np.concatenate([la_cause, other_cause])
    return np.full(count, month), identified[order], amount[order], cause[order]


def _amounts(rng: np.random.Generator, mean: float, size: int) -> np.ndarray:
    return np.maximum(np.round(rng.lognormal(math.log(mean) - 0.5, 1.0, size), 2), 5.0)


def _draw_repayments(
    profile: _Profile,
    op_month: np.ndarray,
    op_date: np.ndarray,
    op_amount: np.ndarray,
    calendar: _Calendar,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Instalments from the month identified (at most one a month per overpayment), and some write-offs."""
    count = len(op_month)
    share = np.clip(rng.normal(profile.recovery_rate, 0.25, count), 0.0, 1.0)
    instalments = 1 + np.minimum(rng.poisson(2.5, count), 11)
    start = op_month + rng.choice(3, count, p=[0.3, 0.5, 0.2])
    each = np.floor(op_amount * share / instalments * 100) / 100
    index = np.repeat(np.arange(count), instalments)
    step = np.arange(len(index)) - np.repeat(np.cumsum(instalments) - instalments, instalments)
    recoveries = _payments(index, start[index] + step, each[index], op_month, op_date, calendar, rng)
    remainder = np.round(op_amount - each * instalments, 2)
    # Some unrecovered balances are written off (not rounding pennies).
    written_off = np.flatnonzero((rng.random(count) < 0.08) & (remainder >= 1.0))
    remainder = remainder[written_off]
    when = start[written_off] + instalments[written_off] + rng.integers(0, 4, len(written_off))
    writeoffs = _payments(written_off, when, remainder, op_month, op_date, calendar, rng)
    return recoveries, writeoffs


def _payments(
    index: np.ndarray,
    month: np.ndarray,
    amount: np.ndarray,
    op_month: np.ndarray,
    op_date: np.ndarray,
    calendar: _Calendar,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Dated payments within their month, never before the overpayment was identified."""
    keep = (amount >= 0.01) & (month < len(calendar.periods))
    index, month, amount = index[keep], month[keep], amount[keep]
    first, last = calendar.first[month], calendar.last[month]
    earliest = np.where(month == op_month[index], op_date[index], first)
    day = earliest + np.floor(rng.random(len(month)) * (last - earliest + 1)).astype(np.int64)
    order = np.lexsort((day, month))
    return month[order], index[order], day[order], amount[order]


def _draw_manual(
    profile: _Profile, caseload: np.ndarray, backlog: np.ndarray, calendar: _Calendar, rng: np.random.Generator
) -> dict[str, tuple[float, ...]]:
    months = list(calendar.written_range)
    size = caseload[months].astype(float)
    pressure = backlog[months]  # a backlog brings more calls and fewer answered
    checked = rng.integers(80, 151, len(months))
    correct = np.maximum(rng.binomial(checked, profile.accuracy), np.ceil(0.94 * checked)).astype(int)
    offered = np.rint(size * profile.calls_per_case * (1 + 0.08 * pressure) * rng.normal(1, 0.03, len(months)))
    answered_rate = np.clip(profile.answered_rate - 0.03 * pressure + rng.normal(0, 0.012, len(months)), 0.80, 0.97)
    return {
        "accuracy_cases_checked": tuple(checked.tolist()),
        "accuracy_cases_correct": tuple(correct.tolist()),
        "admin_cost_gbp": tuple(np.rint(size * profile.cost_per_case * rng.normal(1, 0.02, len(months))).tolist()),
        "staff_fte": tuple(np.round(size / profile.cases_per_fte + rng.normal(0, 0.3, len(months)), 1).tolist()),
        "calls_offered": tuple(offered.tolist()),
        "calls_answered": tuple(np.rint(offered * answered_rate).tolist()),
    }


# --------------------------------------------------------------------------- XML


@dataclass
class _Sections:
    """One extract's record lines, per section, before they are joined (mutable: errors are planted in it)."""

    claims: list[str]
    changes: list[str]
    items: list[str]
    overpayments: list[str]
    recoveries: list[str]
    writeoffs: list[str]


def _columns(events: _Events, rows: slice) -> zip:
    """Plain Python values row by row: formatting them is much faster than formatting numpy scalars."""
    columns = (events.ref, events.received, events.decided, events.middle, events.kind, events.extra)
    return zip(*(column[rows].tolist() for column in columns))


def _claim_lines(claims: _Events, rows: slice, calendar: _Calendar) -> list[str]:
    text = calendar.text
    lines = []
    for ref, received, decided, info, outcome, tenure in _columns(claims, rows):
        info_attr = f' infoComplete="{text(info)}"' if info >= 0 else ""
        tenure_attr = f' tenure="{TENURES[tenure]}"' if tenure >= 0 else ""
        lines.append(
            f'    <Claim ref="NC{ref:06d}" received="{text(received)}"{info_attr}'
            f' decided="{text(decided)}" outcome="{OUTCOMES[outcome]}"{tenure_attr}/>'
        )
    return lines


def _change_lines(changes: _Events, rows: slice, calendar: _Calendar) -> list[str]:
    text = calendar.text
    lines = []
    for ref, notified, actioned, effective, kind, claim in _columns(changes, rows):
        effective_attr = f' effective="{text(effective)}"' if effective >= 0 else ""
        lines.append(
            f'    <Change ref="CE{ref:07d}" claim="HB{claim:06d}" type="{CHANGE_TYPES[kind]}"'
            f' notified="{text(notified)}"{effective_attr} actioned="{text(actioned)}"/>'
        )
    return lines


def _item_lines(data: _CouncilData, month: int, calendar: _Calendar) -> list[str]:
    """Work on hand is exactly what was received by month end and decided after it."""
    last = int(calendar.last[month])
    items: list[tuple[int, str, str]] = []
    for events, kind, ref_format in (
        (data.claims, "new-claim", "NC{:06d}"),
        (data.changes, "change", "CE{:07d}"),
    ):
        pending = (events.received <= last) & (events.decided > last)
        if events is data.changes:
            pending &= events.kind != _UPRATING
        for ref, received in zip(events.ref[pending].tolist(), events.received[pending].tolist()):
            items.append((received, kind, ref_format.format(ref)))
    items.sort()
    text = calendar.text
    return [f'    <Item ref="{ref}" kind="{kind}" received="{text(received)}"/>' for received, kind, ref in items]


def _overpayment_lines(money: _Money, month: int, calendar: _Calendar) -> list[str]:
    text = calendar.text
    rows = np.flatnonzero(money.op_month == month)
    return [
        f'    <Overpayment ref="OP{ref:06d}" claim="HB{claim:06d}" identified="{text(day)}"'
        f' amount="{amount:.2f}" cause="{CAUSES[cause]}"/>'
        for ref, claim, day, amount, cause in zip(
            money.op_ref[rows].tolist(),
            money.op_claim[rows].tolist(),
            money.op_date[rows].tolist(),
            money.op_amount[rows].tolist(),
            money.op_cause[rows].tolist(),
        )
    ]


def _payment_lines(
    tag: str, payments: tuple[np.ndarray, ...], money: _Money, month: int, calendar: _Calendar
) -> list[str]:
    months, index, day, amount = payments
    rows = np.flatnonzero(months == month)
    return [
        f'    <{tag} overpayment="OP{ref:06d}" date="{calendar.text(d)}" amount="{a:.2f}"/>'
        for ref, d, a in zip(money.op_ref[index[rows]].tolist(), day[rows].tolist(), amount[rows].tolist())
    ]


def _sections(data: _CouncilData, month: int, calendar: _Calendar) -> _Sections:
    money = data.money
    return _Sections(
        claims=_claim_lines(data.claims, data.claims.rows(month), calendar),
        changes=_change_lines(data.changes, data.changes.rows(month), calendar),
        items=_item_lines(data, month, calendar),
        overpayments=_overpayment_lines(money, month, calendar),
        recoveries=_payment_lines("Recovery", money.recoveries, money, month, calendar),
        writeoffs=_payment_lines("WriteOff", money.writeoffs, money, month, calendar),
    )


def _document(
    council: Council, period: str, sequence: int, created: str, sections: _Sections, caseload: int, expenditure: float
) -> str:
    version = _SUPPLIER_VERSIONS.get(council.supplier)
    version_attr = f" version={quoteattr(version)}" if version else ""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Extract xmlns="urn:perfcore:hbpe:1" version="1.0">',
        "  <Header>",
        f"    <Authority code={quoteattr(council.code)}>{escape(council.name)}</Authority>",
        f"    <Period>{period}</Period>",
        f"    <Source supplier={quoteattr(council.supplier)} system={quoteattr(council.system)}{version_attr}/>",
        f"    <Created>{created}</Created>",
        f"    <Sequence>{sequence}</Sequence>",
        "  </Header>",
        *_section("NewClaims", sections.claims),
        *_section("ChangeEvents", sections.changes),
        *_section("WorkOnHand", sections.items),
        f'  <Caseload claims="{caseload}"/>',
        f'  <Expenditure amount="{expenditure:.2f}"/>',
        *_section("Overpayments", sections.overpayments),
        *_section("Recoveries", sections.recoveries),
        *_section("WriteOffs", sections.writeoffs),
        "</Extract>",
        "",
    ]
    return "\n".join(parts)


def _section(tag: str, lines: list[str]) -> list[str]:
    return [f"  <{tag}>", *lines, f"  </{tag}>"] if lines else [f"  <{tag}/>"]


def _created(period: str, day: int = 1) -> str:
    """Extracts run overnight early in the next month: derived from the period, not the clock."""
    following = P.first_day(P.shift(period, 1))
    return f"{following.replace(day=day).isoformat()}T02:00:00Z"


def extract_name(code: str, period: str, sequence: int) -> str:
    return f"{code}-{period}-seq{sequence}.xml"


@dataclass(frozen=True)
class _CouncilOutput:
    """What was written for one council, and what was planted in it."""

    extracts: tuple[Path, ...]
    manuals: tuple[Path, ...]
    record_errors: tuple[RecordError, ...]
    manual_errors: tuple[ManualError, ...]
    resubmission: dict[str, Any] | None
    backlog: tuple[float, ...]  # latent backlog per written month


def _write_council(council: Council, plan: _Plan) -> _CouncilOutput:
    data = _simulate_council(council, plan)
    extracts, record_errors, resubmission = _write_extracts(council, data, plan)
    manuals, manual_errors = _write_manual(council, data, plan)
    backlog = tuple(round(float(data.backlog[m]), 3) for m in plan.calendar.written_range)
    return _CouncilOutput(extracts, manuals, record_errors, manual_errors, resubmission, backlog)


def _write_extracts(
    council: Council, data: _CouncilData, plan: _Plan
) -> tuple[tuple[Path, ...], tuple[RecordError, ...], dict[str, Any] | None]:
    calendar = plan.calendar
    folder = plan.out / "extracts" / council.code
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    errors: list[RecordError] = []
    resubmission = None
    for month, period in zip(calendar.written_range, calendar.written_periods):
        sections = _sections(data, month, calendar)
        name = extract_name(council.code, period, 1)
        for rule in plan.error_sites.get((council.code, period), ()):
            errors.append(RecordError(name, _plant(rule, sections, data.money, month, calendar), rule))
        documents = [(1, _created(period), sections)]
        if (council.code, period) == plan.resubmission:
            first = _without_late_claims(sections, period)
            documents = [(1, _created(period), first), (2, _created(period, day=9), sections)]
            resubmission = {
                "council": council.code,
                "name": council.name,
                "period": period,
                "files": [extract_name(council.code, period, 1), extract_name(council.code, period, 2)],
                "claims_seq1": len(first.claims),
                "claims_seq2": len(sections.claims),
                "counts": extract_name(council.code, period, 2),
            }
        for sequence, created, content in documents:
            path = folder / extract_name(council.code, period, sequence)
            caseload, expenditure = int(data.caseload[month]), float(data.money.expenditure[month])
            text = _document(council, period, sequence, created, content, caseload, expenditure)
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return tuple(written), tuple(errors), resubmission


def _without_late_claims(sections: _Sections, period: str) -> _Sections:
    """The first submission's extract ran before the last days' decisions were posted."""
    cutoff = P.first_day(period).replace(day=RESUBMISSION_SEQ1_LAST_DAY).isoformat()
    early = [line for line in sections.claims if _attribute(line, "decided") <= cutoff]
    return _Sections(early, sections.changes, sections.items, sections.overpayments, sections.recoveries, sections.writeoffs)


def _attribute(line: str, name: str) -> str:
    start = line.index(f' {name}="') + len(name) + 3
    return line[start : line.index('"', start)]


# --------------------------------------------------------------------------- planted errors

# (received, infoComplete, decided) as day offsets: "f" from the month's first day, "l" from its last.
_BAD_CLAIMS: dict[str, tuple[tuple[str, int], tuple[str, int] | None, tuple[str, int]]] = {
    "claim_received_after_decided": (("f", 12), None, ("f", 9)),
    "claim_info_complete_before_received": (("f", 3), ("f", 1), ("f", 20)),
    "claim_info_complete_after_decided": (("f", 2), ("f", 25), ("f", 20)),
    "claim_decided_outside_period": (("f", -30), None, ("l", 3)),
    "duplicate_ref": (("f", -10), None, ("f", 6)),  # a valid record whose only fault is its ref
}
_BAD_CHANGES: dict[str, tuple[tuple[str, int], tuple[str, int]]] = {  # (notified, actioned)
    "change_notified_after_actioned": (("f", 14), ("f", 10)),
    "change_actioned_outside_period": (("f", -20), ("f", -2)),
}


def _plant(rule: str, sections: _Sections, money: _Money, month: int, calendar: _Calendar) -> str:
    """Append one record that breaks ``rule`` and nothing else; return its ref."""
    first, last = int(calendar.first[month]), int(calendar.last[month])

    def day(offset: tuple[str, int] | None) -> str | None:
        return None if offset is None else calendar.text((first if offset[0] == "f" else last) + offset[1])

    ref = _error_ref(rule, month)
    if rule in _BAD_CLAIMS:
        received, info, decided = (day(o) for o in _BAD_CLAIMS[rule])
        if rule == "duplicate_ref":
            if not sections.claims:  # nothing to duplicate: add a valid first claim with the ref
                sections.claims.append(_claim_line(ref, received, None, decided))
            ref = _attribute(sections.claims[0], "ref")
        sections.claims.append(_claim_line(ref, received, info, decided))
    elif rule in _BAD_CHANGES:
        notified, actioned = (day(o) for o in _BAD_CHANGES[rule])
        sections.changes.append(
            f'    <Change ref="{ref}" claim="HB000001" type="income" notified="{notified}" actioned="{actioned}"/>'
        )
    elif rule == "item_received_after_period":
        sections.items.append(f'    <Item ref="{ref}" kind="new-claim" received="{day(("l", 2))}"/>')
    elif rule == "overpayment_identified_outside_period":
        sections.overpayments.append(
            f'    <Overpayment ref="{ref}" claim="HB000001" identified="{day(("f", -4))}" amount="250.00" cause="la-error"/>'
        )
    else:  # a payment dated the day after the month, against an overpayment not yet paid in this file
        tag, lines = ("Recovery", sections.recoveries) if rule.startswith("recovery") else ("WriteOff", sections.writeoffs)
        ref = _unpaid_overpayment(lines, money, month)
        lines.append(f'    <{tag} overpayment="{ref}" date="{day(("l", 1))}" amount="10.00"/>')
    return ref


def _claim_line(ref: str, received: str | None, info: str | None, decided: str | None) -> str:
    info_attr = f' infoComplete="{info}"' if info else ""
    return f'    <Claim ref="{ref}" received="{received}"{info_attr} decided="{decided}" outcome="awarded"/>'


def _error_ref(rule: str, month: int) -> str:
    """A ref outside the generated ranges (claims and overpayments stay below 900000, changes above 999999)."""
    number = 900_000 + 100 * month + list(RECORD_RULES).index(rule)
    prefix = {"change": "CE", "overpayment": "OP"}.get(rule.split("_")[0], "NC")
    return f"{prefix}{number:06d}"


def _unpaid_overpayment(lines: list[str], money: _Money, month: int) -> str:
    """The latest overpayment identified by this month with no payment of this kind in the file yet."""
    used = {_attribute(line, "overpayment") for line in lines}
    for ref in money.op_ref[money.op_month <= month][::-1].tolist():
        if f"OP{ref:06d}" not in used:
            return f"OP{ref:06d}"
    return "OP899999"  # no overpayment yet: a ref no generated overpayment has


# --------------------------------------------------------------------------- manual return


def manual_name(code: str, period: str) -> str:
    return f"{code}-{period}.csv"


def _write_manual(council: Council, data: _CouncilData, plan: _Plan) -> tuple[tuple[Path, ...], tuple[ManualError, ...]]:
    """One CSV per council and month, as a designated updater e-mails it."""
    folder = plan.out / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    errors: list[ManualError] = []
    for number, period in enumerate(plan.calendar.written_periods):
        values = {measure: _manual_value(measure, data.manual[measure][number]) for measure in MANUAL_MEASURES}
        name = manual_name(council.code, period)
        for rule in plan.manual_error_sites.get((council.code, period), ()):
            measure = _break_manual_rule(rule, values)
            errors.append(ManualError(name, 2 + MANUAL_MEASURES.index(measure), measure, rule))
        rows = ["authority,period,measure,value", *(f"{council.code},{period},{m},{values[m]}" for m in MANUAL_MEASURES)]
        path = folder / name
        path.write_bytes(("\n".join(rows) + "\n").encode("utf-8"))
        paths.append(path)
    return tuple(paths), tuple(errors)


def _manual_value(measure: str, value: float) -> str:
    return f"{value:.1f}" if measure == "staff_fte" else str(int(value))


def _break_manual_rule(rule: str, values: dict[str, str]) -> str:
    """Change one value so its row breaks ``rule``; return the measure of the bad row."""
    if rule == "manual_calls_answered_exceeds_offered":
        values["calls_answered"] = str(int(values["calls_offered"]) + 137)
        return "calls_answered"
    values["staff_fte"] = "-" + values["staff_fte"]
    return "staff_fte"


# --------------------------------------------------------------------------- stories


def _stories(plan: _Plan, results: dict[str, _CouncilOutput]) -> dict[str, Any]:
    return {
        "deterioration": _deterioration_story(plan),
        "initiative": _initiative_story(plan),
        "backlog": {
            "lead_indicator": "work_on_hand_over_30_days",
            "lagging_indicators": ["new_claims_days", "changes_days"],
            "lag_months": 1,
            "ar1_phi": BACKLOG_PHI,
            "log_days_per_sd": {"new_claims_days": BACKLOG_EFFECT_CLAIMS, "changes_days": BACKLOG_EFFECT_CHANGES},
            "latent": {code: list(result.backlog) for code, result in results.items()},
        },
        "resubmission": next((r.resubmission for r in results.values() if r.resubmission), None),
        "record_errors": [error for result in results.values() for error in result.record_errors],
        "manual_errors": [error for result in results.values() for error in result.manual_errors],
    }


def _deterioration_story(plan: _Plan) -> dict[str, Any] | None:
    council = plan.council(DETERIORATION_COUNCIL)
    if council is None:
        return None
    written = plan.calendar.written_periods
    ramp = DETERIORATION_ADDED_DAYS[-len(written) :]
    return {
        "council": council.code,
        "name": council.name,
        "indicator": "new_claims_days",
        "periods": list(written[-len(ramp) :]),
        "baseline_days": DETERIORATION_BASELINE_DAYS,
        "added_days": dict(zip(written[-len(ramp) :], ramp)),
    }


def _initiative_story(plan: _Plan) -> dict[str, Any] | None:
    council = plan.council(INITIATIVE_COUNCIL)
    if council is None:
        return None
    initiative = plan.initiative
    return {
        "id": initiative.id,
        "council": council.code,
        "name": council.name,
        "title": initiative.title,
        "start": initiative.start,
        "indicators": list(initiative.indicators),
        "indicator": "changes_days",
        "baseline_days": INITIATIVE_BASELINE_CHANGE_DAYS,
        "level_shift_days": INITIATIVE_SHIFT_DAYS,
        "slope_days_per_month": 0.0,
        "source": initiative.source,
    }
