"""The plan of a demo run: which councils, which months, where the stories and planted errors go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from perfcore import periods as P
from perfcore import settings
from perfcore.config.parameters import Consortium, Council, parameters_dir
from perfcore.demo.councils import invented, real_councils
from perfcore.demo.stories import (
    ERROR_GROUPS,
    INITIATIVE_COUNCIL,
    INITIATIVE_FALLBACK_MONTHS_BEFORE_END,
    MANUAL_RULES,
    RESUBMISSION_COUNCIL,
    RESUBMISSION_MONTHS_BEFORE_END,
)
from perfcore.exceptions import ConfigError

WARMUP_MONTHS = 12  # overpayments before the first month, so early recoveries have something to recover
LOOKAHEAD_MONTHS = 6  # claims decided after the end, so the last months have work on hand


@dataclass(frozen=True)
class Calendar:
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
class Initiative:
    id: str
    council: str
    start: str
    indicators: tuple[str, ...]
    title: str
    source: str


@dataclass(frozen=True)
class Plan:
    out: Path
    seed: int
    councils: tuple[Council, ...]
    extra_councils: tuple[Council, ...]
    calendar: Calendar
    initiative: Initiative
    resubmission: tuple[str, str] | None  # (code, period) submitted twice
    error_sites: dict[tuple[str, str], tuple[str, ...]]  # (code, period) -> record rules planted there
    manual_error_sites: dict[tuple[str, str], tuple[str, ...]]  # (code, period) -> manual rules

    def council(self, code: str) -> Council | None:
        return next((c for c in self.councils if c.code == code), None)


def make_plan(
    out: Path,
    consortium: Consortium,
    seed: int,
    councils: int | None,
    months: int,
    end_period: str | None,
    today: date | None,
    initiatives_file: Path | None,
) -> Plan:
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
    return Plan(
        out=Path(out),
        seed=seed,
        councils=chosen,
        extra_councils=extras,
        calendar=calendar,
        initiative=_initiative(initiatives_file or parameters_dir() / "initiatives.yaml", end),
        resubmission=resubmission,
        # Away from the resubmission, so which submission holds an error is never in doubt.
        error_sites=_spread(ERROR_GROUPS, codes, written, first_council=1, first_month=1, avoid=resubmission),
        manual_error_sites=_spread(tuple((r,) for r in MANUAL_RULES), codes, written, first_council=2, first_month=3),
    )


def _choose_councils(consortium: Consortium, wanted: int | None) -> tuple[tuple[Council, ...], tuple[Council, ...]]:
    """The members first; beyond them real English and Welsh councils (``demo.councils``), then invented ones."""
    members = consortium.members
    if wanted is None or wanted <= len(members):
        return members[: wanted or len(members)], ()
    taken = set(consortium.codes)
    real = real_councils(wanted - len(members), taken=taken)
    taken |= {c.code for c in real}
    made = invented(wanted - len(members) - len(real), taken=taken, numbered_from=len(members) + len(real) + 1)
    extras = real + made
    return members + extras, extras


def _calendar(end: str, months: int) -> Calendar:
    first_written = P.shift(end, -(months - 1))
    all_periods = tuple(P.span(P.shift(first_written, -WARMUP_MONTHS), P.shift(end, LOOKAHEAD_MONTHS)))
    first = np.array([P.first_day(p).toordinal() for p in all_periods], dtype=np.int64)
    last = np.array([P.last_day(p).toordinal() for p in all_periods], dtype=np.int64)
    # Margin before the first month: claims decided there can have been received months earlier.
    base = int(first[0]) - 400
    iso = tuple(date.fromordinal(o).isoformat() for o in range(base, int(last[-1]) + 60))
    workdays = tuple(
        np.array([o for o in range(start, end + 1) if date.fromordinal(o).weekday() < 5], dtype=np.int64)
        for start, end in zip(first.tolist(), last.tolist())
    )
    return Calendar(all_periods, WARMUP_MONTHS, months, base, iso, first, last, workdays)


def _initiative(path: Path, end: str) -> Initiative:
    from perfcore.config.initiatives import initiatives_from_file

    for entry in initiatives_from_file(path):
        if entry.council == INITIATIVE_COUNCIL:
            return Initiative(
                id=entry.id,
                council=INITIATIVE_COUNCIL,
                start=entry.start,
                indicators=tuple(entry.indicators),
                title=entry.title,
                source=str(path),
            )
    return Initiative(
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


def seed_key(seed: int, code: str) -> np.random.SeedSequence:
    """Seed material from the run's seed and the council's code, so councils are independent."""
    return np.random.SeedSequence([seed, *code.encode("ascii")])
