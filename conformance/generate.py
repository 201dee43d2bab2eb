"""Write the HBPE 1.0 conformance kit's sample files and expected.json (python conformance/generate.py [OUT]).

Every extract is written by ``perfcore.intake.hbpe.write_extract``, the one XML writer perfcore has; the
samples that break a file-level rule bend its output (a DOCTYPE, UTF-16, a cut-off end, ...). The files are
committed so suppliers get them; ``tests/test_conformance.py`` regenerates them and fails on any difference,
and runs ``perfcore validate`` and ``perfcore ingest`` over every one.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from perfcore.intake import hbpe

HERE = Path(__file__).resolve().parent
COUNCIL, NAME, PERIOD = "S12000042", "Dundee City Council", "2026-10"


def header(**changes) -> hbpe.Header:
    values = dict(
        authority=COUNCIL,
        authority_name=NAME,
        period=PERIOD,
        supplier="Northgate",
        system="iWorld",
        system_version="6.2",
        created="2026-11-01T02:00:00Z",
        sequence=1,
        caseload=12345,
        expenditure="4567890.12",
    )
    return hbpe.Header(**{**values, **changes})


def good_sections() -> dict[str, list[dict[str, str]]]:
    """A month with every kind of record, optional attributes present and absent, and the cases DWP's
    rules single out (a withdrawn claim, an advance notification, an up-rating)."""
    return {
        "Claim": [
            {
                "ref": "NC000123",
                "received": "2026-09-28",
                "infoComplete": "2026-10-04",
                "decided": "2026-10-09",
                "outcome": "awarded",
                "tenure": "social",
            },
            {
                "ref": "NC000124",
                "received": "2026-10-01",
                "decided": "2026-10-20",
                "outcome": "refused",
                "tenure": "private",
            },
            {"ref": "NC000125", "received": "2026-10-05", "decided": "2026-10-06", "outcome": "withdrawn"},
        ],
        "Change": [
            {
                "ref": "CE004567",
                "claim": "HB001234",
                "type": "income",
                "notified": "2026-10-02",
                "effective": "2026-10-05",
                "actioned": "2026-10-06",
            },
            {
                "ref": "CE004568",
                "claim": "HB001235",
                "type": "address",
                "notified": "2026-10-10",
                "actioned": "2026-10-12",
            },
            {
                "ref": "CE004569",
                "claim": "HB001236",
                "type": "uprating",
                "notified": "2026-10-01",
                "actioned": "2026-10-01",
            },
        ],
        "Item": [
            {"ref": "NC000099", "kind": "new-claim", "received": "2026-08-30"},
            {"ref": "CE004600", "kind": "change", "received": "2026-10-28"},
        ],
        "Overpayment": [
            {
                "ref": "OP000777",
                "claim": "HB000077",
                "identified": "2026-10-12",
                "amount": "512.40",
                "cause": "la-error",
            },
            {
                "ref": "OP000778",
                "claim": "HB000078",
                "identified": "2026-10-15",
                "amount": "80.00",
                "cause": "claimant-error",
            },
        ],
        "Recovery": [{"overpayment": "OP000701", "date": "2026-10-20", "amount": "100.00"}],
        "WriteOff": [{"overpayment": "OP000650", "date": "2026-10-21", "amount": "35.00"}],
    }


def extract(head: hbpe.Header | None = None, sections: dict | None = None) -> str:
    out = io.StringIO()
    hbpe.write_extract(out, head or header(), good_sections() if sections is None else sections)
    return out.getvalue()


def with_record(element: str, record: dict[str, str], *, first: bool = False) -> tuple[str, int]:
    """The good month plus one record, appended to its section (or put first in it); and the record's line."""
    sections = good_sections()
    sections[element] = [record, *sections[element]] if first else [*sections[element], record]
    text = extract(sections=sections)
    name, value = next(iter(record.items()))
    needle = f'<{element} {name}="{value}"'
    at = text.index(needle) if first else text.rindex(needle)
    return text, text.count("\n", 0, at) + 1


