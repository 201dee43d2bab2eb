"""Small builders for HBPE extracts and manual returns used across the tests."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

SECTION_OF = {
    "Claim": "NewClaims",
    "Change": "ChangeEvents",
    "Item": "WorkOnHand",
    "Overpayment": "Overpayments",
    "Recovery": "Recoveries",
    "WriteOff": "WriteOffs",
}
ORDER = ("NewClaims", "ChangeEvents", "WorkOnHand", "Caseload", "Expenditure", "Overpayments", "Recoveries", "WriteOffs")


def record(tag: str, **attributes: str) -> tuple[str, dict[str, str]]:
    return tag, {k.rstrip("_"): v for k, v in attributes.items() if v is not None}


def claim(ref: str, received: str, decided: str, outcome: str = "awarded", info: str | None = None, **extra):
    return record("Claim", ref=ref, received=received, infoComplete=info, decided=decided, outcome=outcome, **extra)


def change(ref: str, notified: str, actioned: str, type_: str = "income", effective: str | None = None, claim_ref: str = "HB1"):
    return record("Change", ref=ref, claim=claim_ref, type=type_, notified=notified, effective=effective, actioned=actioned)


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
    namespace: str = "urn:perfcore:hbpe:1",
    version: str = "1.0",
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
    extra_header: str = "",
) -> str:
    sections: dict[str, list[str]] = {name: [] for name in ORDER}
    for tag, attributes in records:
        attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items())
        sections[SECTION_OF[tag]].append(f"    <{tag} {attrs}/>")
    lines = [
        f'{prolog}<Extract xmlns="{namespace}" version="{version}">',
        "  <Header>",
        f'    <Authority code="{authority}">Test Council</Authority>',
        f"    <Period>{period}</Period>",
        '    <Source supplier="Northgate" system="iWorld" version="6.2"/>',
        "    <Created>2026-11-01T02:00:00Z</Created>",
        f"    <Sequence>{sequence}</Sequence>",
        extra_header,
        "  </Header>",
    ]
    for name in ORDER:
        if name == "Caseload":
            if caseload is not None:
                lines.append(f'  <Caseload claims="{caseload}"/>')
        elif name == "Expenditure":
            if expenditure is not None:
                lines.append(f'  <Expenditure amount="{expenditure}"/>')
        elif sections[name]:
            lines += [f"  <{name}>", *sections[name], f"  </{name}>"]
    lines.append("</Extract>\n")
    return "\n".join(line for line in lines if line)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def manual_csv(rows) -> str:
    return "authority,period,measure,value\n" + "".join(f"{a},{p},{m},{v}\n" for a, p, m, v in rows)


class Harness:
    """A fresh warehouse in a temporary folder, with the real consortium."""

    def __init__(self, folder: Path, today: str = "2026-11-26") -> None:
        from datetime import date

        from perfcore import warehouse
        from perfcore.config.parameters import load_consortium, load_framework

        self.folder = folder
        self.root = Path(__file__).resolve().parents[1]
        self.consortium = load_consortium(self.root / "parameters")
        self.framework = load_framework(self.root / "parameters" / "framework.yaml")
        self.today = date.fromisoformat(today)
        self.con = warehouse.connect(folder / "warehouse.duckdb")
        self._count = 0

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
