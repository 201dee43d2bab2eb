"""A demo run: ``write_demo_data`` plans it, simulates and writes each council, and says what it planted."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from perfcore.config.parameters import Consortium, Council
from perfcore.demo.commentary import Row, write_commentary
from perfcore.demo.extracts import write_extracts
from perfcore.demo.plan import Plan, make_plan
from perfcore.demo.returns import write_manual
from perfcore.demo.simulate import simulate_council
from perfcore.demo.stories import ManualError, RecordError, stories


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo_data`` wrote and planted."""

    out: Path
    seed: int
    consortium: Consortium
    councils: tuple[Council, ...]  # the councils with data, extras included
    extra_councils: tuple[Council, ...]  # councils beyond the members: real ones (demo.councils), then invented
    periods: tuple[str, ...]
    extract_files: tuple[Path, ...]
    manual_files: tuple[Path, ...]
    commentary_files: tuple[Path, ...]
    stories: dict[str, Any] = field(compare=False)

    @property
    def files(self) -> tuple[Path, ...]:
        return self.extract_files + self.manual_files + self.commentary_files

    @property
    def enlarged_consortium(self) -> Consortium:
        """The consortium with the extra councils added, so ingestion accepts their files."""
        return replace(self.consortium, members=self.consortium.members + self.extra_councils)


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
    """Write demo extracts, manual and commentary returns under ``out`` and say what was planted.

    ``councils`` takes the first N members; more than the consortium has adds
    real English and Welsh councils in the fixed order of ``demo.councils``
    (Hartlepool, Cardiff, Westminster, ...) and, past that table, invented
    "Demo Council N (invented)" ones (codes E06900001 upward), returned in
    ``extra_councils``: write a parameters folder that accepts them with
    ``write_consortium_yaml``. ``end_period`` defaults to the last complete
    month before ``today`` (``settings.today()``). The initiative's start is
    read from ``initiatives_file`` (default ``parameters/initiatives.yaml``).
    Files already under ``out`` with the same names are overwritten.
    """
    plan = make_plan(out, consortium, seed, councils, months, end_period, today, initiatives_file)
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
        commentary_files=tuple(path for result in results.values() for path in result.commentary),
        stories=stories(plan, results),
    )


def write_consortium_yaml(summary: DemoSummary, folder: Path, *, copy_from: Path | None = None) -> Path:
    """Write ``folder/consortium.yaml`` with the members and the extra councils, and peer groups for them all.

    A scale run (``councils=27``) points ingestion at this folder. With
    ``copy_from`` (a parameters folder) the other ``*.yaml`` files there
    (framework, initiatives, ...) are copied beside it, making a complete folder.
    ``peer_groups.yaml`` is written from ``config.peer_groups.derived_groups``
    (by country and caseload, for the enlarged membership); any other group in
    ``copy_from``'s file is kept after them as it was.
    """
    import yaml

    from perfcore.config.peer_groups import PeerGroups, derived_groups, load_peer_groups, peer_groups_document

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if copy_from is not None:
        for source in sorted(Path(copy_from).glob("*.yaml")):
            if source.name not in ("consortium.yaml", "peer_groups.yaml"):
                shutil.copyfile(source, folder / source.name)
    enlarged = summary.enlarged_consortium
    members = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(c).items() if v is not None}
        for c in enlarged.members
    ]
    # Every setting of the consortium as read, then the members with the extra councils.
    document = {**{k: v for k, v in asdict(enlarged).items() if k != "members"}, "members": members}
    path = folder / "consortium.yaml"
    header = (
        "# Written by perfcore.demo.write_consortium_yaml: the consortium plus the demo's extra councils\n"
        "# (real English and Welsh councils from perfcore.demo.councils, then invented ones if more were asked for).\n"
    )
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    groups = derived_groups(enlarged)
    if copy_from is not None and (Path(copy_from) / "peer_groups.yaml").exists():
        kept = tuple(g for g in load_peer_groups(copy_from).groups if g.id not in groups.ids)
        groups = PeerGroups(groups=groups.groups + kept)
    (folder / "peer_groups.yaml").write_text(peer_groups_document(groups, enlarged), encoding="utf-8")
    return path


@dataclass(frozen=True)
class _CouncilOutput:
    """What was written for one council, and what was planted in it."""

    extracts: tuple[Path, ...]
    manuals: tuple[Path, ...]
    record_errors: tuple[RecordError, ...]
    manual_errors: tuple[ManualError, ...]
    resubmission: dict[str, Any] | None
    backlog: tuple[float, ...]  # latent backlog per written month
    commentary: tuple[Path, ...] = ()
    commentary_rows: tuple[Row, ...] = ()


def _write_council(council: Council, plan: Plan) -> _CouncilOutput:
    data = simulate_council(council, plan)
    extracts, record_errors, resubmission = write_extracts(council, data, plan)
    manuals, manual_errors = write_manual(council, data, plan)
    commentary, rows = write_commentary(council, data, plan)
    backlog = tuple(round(float(data.backlog[m]), 3) for m in plan.calendar.written_range)
    return _CouncilOutput(extracts, manuals, record_errors, manual_errors, resubmission, backlog, commentary, rows)