def schema_sample(path: str, element: str, record: dict[str, str], what: str) -> Sample:
    """A record the XSD refuses, put first in its section: the file is rejected, at that record's line."""
    text, line = with_record(element, record, first=True)
    return Sample(path, text, "rejected", "file.schema", what, line=line)


@dataclass
class Sample:
    path: str  # under samples/
    content: str | bytes
    outcome: str  # accepted | rejected | conflict | duplicate, as perfcore ingest reports it
    rule: str | None  # the rule id `perfcore validate` reports as failing (None: none)
    what: str
    records_rejected: int = 0
    line: int | None = None  # the line the failure is reported on
    after: list[str] = field(default_factory=list)  # samples submitted before this one, in order

    @property
    def conformant(self) -> bool:
        return self.outcome in ("accepted", "duplicate") and self.records_rejected == 0


def samples() -> list[Sample]:
    good = extract()
    out = [
        Sample(
            "good/extract-full-month.xml",
            good,
            "accepted",
            None,
            "every section, optional attributes present and absent, withdrawn claim, advance notice, up-rating",
        ),
        Sample(
            "good/extract-empty-sections.xml",
            extract(sections={s.element: [] for s in hbpe.SECTIONS}),
            "accepted",
            None,
            "a month with no records: every section present and empty; Caseload and Expenditure still required",
        ),
        Sample(
            "good/extract-without-optional-sections.xml",
            extract(sections={}),
            "accepted",
            None,
            "only the Header and the two required totals",
        ),
        Sample("good/manual-return.csv", MANUAL, "accepted", None, "the six manual measures"),
        Sample(
            "good/commentary-return.csv",
            COMMENTARY,
            "accepted",
            None,
            "a comment with an action, and a comment on the month as a whole",
        ),
        # -- file level: the whole file is rejected
        Sample(
            "file/encoding-utf16.xml",
            b"\xff\xfe" + good.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le"),
            "rejected",
            "file.encoding",
            "encoded as UTF-16",
            line=1,
        ),
        Sample(
            "file/encoding-declared-latin1.xml",
            good.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'),
            "rejected",
            "file.encoding",
            "declares an encoding other than UTF-8",
            line=1,
        ),
        Sample(
            "file/doctype.xml",
            good.replace("\n", '\n<!DOCTYPE Extract [<!ENTITY x "x">]>\n', 1),
            "rejected",
            "file.no-dtd",
            "declares a DTD with an entity",
            line=2,
        ),
        Sample(
            "file/not-well-formed-truncated.xml",
            good[: good.index("  <WorkOnHand>")],
            "rejected",
            "file.well-formed",
            "cut off before </Extract> (reported at the end of the file)",
            line=20,
        ),
        Sample(
            "file/not-well-formed-mismatched-tag.xml",
            good.replace("</Header>", "</Headers>"),
            "rejected",
            "file.well-formed",
            "an end tag that does not match",
            line=9,
        ),
        Sample(
            "file/schema-wrong-namespace.xml",
            good.replace(hbpe.NS, "urn:example:hbpe"),
            "rejected",
            "file.schema",
            "the wrong namespace",
            line=2,
        ),
        Sample(
            "file/schema-wrong-version.xml",
            good.replace(f'xmlns="{hbpe.NS}" version="1.0"', f'xmlns="{hbpe.NS}" version="2.0"'),
            "rejected",
            "file.schema",
            "version other than 1.0",
            line=2,
        ),
        Sample(
            "file/schema-missing-caseload.xml",
            extract(header(caseload=None)),
            "rejected",
            "file.schema",
            "the required Caseload total left out (reported at the element found in its place)",
            line=24,
        ),
        schema_sample(
            "file/schema-unknown-outcome.xml",
            "Claim",
            {"ref": "NC000200", "received": "2026-10-01", "decided": "2026-10-09", "outcome": "approved"},
            "an outcome outside the enumeration",
        ),
        schema_sample(
            "file/schema-unknown-attribute.xml",
            "Claim",
            {
                "ref": "NC000200",
                "received": "2026-10-01",
                "decided": "2026-10-09",
                "outcome": "awarded",
                "officer": "J Smith",
            },
            "an attribute the standard does not define",
        ),
        schema_sample(
            "file/schema-bad-date.xml",
            "Change",
            {"ref": "CE009999", "claim": "HB1", "type": "income", "notified": "2026-10-32", "actioned": "2026-10-06"},
            "a date that does not exist",
        ),
        schema_sample(
            "file/schema-money-three-decimals.xml",
            "Overpayment",
            {"ref": "OP000900", "claim": "HB9", "identified": "2026-10-12", "amount": "10.005", "cause": "other"},
            "an amount with three decimal places",
        ),
        schema_sample(
            "file/schema-negative-amount.xml",
            "Recovery",
            {"overpayment": "OP000799", "date": "2026-10-20", "amount": "-5.00"},
            "a negative amount",
        ),
        Sample(
            "file/schema-sequence-zero.xml",
            extract(header(sequence=0)),
            "rejected",
            "file.schema",
            "Sequence 0",
            line=8,
        ),
        Sample(
            "file/not-a-member.xml",
            extract(header(authority="S12000099")),
            "rejected",
            "file.member",
            "an Authority code that is not a consortium member",
            line=4,
        ),
        Sample(
            "file/period-in-the-future.xml",
            extract(header(period="2099-12"), sections={}),
            "rejected",
            "file.period",
            "a Period in the future",
            line=5,
        ),
        # -- submission rules: judged with the files before (perfcore validate --as-sequence)
        Sample("submission/resubmission-1.xml", good, "accepted", None, "the first file for the month"),
        Sample(
            "submission/resubmission-2-higher-sequence.xml",
            extract(header(sequence=2), sections={**good_sections(), "Recovery": []}),
            "accepted",
            None,
            "a correction with a higher Sequence replaces the first",
            after=["submission/resubmission-1.xml"],
        ),
        Sample(
            "submission/conflict-2-same-sequence.xml",
            extract(sections={**good_sections(), "Recovery": []}),
            "conflict",
            "submission.sequence",
            "different content with the same Sequence",
            line=8,
            after=["submission/resubmission-1.xml"],
        ),
        Sample(
            "submission/conflict-3-lower-sequence.xml",
            extract(sections={**good_sections(), "WriteOff": []}),
            "conflict",
            "submission.sequence",
            "a lower Sequence after a higher one",
            line=8,
            after=["submission/resubmission-1.xml", "submission/resubmission-2-higher-sequence.xml"],
        ),
        Sample(
            "submission/duplicate-2-same-bytes.xml",
            good,
            "duplicate",
            None,
            "the same bytes again: reported, nothing changes",
            after=["submission/resubmission-1.xml"],
        ),
    ]
    out += record_samples()
    out += manual_samples()
    return out


