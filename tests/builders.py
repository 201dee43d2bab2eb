"""Small builders for HBPE extracts and manual returns used across the tests."""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import tempfile
from pathlib import Path

from perfcore.intake import hbpe


def record(tag: str, **attributes: str) -> tuple[str, dict[str, str]]:
    return tag, {k.rstrip("_"): v for k, v in attributes.items() if v is not None}


def claim(ref: str, received: str, decided: str, outcome: str = "awarded", info: str | None = None, **extra):
    return record("Claim", ref=ref, received=received, infoComplete=info, decided=decided, outcome=outcome, **extra)


def change(
    ref: str, notified: str, actioned: str, type_: str = "income", effective: str | None = None, claim_ref: str = "HB1"
):
    return record(
        "Change", ref=ref, claim=claim_ref, type=type_, notified=notified, effective=effective, actioned=actioned
    )


def item(ref: str, received: str, kind: str = "new-claim"):
    return record("Item", ref=ref, kind=kind, received=received)


def overpayment(ref: str, identified: str, amount: str, cause: str = "la-error"):
    return record("Overpayment", ref=ref, claim="HB9", identified=identified, amount=amount, cause=cause)


def recovery(overpayment_ref: str, date: str, amount: str):
    return record("Recovery", overpayment=overpayment_ref, date=date, amount=amount)


def write_off(overpayment_ref: str, date: str, amount: str):
    return record("WriteOff", overpayment=overpayment_ref, date=date, amount=amount)


def extract_xml(
    authority: str = "S12000042",
    period: str = "2026-10",
    records=(),
    *,
    sequence: int = 1,
    caseload: str | None = "12345",
    expenditure: str | None = "4567890.12",
    namespace: str = hbpe.NS,
    version: str = hbpe.VERSION,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
    extra_header: str = "",
) -> str:
    """An extract written by ``hbpe.write_extract``; the keywords bend it into invalid shapes.

    Only the sections holding records are written, each record as a mapping
    (so a test can add an attribute the standard does not know).
    """
    sections: dict[str, list[dict[str, str]]] = {}
    for tag, attributes in records:
        sections.setdefault(tag, []).append(attributes)
    header = hbpe.Header(
        authority=authority,
        authority_name="Test Council",
        period=period,
        supplier="Northgate",
        system="iWorld",
        system_version="6.2",
        created="2026-11-01T02:00:00Z",
        sequence=sequence,
        caseload=caseload,
        expenditure=expenditure,
    )
    out = io.StringIO()
    hbpe.write_extract(out, header, sections, prolog=False)
    text = prolog + out.getvalue()
    text = text.replace(
        f'<Extract xmlns="{hbpe.NS}" version="{hbpe.VERSION}">', f'<Extract xmlns="{namespace}" version="{version}">', 1
    )
    if extra_header:
        text = text.replace("  </Header>\n", extra_header + "\n  </Header>\n", 1)
    return text


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def manual_csv(rows) -> str:
    return "authority,period,measure,value\n" + "".join(f"{a},{p},{m},{v}\n" for a, p, m, v in rows)


@functools.cache
def real_parameters():
    """(consortium, framework) from the project's parameters/: frozen values, read once per test run
    (parsing the YAML was most of a Harness's cost, and hundreds of tests make one)."""
    from perfcore.config.parameters import load_consortium, load_framework

    root = Path(__file__).resolve().parents[1] / "parameters"
    return load_consortium(root), load_framework(root / "framework.yaml")


@functools.cache
def _empty_warehouse() -> Path:
    """A new warehouse made once per test process by ``warehouse.connect``, removed when the process ends.

    Creating the schema is most of a small test's cost (~20 ms of DDL), and hundreds of tests start from an
    empty warehouse; creating and migrating one is tested in test_migrations.py.
    """
    from perfcore import warehouse

    folder = Path(tempfile.mkdtemp(prefix="perfcore-empty-warehouse-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "warehouse.duckdb"
    warehouse.connect(path).close()
    return path


def empty_warehouse(path: Path) -> Path:
    """A new, empty warehouse at ``path`` (a copy of the one made once), exactly as a first
    ``warehouse.connect(path)`` would leave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_empty_warehouse(), path)
    return path


class Harness:
    """A fresh warehouse in a temporary folder, with the real consortium.

    An existing ``warehouse.duckdb`` in ``folder`` is opened (and migrated) as it is, and the files
    ingested go on from those already in ``folder/in`` (file5.xml after four).
    """

    def __init__(self, folder: Path, today: str = "2026-11-26") -> None:
        from datetime import date

        from perfcore import warehouse

        self.folder = folder
        self.root = Path(__file__).resolve().parents[1]
        self.consortium, self.framework = real_parameters()
        self.today = date.fromisoformat(today)
        database = folder / "warehouse.duckdb"
        if not database.exists():
            empty_warehouse(database)
        self.con = warehouse.connect(database)
        given = folder / "in"
        self._count = sum(1 for _ in given.iterdir()) if given.is_dir() else 0

    def discard(self) -> None:
        """The end of a test: close the warehouse without the checkpoint DuckDB makes when a connection
        closes, since the folder is thrown away (writing the file again and syncing it cost ~10 ms a test).
        A connection the test has closed itself is left as it is."""
        import duckdb

        try:
            self.con.execute("pragma disable_checkpoint_on_shutdown")
        except duckdb.ConnectionException:  # closed already
            return
        self.con.close()

    def ingest(self, text: str, name: str | None = None, suffix: str = ".xml"):
        from perfcore.intake.ingest import ingest_file

        self._count += 1
        path = write(self.folder / "in" / (name or f"file{self._count}{suffix}"), text)
        return ingest_file(path, self.con, self.consortium, today=self.today)

    def rejections(self):
        from perfcore.intake.ingest import rejections

        return rejections(self.con)

    def values(self, area: str, period: str):
        from perfcore.warehouse import indicators

        table = indicators.compute(self.con, self.framework, self.consortium.codes)
        return indicators.values_for(table, self.framework, area, period)

    def count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from {table}").fetchone()[0]
