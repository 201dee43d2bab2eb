"""Nothing a submitted file holds can drive the operator's terminal.

File names and CSV fields come from councils' systems and e-mail: a hostile one
could carry escape sequences that retitle the terminal, clear it, or reorder what
is shown (bidi overrides). Every line the CLI prints, in every format, shows
control characters as visible escapes instead.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import pytest

from builders import claim, extract_xml, manual_csv, write
from perfcore.cli import main

# an OSC title change ended by BEL, a clear screen, a bare BEL, a right-to-left
# override, a C1 CSI (colour red), DEL and a line separator that would forge a new line
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x07\u202e\x9b31m\x7f\nACCEPTED forged.xml"
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\x9b", "\x7f")


def visible_only(text: str) -> bool:
    """True when no character but newline is a control or invisible format character."""
    return all(ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in text)


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
        ("a\u202eb", "a\\u202eb"),
        ("\x9b31m", "\\x9b31m"),
        ("\x7f", "\\x7f"),
        ("line\nnext\r", "line\\nnext\\r"),
        ("tab\there", "tab\\there"),
        ("zero\u200bwidth\u2028", "zero\\u200bwidth\\u2028"),
        ("bad\udcffbyte", "bad\\udcffbyte"),  # a file name that was not UTF-8 (surrogateescape)
        ("Dùn Èideann – £5 ✓", "Dùn Èideann – £5 ✓"),  # printable text stays as it is
    ],
)
def test_safe_shows_controls_as_visible_escapes(raw: str, shown: str) -> None:
    from perfcore import terminal

    assert terminal.safe(raw) == shown
    assert visible_only(terminal.safe(raw)) and "\n" not in terminal.safe(raw)


@pytest.fixture
def hostile_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    return [
        # a non-member: rejected, the name is printed with the reason
        write(folder / f"extract{HOSTILE}.xml", extract_xml(authority="S12000049")),
        # a good extract under a hostile name: accepted, the name is printed
        write(folder / f"good{HOSTILE}.xml", extract_xml(records=[claim("A", "2026-10-01", "2026-10-10")])),
        # hostile CSV fields: the rows are rejected, their fields quoted in the reasons and refs
        write(
            folder / f"return{HOSTILE}.csv",
            manual_csv(
                [
                    (f"S12000042{HOSTILE}", "2026-10", "calls_offered", 10),
                    ("S12000042", "2026-10", f"calls{HOSTILE}", 9),
                    ("S12000042", "2026-10", "calls_answered", f"9{HOSTILE}"),
                ]
            ),
        ),
        # a hostile header: the whole file is rejected with the header in the reason
        write(folder / "header.csv", f"authority,period{HOSTILE},measure,value\nS12000042,2026-10,calls_offered,1\n"),
    ]


def run(capsys, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    status = main([*args, "--warehouse", str(tmp_path / "wh" / "warehouse.duckdb"), "--today", "2026-11-26"])
    out, err = capsys.readouterr()
    return status, out, err


def assert_no_raw_controls(out: str, err: str) -> None:
    for stream in (out, err):
        assert visible_only(stream), [ch for ch in stream if not visible_only(ch)]
        assert not any(raw in stream for raw in RAW_CONTROLS)
        assert not any(line.startswith("ACCEPTED forged.xml") for line in stream.splitlines())


def test_ingest_and_listings_print_no_raw_control_character(capsys, tmp_path, hostile_files) -> None:
    status, out, err = run(capsys, tmp_path, "ingest", *map(str, hostile_files))
    assert status == 1
    assert_no_raw_controls(out, err)
    lines = out.splitlines()
    assert len(lines) == len(hostile_files)  # one line per file, whatever the names hold
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x07\\u202e\\x9b31m\\x7f\\nACCEPTED forged.xml" in out

    for command in ("rejections", "submissions"):
        for output_format in ("table", "json"):
            status, out, err = run(capsys, tmp_path, command, "--format", output_format)
            assert status == 0, err
            assert_no_raw_controls(out, err)
            assert "pwned" in out
            if output_format == "json":  # escaped, yet the same text once parsed
                assert any(HOSTILE in str(value) for row in json.loads(out) for value in row.values())


def test_error_lines_print_no_raw_control_character(capsys, tmp_path) -> None:
    status, out, err = run(capsys, tmp_path, "indicators", "--council", f"S1{HOSTILE}", "--period", "2026-10")
    assert status == 2
    assert_no_raw_controls(out, err)
    assert err.startswith("perfcore: error: ") and err.count("\n") == 1  # one line

    missing = tmp_path / f"missing{HOSTILE}.xml"
    status, out, err = run(capsys, tmp_path, "ingest", str(missing))
    assert status in (1, 2)
    assert_no_raw_controls(out, err)
    assert "pwned" in out + err


def test_argument_errors_print_no_raw_control_character(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, tmp_path, "rejections", f"--bogus{HOSTILE}")
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert_no_raw_controls(out, err)
    assert "--bogus" in err


def test_output_streams_are_restored(capsys, tmp_path) -> None:
    before = sys.stdout, sys.stderr
    run(capsys, tmp_path, "submissions")
    assert (sys.stdout, sys.stderr) == before