def record_samples() -> list[Sample]:
    """One file per record rule: the good month plus one record breaking it (that record is rejected)."""
    claim = {"ref": "NC000200", "received": "2026-10-01", "decided": "2026-10-09", "outcome": "awarded"}
    change = {
        "ref": "CE009999",
        "claim": "HB001299",
        "type": "income",
        "notified": "2026-10-01",
        "actioned": "2026-10-06",
    }
    cases = [
        (
            "claim-received-over-10-years-before.xml",
            "Claim",
            {**claim, "received": "2016-09-30"},
            "received-more-than-10-years-before-the-period",
        ),
        ("claim-received-after-decided.xml", "Claim", {**claim, "received": "2026-10-12"}, "received-after-decided"),
        (
            "claim-infocomplete-before-received.xml",
            "Claim",
            {**claim, "infoComplete": "2026-09-30"},
            "infocomplete-before-received",
        ),
        (
            "claim-infocomplete-after-decided.xml",
            "Claim",
            {**claim, "infoComplete": "2026-10-10"},
            "infocomplete-after-decided",
        ),
        (
            "claim-decided-outside-period.xml",
            "Claim",
            {**claim, "received": "2026-09-01", "decided": "2026-09-30"},
            "decided-outside-the-period",
        ),
        ("claim-duplicate-ref.xml", "Claim", {**claim, "ref": "NC000123"}, "duplicate-ref"),
        (
            "change-notified-over-10-years-before.xml",
            "Change",
            {**change, "notified": "2016-09-30"},
            "notified-more-than-10-years-before-the-period",
        ),
        (
            "change-notified-after-actioned.xml",
            "Change",
            {**change, "notified": "2026-10-07"},
            "notified-after-actioned",
        ),
        (
            "change-effective-over-10-years-away.xml",
            "Change",
            {**change, "effective": "2036-11-01"},
            "effective-more-than-10-years-from-the-period",
        ),
        (
            "change-actioned-outside-period.xml",
            "Change",
            {**change, "actioned": "2026-11-01"},
            "actioned-outside-the-period",
        ),
        (
            "item-received-after-period.xml",
            "Item",
            {"ref": "NC000300", "kind": "new-claim", "received": "2026-11-01"},
            "received-after-the-last-day-of-the-period",
        ),
        (
            "item-received-over-10-years-before.xml",
            "Item",
            {"ref": "NC000300", "kind": "new-claim", "received": "2016-09-30"},
            "received-more-than-10-years-before-the-period",
        ),
        (
            "overpayment-identified-outside-period.xml",
            "Overpayment",
            {"ref": "OP000900", "claim": "HB9", "identified": "2026-09-30", "amount": "10.00", "cause": "other"},
            "identified-outside-the-period",
        ),
        (
            "recovery-date-outside-period.xml",
            "Recovery",
            {"overpayment": "OP000701", "date": "2026-11-01", "amount": "5.00"},
            "date-outside-the-period",
        ),
        (
            "writeoff-date-outside-period.xml",
            "WriteOff",
            {"overpayment": "OP000650", "date": "2026-09-30", "amount": "5.00"},
            "date-outside-the-period",
        ),
    ]
    out = []
    for name, element, record, rule in cases:
        text, line = with_record(element, record)
        out.append(
            Sample(
                f"record/{name}",
                text,
                "accepted",
                f"record.{rule}",
                f"{element}: {rule.replace('-', ' ')}",
                records_rejected=1,
                line=line,
            )
        )
    return out


