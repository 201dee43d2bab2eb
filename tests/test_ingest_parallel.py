"""The fast extract reader (issue 11): expat reads the records while libxml2 validates on another thread.

``read_extract_fast`` must hand on exactly what ``read_extract`` hands on for every file it
vouches for, and vouch only for a whole, valid file; for anything else it raises ``ReadAgain``
and ``ingest`` reads the file the careful way, so every rejection keeps its words. No timing
here: ``bench/bench_ingest.py`` measures the speed.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from builders import Harness, change, claim, extract_xml, item, overpayment, recovery, write, write_off
from perfcore.intake import extract

RECORDS = [
    claim("A", "2026-10-01", "2026-10-05"),
    claim("B&amp;C", "2026-10-01", "2026-10-06", info="2026-10-02", outcome="refused"),
    change("E1", "2026-10-02", "2026-10-06"),
    change("E2", "2026-10-02", "2026-10-07", type_="rent", effective="2026-09-01"),
    item("W1", "2026-10-03"),
    item("W2", "2026-09-03", kind="change"),
    overpayment("O1", "2026-10-05", "250.00"),
    recovery("O1", "2026-10-20", "10.5"),
    write_off("O1", "2026-10-21", "0.01"),
]
BASE = extract_xml(records=RECORDS)
FIRST_CLAIM = '<Claim ref="A" received="2026-10-01" decided="2026-10-05" outcome="awarded"/>'

# Valid files laid out in every way a system might write them: both readers must read the same.
LAYOUTS = {
    "as written": lambda t: t,
    "CRLF line ends": lambda t: t.replace("\n", "\r\n"),
    "on one line": lambda t: t.replace("\n", ""),
    "start tags over several lines": lambda t: t.replace(' received="', '\n      received="').replace(
        " decided=", "\n decided="
    ),
    "single quotes": lambda t: t.replace('ref="A"', "ref='A'"),
    "attributes in another order": lambda t: t.replace(
        FIRST_CLAIM, '<Claim outcome="awarded" decided="2026-10-05" received="2026-10-01" ref="A"/>'
    ),
    "start and end tags": lambda t: t.replace('outcome="awarded"/>', 'outcome="awarded"></Claim>'),
    "comments and instructions between records": lambda t: t.replace(
        "<NewClaims>", "<NewClaims><!-- a\ncomment -->\n<?pi data?>"
    ),
    "references and accents": lambda t: t.replace('ref="A"', 'ref="&#65;&#x42;&lt;é"').replace(
        "Test Council", "Test &amp; &#x00e9; Council"
    ),
    "a byte-order mark": lambda t: "\ufeff" + t,
    "a prefixed root": lambda t: t.replace(
        '<Extract xmlns="urn:perfcore:hbpe:1"', '<h:Extract xmlns:h="urn:perfcore:hbpe:1" xmlns="urn:perfcore:hbpe:1"'
    ).replace("</Extract>", "</h:Extract>"),
    "header tags over several lines": lambda t: t.replace(
        '<Authority code="S12000042">', '<Authority\n code="S12000042"\n>'
    ).replace("<Sequence>", "<Sequence\n>"),
    "tabs in a value": lambda t: t.replace('ref="A"', 'ref="A\tZ&#9;Y"'),
}


def read(reader, path: Path, batch_rows: int = extract.BATCH_ROWS):
    """(header, its lines, [(element, lines, values)] per batch) as the reader hands them on."""
    batches = []

    def sink(batch: extract.Batch) -> None:
        assert 0 < len(batch) <= batch_rows
        batches.append((batch.section.element, list(batch.lines), list(batch.values)))

    header = reader(path, sink, lambda header: None, batch_rows)
    return header, header.lines, batches


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_fast_reader_reads_every_layout_as_the_careful_one_does(tmp_path, layout):
    path = write(tmp_path / "extract.xml", LAYOUTS[layout](BASE))
    careful = read(extract.read_extract, path, batch_rows=1)
    assert read(extract.read_extract_fast, path, batch_rows=1) == careful
    assert read(extract.read_extract_fast, path) == read(extract.read_extract, path)
    assert sum(len(lines) for _, lines, _ in careful[2]) == len(RECORDS)


# Valid files the two readers could read differently: the fast one leaves them to the careful one.
DOUBTFUL = {
    "a carriage return alone": lambda t: t.replace("\n", "\r"),
    "a comment inside a record": lambda t: t.replace('outcome="awarded"/>', 'outcome="awarded"><!--\n--></Claim>'),
    "a CDATA section": lambda t: t.replace("<NewClaims>", "<NewClaims><![CDATA[ ]]>"),
    "a comment in the header": lambda t: t.replace("<Period>", "<Period><!-- x -->"),
    "megabytes of blanks": lambda t: t.replace("<NewClaims>", "<NewClaims>" + " " * 5_000_000),
}


@pytest.mark.parametrize("layout", list(DOUBTFUL))
def test_layouts_the_readers_could_differ_on_are_read_again_and_still_load(tmp_path, layout):
    text = DOUBTFUL[layout](BASE)
    path = write(tmp_path / "extract.xml", text)
    read(extract.read_extract, path)  # valid: the careful reader takes it
    with pytest.raises(extract.ReadAgain):
        read(extract.read_extract_fast, path)
    result = Harness(tmp_path / "w").ingest(text)
    assert result.outcome == "accepted" and result.records_loaded == len(RECORDS)


INVALID = {
    "a bad date at the end": extract_xml(records=[*RECORDS, claim("Z", "2026-10-01", "2026-10-32")]),
    "an unknown attribute": extract_xml(records=[claim("A", "2026-10-01", "2026-10-02", colour="red")]),
    "a missing attribute": BASE.replace(' outcome="awarded"', "", 1),
    "the wrong version": extract_xml(version="2.0"),
    "another namespace": extract_xml(namespace="urn:other"),
    "no Caseload": extract_xml(caseload=None),
    "cut short": BASE[: len(BASE) // 2],
    "not well-formed": BASE.replace("</Header>", "</Headr>"),
    "a record outside its section": BASE.replace(
        "  </ChangeEvents>", '    <Item ref="X" kind="change" received="2026-10-01"/>\n  </ChangeEvents>'
    ),
    "a huge value": BASE.replace('ref="A"', 'ref="' + "A" * 5_000_000 + '"'),
    "blanks past libxml2's limit": BASE.replace("<NewClaims>", "<NewClaims>" + " " * 11_000_000),
    "a DOCTYPE after a long prolog": BASE.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n' + " " * 70_000 + "<!DOCTYPE Extract>\n",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_the_fast_reader_never_vouches_for_an_invalid_file(tmp_path, case):
    path = write(tmp_path / "extract.xml", INVALID[case])
    with pytest.raises(extract.FileRejected):
        read(extract.read_extract, path)
    with pytest.raises(extract.ReadAgain):
        read(extract.read_extract_fast, path)


def claims_in_their_own_attribute_orders(count: int) -> str:
    """An extract of ``count`` claims, each with its six attributes in an order no other claim uses."""
    claims = [claim(f"P{i:03d}", "2026-10-01", "2026-10-05", info="2026-10-02", tenure="social") for i in range(count)]
    orders = itertools.islice(itertools.permutations(range(6)), 1, None)  # not the order the builder writes
    text = extract_xml(records=claims)

    def reorder(match: re.Match) -> str:
        attributes = re.findall(r'\w+="[^"]*"', match.group(1))
        return "<Claim " + " ".join(attributes[i] for i in next(orders)) + "/>"

    return re.sub(r"<Claim ([^>]*)/>", reorder, text)


@pytest.mark.parametrize("count", [2, extract._LAYOUT_LIMIT])
def test_records_in_many_attribute_orders_are_read_as_the_careful_reader_reads_them(tmp_path, count):
    path = write(tmp_path / "extract.xml", claims_in_their_own_attribute_orders(count))
    careful = read(extract.read_extract, path)
    assert read(extract.read_extract_fast, path) == careful
    assert [values[:2] for _, _, values in careful[2]][0] == ["P000", "2026-10-01"]


def test_a_layout_picks_the_values_in_the_sections_order_whatever_the_sections_width():
    reader = extract._ExpatReader.__new__(extract._ExpatReader)
    wide = extract.SECTION_BY_TAG["{" + extract.NS + "}Item"]  # ref, kind, received
    narrow = extract.Section("Note", "Notes", "notes", (extract.hbpe.Attribute("ref", "ref", "ref"),))
    reader._layouts = {wide: {}, narrow: {}}
    pick = reader._pick_for(wide, ["received", "ref"])
    assert pick(["2026-10-01", "W1", extract.ABSENT]) == ("W1", extract.ABSENT, "2026-10-01")
    assert reader._pick_for(narrow, ["ref"])(["N1", extract.ABSENT]) == ("N1",)
    assert reader._pick_for(narrow, [])([extract.ABSENT]) == (extract.ABSENT,)


def test_records_in_more_attribute_orders_than_a_system_writes_are_left_to_the_careful_reader(tmp_path):
    text = claims_in_their_own_attribute_orders(extract._LAYOUT_LIMIT + 1)
    with pytest.raises(extract.ReadAgain, match="attribute layouts"):
        read(extract.read_extract_fast, write(tmp_path / "extract.xml", text))
    result = Harness(tmp_path / "w").ingest(text)
    assert (result.outcome, result.records_loaded) == ("accepted", extract._LAYOUT_LIMIT + 1)


def test_a_sink_failure_is_raised_for_a_valid_file_and_read_again_for_an_invalid_one(tmp_path):
    def failing(batch: extract.Batch) -> None:
        raise LookupError("the sink failed")

    valid = write(tmp_path / "valid.xml", BASE)
    with pytest.raises(LookupError, match="the sink failed"):
        extract.read_extract_fast(valid, failing, lambda header: None)
    invalid = write(tmp_path / "invalid.xml", INVALID["a bad date at the end"])
    with pytest.raises(extract.ReadAgain):
        extract.read_extract_fast(invalid, failing, lambda header: None)


def test_a_header_check_failing_is_read_again_before_any_record(tmp_path):
    path = write(tmp_path / "extract.xml", BASE)
    handed: list[extract.Batch] = []

    def refuse(header: extract.Header) -> None:
        assert header.authority == "S12000042" and header.line_of("Authority") == 4
        raise LookupError("not ours")

    with pytest.raises(extract.ReadAgain) as raised:
        extract.read_extract_fast(path, handed.append, refuse)
    assert isinstance(raised.value.__cause__, LookupError) and handed == []


class _Interrupted(BaseException):
    """Not an ``Exception``: as Ctrl-C, it goes through the reader untouched."""


def test_the_validator_thread_is_gone_on_every_way_out(tmp_path):
    valid = write(tmp_path / "valid.xml", BASE)
    invalid = write(tmp_path / "invalid.xml", INVALID["a bad date at the end"])

    def validators() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name == "perfcore-xsd"]

    def failing(batch: extract.Batch) -> None:
        raise LookupError

    def interrupted(header: extract.Header) -> None:
        raise _Interrupted

    extract.read_extract_fast(valid, lambda batch: None, lambda header: None)
    assert validators() == []
    with pytest.raises(extract.ReadAgain):
        extract.read_extract_fast(invalid, lambda batch: None, lambda header: None)
    assert validators() == []
    with pytest.raises(LookupError):
        extract.read_extract_fast(valid, failing, lambda header: None)
    assert validators() == []
    with pytest.raises(_Interrupted):
        extract.read_extract_fast(valid, lambda batch: None, interrupted)
    assert validators() == []


PROBE_FIFO = """
import sys
from pathlib import Path
from perfcore.intake import extract
try:
    extract.read_extract_fast(Path(sys.argv[1]), lambda batch: None, lambda header: None)
