"""One council's simulated months: its profile, claims, changes, money and manual-return figures.

Everything is drawn from the council's own streams (``plan.seed_key``), one
child stream per concern, so more claims never shift the money draws and
adding councils leaves the others unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perfcore import periods as P
from perfcore.config.parameters import Council
from perfcore.demo.plan import Calendar, Plan, seed_key
from perfcore.demo.stories import (
    BACKLOG_EFFECT_CHANGES,
    BACKLOG_EFFECT_CLAIMS,
    BACKLOG_PHI,
    DETERIORATION_ADDED_DAYS,
    DETERIORATION_BASELINE_DAYS,
    DETERIORATION_COUNCIL,
    INITIATIVE_BASELINE_CHANGE_DAYS,
    INITIATIVE_COUNCIL,
    INITIATIVE_SHIFT_DAYS,
)
from perfcore.intake.hbpe import CHANGE_TYPES

MAX_CLAIM_DAYS = 150  # below LOOKAHEAD_MONTHS of days, so work on hand is complete
MAX_CHANGE_DAYS = 120
UPRATING = CHANGE_TYPES.index("uprating")
_REVISION = CHANGE_TYPES.index("revision")


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
class Events:
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
class Money:
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
class CouncilData:
    profile: _Profile
    backlog: np.ndarray  # latent backlog z per simulated month (standard normal margins)
    caseload: np.ndarray
    claims: Events
    changes: Events
    money: Money
    manual: dict[str, tuple[float, ...]]  # measure -> value per written month


def simulate_council(council: Council, plan: Plan) -> CouncilData:
    # One child stream per concern, so e.g. more claims do not shift the money draws.
    streams = seed_key(plan.seed, council.code).spawn(7)
    rng = [np.random.default_rng(s) for s in streams]
    profile = _draw_profile(council, rng[0])
    calendar = plan.calendar
    backlog = _draw_backlog(len(calendar.periods), rng[1])
    caseload = _draw_caseload(profile, calendar, rng[2])
    claims = _draw_claims(profile, caseload, _claim_means(council, profile, backlog, plan), calendar, rng[3])
    changes = _draw_changes(profile, caseload, _change_means(council, profile, backlog, plan), calendar, rng[4])
    money = _draw_money(profile, caseload, calendar, rng[5])
    manual = _draw_manual(profile, caseload, backlog, calendar, rng[6])
    return CouncilData(profile, backlog, caseload, claims, changes, money, manual)


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


def _draw_caseload(profile: _Profile, calendar: Calendar, rng: np.random.Generator) -> np.ndarray:
    """A slow random walk drifting down (migration to Universal Credit), at the profile size at the end."""
    steps = rng.normal(-0.0025, 0.004, len(calendar.periods))
    walk = np.exp(np.cumsum(steps))
    end = calendar.first_written + calendar.written - 1
    return np.rint(profile.caseload * walk / walk[end]).astype(np.int64)


def _lagged_backlog_factor(backlog: np.ndarray, effect: float) -> np.ndarray:
    """Month t's mean-days factor from the backlog at the end of month t-1 (mean 1)."""
    previous = np.concatenate([[0.0], backlog[:-1]])
    return np.exp(effect * previous - effect**2 / 2)


def _claim_means(council: Council, profile: _Profile, backlog: np.ndarray, plan: Plan) -> np.ndarray:
    means = profile.claim_days * _lagged_backlog_factor(backlog, BACKLOG_EFFECT_CLAIMS)
    if council.code == DETERIORATION_COUNCIL:
        last = plan.calendar.first_written + plan.calendar.written - 1
        ramp = DETERIORATION_ADDED_DAYS
        for step, added in enumerate(ramp):
            means[last - len(ramp) + 1 + step] += added
        means[last + 1 :] += ramp[-1]  # the lookahead stays bad: work on hand at the end shows it
    return means


_CHANGE_SEASON = {1: 0.9, 2: 0.88, 3: 0.82, 4: 0.7}  # Q4 and April are quick (GB SoP figures)


def _change_means(council: Council, profile: _Profile, backlog: np.ndarray, plan: Plan) -> np.ndarray:
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
    profile: _Profile, caseload: np.ndarray, means: np.ndarray, calendar: Calendar, rng: np.random.Generator
) -> Events:
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
    profile: _Profile, caseload: np.ndarray, means: np.ndarray, calendar: Calendar, rng: np.random.Generator
) -> Events:
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
    rng: np.random.Generator, month: int, caseload: int, size: int, calendar: Calendar
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
        np.full(count, UPRATING),
        rng.integers(1, 2 * size, count),
    )


def _events(parts: list[tuple[np.ndarray, ...]], *, first_ref: int, sort: bool = False) -> Events:
    month, received, decided, middle, kind, extra = (np.concatenate(column) for column in zip(*parts))
    if sort:  # merged parts: order by month, then decision date
        order = np.lexsort((decided, month))
        month, received, decided, middle, kind, extra = (
            a[order] for a in (month, received, decided, middle, kind, extra)
        )
    ref = first_ref + np.arange(len(month))
    return Events(month, ref, received, decided, middle, kind, extra)


def _draw_money(profile: _Profile, caseload: np.ndarray, calendar: Calendar, rng: np.random.Generator) -> Money:
    months = len(calendar.periods)
    aprils = np.cumsum([P.parse(p)[1] == 4 for p in calendar.periods])
    weekly = profile.weekly_award * 1.03**aprils  # awards rise with each April up-rating
    expenditure = np.round(caseload * weekly * 52 / 12 * rng.normal(1.0, 0.01, months), 2)
    ops = [_draw_overpayments(profile, month, float(expenditure[month]), calendar, rng) for month in range(months)]
    op_month, op_date, op_amount, op_cause = (np.concatenate(column) for column in zip(*ops))
    op_ref = int(rng.integers(100_000, 400_000)) + np.arange(len(op_month))
    op_claim = rng.integers(1, 2 * profile.caseload, len(op_month))
    recoveries, writeoffs = _draw_repayments(profile, op_month, op_date, op_amount, calendar, rng)
    return Money(expenditure, op_month, op_ref, op_claim, op_date, op_amount, op_cause, recoveries, writeoffs)


def _draw_overpayments(
    profile: _Profile, month: int, expenditure: float, calendar: Calendar, rng: np.random.Generator
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
    calendar: Calendar,
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
    calendar: Calendar,
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
    profile: _Profile, caseload: np.ndarray, backlog: np.ndarray, calendar: Calendar, rng: np.random.Generator
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