MANUAL = (
    "authority,period,measure,value\n"
    f"{COUNCIL},{PERIOD},accuracy_cases_checked,120\n"
    f"{COUNCIL},{PERIOD},accuracy_cases_correct,114\n"
    f"{COUNCIL},{PERIOD},admin_cost_gbp,210000\n"
    f"{COUNCIL},{PERIOD},staff_fte,38.5\n"
    f"{COUNCIL},{PERIOD},calls_offered,5400\n"
    f"{COUNCIL},{PERIOD},calls_answered,4950\n"
)
COMMENTARY = (
    "authority,period,indicator,commentary,action,owner,due\n"
    f'{COUNCIL},{PERIOD},new_claims_days,"Two assessors on long-term sick leave; overtime agreed.",'
    '"Clear claims older than 30 days",Benefits Manager,2026-12-15\n'
    f'{COUNCIL},{PERIOD},,"Overall: recovery plan agreed with the Head of Revenues.",,,\n'
)


def manual_samples() -> list[Sample]:
    head, row = "authority,period,measure,value\n", f"{COUNCIL},{PERIOD},"
    return [
        Sample(
            "manual/file-not-utf8.csv",
            (head + row + "staff_fte,38.5\n" + "# caf\xe9\n").encode("latin-1"),
            "rejected",
            "file.encoding",
            "a byte that is not UTF-8 (Latin-1 é)",
            line=3,
        ),
        Sample(
            "manual/file-wrong-header.csv",
            "council,month,measure,value\n" + row + "staff_fte,38.5\n",
            "rejected",
            "file.header",
            "a header other than authority,period,measure,value",
            line=1,
        ),
        Sample("manual/file-no-rows.csv", head, "rejected", "file.rows", "a header and nothing after it", line=2),
        Sample(
            "manual/file-unclosed-quote.csv",
            head + row + 'staff_fte,"38.5\n',
            "rejected",
            "file.quotes",
            "a quote opened and never closed",
            line=2,
        ),
        Sample(
            "manual/row-not-a-member.csv",
            head + f"S12000099,{PERIOD},staff_fte,38.5\n" + row + "calls_offered,1\n",
            "accepted",
            "row.authority",
            "a row for a council that is not a member",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "manual/row-bad-period.csv",
            head + f"{COUNCIL},2026-13,staff_fte,38.5\n" + row + "calls_offered,1\n",
            "accepted",
            "row.period",
            "a month that does not exist",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "manual/row-unknown-measure.csv",
            head + row + "staff_headcount,40\n" + row + "calls_offered,1\n",
            "accepted",
            "row.measure",
            "a measure the return does not have",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "manual/row-bad-value.csv",
            head + row + 'calls_offered,"5,400"\n' + row + "staff_fte,38.5\n",
            "accepted",
            "row.value",
            "a thousands separator in a value",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "manual/row-fraction-in-a-count.csv",
            head + row + "accuracy_cases_checked,120.5\n" + row + "staff_fte,38.5\n",
            "accepted",
            "row.value",
            "a count with a fraction",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "manual/row-part-exceeds-whole.csv",
            head + row + "calls_offered,5400\n" + row + "calls_answered,5401\n",
            "accepted",
            "row.part-whole",
            "more calls answered than offered",
            records_rejected=1,
            line=3,
        ),
        Sample(
            "manual/row-wrong-number-of-fields.csv",
            head + row + "staff_fte\n" + row + "calls_offered,1\n",
            "accepted",
            "row.shape",
            "a row with three fields",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "commentary/row-unknown-indicator.csv",
            COMMENTARY.splitlines(keepends=True)[0]
            + f'{COUNCIL},{PERIOD},claims_speed,"Faster this month.",,,\n'
            + COMMENTARY.splitlines(True)[2],
            "accepted",
            "row.indicator",
            "an indicator id the framework does not have",
            records_rejected=1,
            line=2,
        ),
        Sample(
            "commentary/row-action-without-owner.csv",
            COMMENTARY.splitlines(keepends=True)[0]
            + f'{COUNCIL},{PERIOD},changes_days,"Backlog.","Clear it",,2026-12-15\n'
            + COMMENTARY.splitlines(True)[2],
            "accepted",
            "row.action",
            "an action without its owner",
            records_rejected=1,
            line=2,
        ),
    ]