except extract.ReadAgain:
    print("read again")
"""


def test_the_gil_changes_hands_often_while_a_fast_read_runs_and_as_before_after_it(tmp_path):
    seen = []
    before = sys.getswitchinterval()
    extract.read_extract_fast(
        write(tmp_path / "valid.xml", BASE), lambda batch: seen.append(sys.getswitchinterval()), lambda header: None
    )
    assert seen and set(seen) == {min(before, extract._SwitchInterval.SHORT)}
    assert sys.getswitchinterval() == before
    with pytest.raises(extract.ReadAgain):
        read(extract.read_extract_fast, write(tmp_path / "invalid.xml", INVALID["a bad date at the end"]))
    assert sys.getswitchinterval() == before


def test_concurrent_fast_reads_put_the_interval_back_only_when_the_last_ends(tmp_path):
    """A thread's read starts first and ends first, in the middle of this thread's read."""
    path, before = write(tmp_path / "valid.xml", BASE), sys.getswitchinterval()
    thread_reading, may_end, seen = threading.Event(), threading.Event(), []

    def thread_sink(batch):
        thread_reading.set()
        may_end.wait(timeout=30)

    thread = threading.Thread(target=extract.read_extract_fast, args=(path, thread_sink, lambda h: None))
    thread.start()
    assert thread_reading.wait(timeout=30)

    def sink(batch):
        if not seen:
            may_end.set()
            thread.join(timeout=30)
        seen.append(sys.getswitchinterval())

    extract.read_extract_fast(path, sink, lambda header: None)
    assert not thread.is_alive()
    assert seen and set(seen) == {min(before, extract._SwitchInterval.SHORT)}
    assert sys.getswitchinterval() == before


def test_a_doctype_naming_a_fifo_is_refused_without_opening_it(tmp_path):
    """The validator refuses a DOCTYPE before any entity is declared: were the entity read, the
    FIFO would block the validator for good (a subprocess, so that a hang fails the test)."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    prolog = '<?xml version="1.0"?>\n' + " " * 70_000 + f'<!DOCTYPE Extract [<!ENTITY x SYSTEM "{fifo}">]>\n'
    path = write(tmp_path / "extract.xml", extract_xml(prolog=prolog).replace("Test Council", "&x;"))
    done = subprocess.run([sys.executable, "-c", PROBE_FIFO, str(path)], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "read again", done.stderr


def test_record_lines_past_65535_are_the_lines_the_records_are_on(tmp_path):
    """libxml2 keeps an element's line in 16 bits and guesses bigger ones from the next text, one
    too high; the fast reader counts them itself."""
    records = [claim(f"C{i:06d}", "2026-10-01", "2026-10-09") for i in range(66_000)]
    for i in (65_530, 65_600, 65_990):
        records[i] = claim(f"BAD{i}", "2026-09-01", "2026-09-30")  # decided outside the Period
    text = extract_xml(records=records)
    h = Harness(tmp_path)
    result = h.ingest(text)
    assert (result.outcome, result.records_rejected) == ("accepted", 3)
    on = {line.split('"')[1]: n for n, line in enumerate(text.splitlines(), 1) if "BAD" in line}
    assert {r["ref"]: r["line"] for r in h.rejections()} == on
    assert max(on.values()) > 65_535


def test_the_fast_path_loads_what_the_careful_path_loads(tmp_path, monkeypatch):
    records = [
        *RECORDS,
        claim("A", "2026-10-02", "2026-10-07"),  # a repeated ref
        claim("LATE", "2026-10-12", "2026-10-09"),  # received after decided
        change("OLD", "2016-09-30", "2026-10-02"),  # notified more than 10 years back
        *(item(f"W{i:04d}", "2026-10-03") for i in range(2_500)),
    ]
    text = LAYOUTS["start tags over several lines"](extract_xml(records=records))
    tables = ("claims", "changes", "work_items", "overpayments", "recoveries", "write_offs", "rejections")

    def contents(h: Harness) -> dict[str, list[tuple]]:
        return {t: sorted(map(repr, h.con.execute(f"select * from {t}").fetchall())) for t in tables}

    fast = Harness(tmp_path / "fast")
    read_fast = fast.ingest(text, name="extract.xml")

    def read_again(*args, **kwargs):
        raise extract.ReadAgain("as if in doubt")

    monkeypatch.setattr(extract, "read_extract_fast", read_again)
    careful = Harness(tmp_path / "careful")
    read_careful = careful.ingest(text, name="extract.xml")
    assert read_fast == read_careful and read_fast.records_rejected == 3
    assert contents(fast) == contents(careful)
    assert fast.count("work_items") == 2_502


@pytest.mark.parametrize(
    "layout, travel", [("as written", range), ("on one line", list), ("start tags over several lines", list)]
)
def test_every_record_is_stored_with_the_line_the_careful_reader_gives_it(tmp_path, monkeypatch, layout, travel):
    """Records one to a line travel to DuckDB as a range of lines, any other layout as a list."""
    from perfcore.intake import ingest

    compact, travelled = ingest._compact, []
    monkeypatch.setattr(ingest, "_compact", lambda lines: travelled.append(compact(lines)) or travelled[-1])
    records = [*RECORDS, *(item(f"W{i:04d}", "2026-10-03") for i in range(300))]
    text = LAYOUTS[layout](extract_xml(records=records))
    path = write(tmp_path / "extract.xml", text)
    expected = {
        element: [line for name, lines, _ in read(extract.read_extract, path)[2] if name == element for line in lines]
        for element in ("Claim", "Change", "Item")
    }
    h = Harness(tmp_path / "w")
    assert h.ingest(text).outcome == "accepted"
    for element, table in (("Claim", "claims"), ("Change", "changes"), ("Item", "work_items")):
        stored = [line for (line,) in h.con.execute(f"select line from {table} order by rowid").fetchall()]
        assert stored == expected[element]
    assert any(isinstance(lines, travel) for lines in travelled)


def test_lines_are_a_range_only_when_they_are_one_apart():
    from perfcore.intake.ingest import _compact

    assert _compact([7, 8, 9]) == range(7, 10)
    assert _compact([7]) == range(7, 8)
    for lines in ([7, 7, 9], [7, 9], [9, 8, 7, 10], [3, 3, 3], []):
        assert _compact(lines) == lines and isinstance(_compact(lines), list)


def test_a_value_holding_a_separator_is_refused_not_misaligned():
    from perfcore.intake import ingest

    section = extract.SECTION_BY_TAG["{" + extract.NS + "}Item"]
    batch = extract.Batch(section, [5, 6], ["W1", "change", "2026-10-01", "W\x1f2", "change", "2026-10-02"])
    with pytest.raises(ValueError, match="separator"):
        ingest._batch_text(batch)
    batch.values[3] = "W2"
    assert ingest._batch_text(batch) == "W1\x1fchange\x1f2026-10-01\x1eW2\x1fchange\x1f2026-10-02"


PROBE_MEMORY = """
import resource, sys
from pathlib import Path
from perfcore.intake import extract
records = 0
def sink(batch):
    global records
    records += len(batch)
extract.read_extract_fast(Path(sys.argv[1]), sink, lambda header: None)
print(records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_the_fast_reader_keeps_memory_flat_in_file_size(tmp_path):
    from test_extract_memory import write_extract

    def peak(path: Path) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", PROBE_MEMORY, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        records, mib = done.stdout.split()
        return int(records), int(mib)

    small = peak(write_extract(tmp_path / "small.xml", 20_000))
    large = peak(write_extract(tmp_path / "large.xml", 200_000))
    assert (small[0], large[0]) == (20_000, 200_000)
    assert large[1] - small[1] < 16, f"peak RSS {small[1]} MiB for 20k records, {large[1]} MiB for 200k"
