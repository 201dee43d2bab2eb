"""Real English and Welsh councils for demo runs larger than the consortium (``--councils 27``).

Housing Benefit is administered by the lower tier: English unitary
authorities (E06), non-metropolitan districts (E07), metropolitan boroughs
(E08) and London boroughs (E09), and the Welsh principal councils (W06),
as well as the Scottish councils (S12) the consortium has today. Each row is
a real council with its real GSS code and name.

``approx_caseload`` is a rounded, approximate Housing Benefit caseload, there
to size the demo data (not an official statistic). The supplier and system
are drawn from the real market (Northgate iWorld, Capita Academy, Civica
OpenRevenues) for the demo: illustrative, not a statement of what each
council runs. Updater addresses are under ``example.org`` so no demo run can
mail a real council.

Rows are in a fixed order, alternating council types and countries, so the
first rows of any demo run mix England and Wales and every kind of council.
Beyond the table, ``invented`` makes councils clearly marked as demo ones,
with codes no real council has (E06900001 upwards).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perfcore.config.parameters import Council

# Prefix of a GSS code -> the kind of council it names (Housing Benefit authorities only).
COUNCIL_TYPES = {
    "S12": "Scottish council",
    "E06": "English unitary authority",
    "E07": "English district council",
    "E08": "English metropolitan borough",
    "E09": "London borough",
    "W06": "Welsh principal council",
}
SYSTEMS = (("Northgate", "iWorld"), ("Capita", "Academy"), ("Civica", "OpenRevenues"))
INVENTED_PREFIX = "E069"  # E06900001 upwards: no real unitary authority has a code there


def council_type(code: str) -> str:
    """The kind of council a GSS code names, e.g. 'London borough' for E09000033."""
    return COUNCIL_TYPES[code[:3]]


@dataclass(frozen=True)
class RealCouncil:
    code: str
    name: str
    approx_caseload: int
    system: int  # index into SYSTEMS

    def council(self) -> Council:
        supplier, system = SYSTEMS[self.system]
        return Council(
            code=self.code,
            name=self.name,
            supplier=supplier,
            system=system,
            updater=f"hb-returns@{_slug(self.name)}.example.org",
            approx_caseload=self.approx_caseload,
        )


# code, name, approximate HB caseload, system (0 Northgate, 1 Capita, 2 Civica)
_ROWS = (
    ("E06000001", "Hartlepool", 9_000, 0),
    ("W06000015", "Cardiff", 24_000, 1),
    ("E09000033", "Westminster", 17_000, 0),
    ("E08000003", "Manchester", 38_000, 1),
    ("E07000178", "Oxford", 6_000, 2),
    ("W06000011", "Swansea", 15_000, 0),
    ("E06000002", "Middlesbrough", 12_000, 1),
    ("E09000028", "Southwark", 27_000, 0),
    ("E08000035", "Leeds", 42_000, 0),
    ("E07000008", "Cambridge", 4_500, 2),
    ("W06000022", "Newport", 10_000, 1),
    ("E06000043", "Brighton and Hove", 15_000, 2),
    ("E09000030", "Tower Hamlets", 29_000, 1),
    ("E08000007", "Stockport", 13_000, 0),
    ("E07000041", "Exeter", 4_500, 1),
    ("W06000002", "Gwynedd", 6_000, 2),
    ("E06000023", "Bristol", 25_000, 0),
    ("E09000012", "Hackney", 28_000, 2),
    ("E08000010", "Wigan", 17_000, 1),
    ("E07000123", "Preston", 7_000, 0),
    ("W06000006", "Wrexham", 7_500, 0),
    ("E06000014", "York", 6_500, 1),
    ("E09000022", "Lambeth", 27_000, 0),
    ("E08000012", "Liverpool", 40_000, 2),
    ("E07000121", "Lancaster", 6_000, 1),
    ("W06000016", "Rhondda Cynon Taf", 16_000, 0),
    ("E06000045", "Southampton", 14_000, 2),
    ("E09000007", "Camden", 18_000, 1),
    ("E08000026", "Coventry", 19_000, 0),
    ("W06000010", "Carmarthenshire", 10_000, 1),
    ("E06000018", "Nottingham", 22_000, 0),
    ("E09000025", "Newham", 30_000, 2),
    ("E08000032", "Bradford", 33_000, 1),
    ("W06000005", "Flintshire", 7_000, 2),
    ("E08000025", "Birmingham", 80_000, 0),
    ("W06000023", "Powys", 6_500, 0),
)
TABLE: tuple[RealCouncil, ...] = tuple(RealCouncil(*row) for row in _ROWS)


def real_councils(count: int, *, taken: set[str]) -> tuple[Council, ...]:
    """The first ``count`` councils of the table that are not already ``taken``, in the table's order."""
    return tuple(row.council() for row in TABLE if row.code not in taken)[:count]


def invented(count: int, *, taken: set[str], numbered_from: int) -> tuple[Council, ...]:
    """Councils beyond the table: named "Demo Council N (invented)", codes E06900001 upwards.

    The same ones whatever the seed, so parameter folders stay stable; sizes
    and systems cycle through fixed values.
    """
    sizes = (8_000, 15_000, 5_500, 22_000, 11_000, 30_000, 7_000)
    made: list[Council] = []
    candidate = 0
    while len(made) < count:
        candidate += 1
        code = f"{INVENTED_PREFIX}{candidate:05d}"
        if code in taken:
            continue
        number = numbered_from + len(made)
        supplier, system = SYSTEMS[number % len(SYSTEMS)]
        made.append(
            Council(
                code=code,
                name=f"Demo Council {number} (invented)",
                supplier=supplier,
                system=system,
                updater=f"hb-returns@demo-council-{number}.example.org",
                approx_caseload=sizes[number % len(sizes)],
            )
        )
    return tuple(made)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