def write(out: Path = HERE) -> list[Path]:
    """Every sample under ``out/samples/`` and ``out/expected.json``; returns the paths written."""
    written = []
    listed = []
    for sample in samples():
        path = out / "samples" / sample.path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = sample.content if isinstance(sample.content, bytes) else sample.content.encode("utf-8")
        path.write_bytes(data)
        written.append(path)
        listed.append(
            {
                "file": f"samples/{sample.path}",
                "submit_after": [f"samples/{p}" for p in sample.after],
                "outcome": sample.outcome,
                "records_rejected": sample.records_rejected,
                "rule": sample.rule,
                "line": sample.line,
                "conformant": sample.conformant,
                "what": sample.what,
            }
        )
    expected = {
        "standard": "HBPE 1.0 (hbpe-1.0.md), manual and commentary returns",
        "how": "submit the files in submit_after, in order, then file, to a fresh warehouse; `perfcore validate "
        "--as-sequence` with the same files judges them the same way. outcome and records_rejected are "
        "what `perfcore ingest` reports for file; rule is the rule id `perfcore validate` reports as "
        "failing (null: none), line the line it names; conformant: exit 0 from `perfcore validate`",
        "council": COUNCIL,
        "period": PERIOD,
        "samples": listed,
    }
    target = out / "expected.json"
    target.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return [*written, target]


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    paths = write(folder)
    print(f"wrote {len(paths)} files under {folder}")
