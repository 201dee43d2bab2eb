"""The manager's commentary and actions on the pages (issue 10, item 5): what shows, what stays open, what is overdue,
and hostile text published literally in HTML, the PDF (real Typst) and the search index.

Small warehouses through the real ingest; pages rendered with real pandoc and Typst and read back with pypdf.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from builders import Harness, claim, extract_xml
from perfcore.intake.commentary import HEADER
from test_pages_hostile import flat, pdf_text, render

ROOT = Path(__file__).resolve().parents[1]
DUNDEE, MIDLOTHIAN, EAST_AYRSHIRE = "S12000042", "S12000019", "S12000008"


def commentary_csv(rows) -> str:
    """authority, period, indicator, commentary, action, owner, due per row (quoted as a spreadsheet would)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def send(harness: Harness, *rows) -> None:
    result = harness.ingest(commentary_csv(rows), suffix=".csv")
    assert (result.kind, result.outcome, result.records_rejected) == ("commentary", "accepted", 0), result.reason


def month_of_claims(code: str, period: str, days: int = 4) -> str:
    return extract_xml(
        code, period, [claim(f"C{code}{period}{i}", f"{period}-01", f"{period}-{1 + days:02d}") for i in range(3)]
    )


def load(folder: Path, period: str):
    from perfcore.reporting import report

    return report.load(
        period, warehouse=folder / "warehouse.duckdb", parameters=ROOT / "parameters", today="2026-11-26"
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Dundee's and Midlothian's figures and commentary for September to November 2026."""
    folder = tmp_path_factory.mktemp("commentary")
    harness = Harness(folder)
    for period in ("2026-09", "2026-10"):
        assert harness.ingest(month_of_claims(DUNDEE, period)).outcome == "accepted"
    send(
        harness,
        (
            DUNDEE,
            "2026-09",
            "new_claims_days",
            "Two assessors off sick.",
            "Clear claims older than 30 days",
            "Benefits Manager",
            "2026-09-20",
        ),
        (DUNDEE, "2026-09", "changes_days", "Change backlog.", "Clear the backlog", "Team Leader", "2026-12-01"),
        (DUNDEE, "2026-09", "", "A hard month overall.", "", "", ""),
        (DUNDEE, "2026-09", "accuracy_pct", "", "Check a sample of 50 claims", "Quality Officer", "2026-10-31"),
    )
    send(
        harness,
        (DUNDEE, "2026-10", "changes_days", "Change backlog cleared.", "done", "", ""),
        (DUNDEE, "2026-10", "new_claims_days", "Still two assessors off.", "", "", ""),
        (DUNDEE, "2026-10", "calls_answered_pct", "Phones down.", "Replace the switchboard", "IT", "2026-12-31"),
        (DUNDEE, "2026-10", "", "Recovery under way.", "", "", ""),
        (MIDLOTHIAN, "2026-08", "new_claims_days", "Sickness.", "Recruit", "Head of Revenues", "2026-10-30"),
    )
    # A later row for the same council, month and indicator replaces the earlier one, action and all.
    send(harness, (DUNDEE, "2026-10", "calls_answered_pct", "Phones back: the switch was a loose cable.", "", "", ""))
    # Raised in November: not on October's page.
    send(harness, (DUNDEE, "2026-11", "caseload", "Caseload up.", "Forecast the caseload", "Analyst", "2026-12-15"))
    harness.con.close()
    return folder


def test_the_months_commentary_per_indicator_in_framework_order_and_for_the_month(warehouse):
    from perfcore.reporting import report

    data = load(warehouse, "2026-10")
    notes = report.commentary(data, DUNDEE)
    assert notes.month == "Recovery under way."
    assert [(c.indicator, c.text) for c in notes.indicators] == [
        ("new_claims_days", "Still two assessors off."),
        ("changes_days", "Change backlog cleared."),
        ("calls_answered_pct", "Phones back: the switch was a loose cable."),
    ]
    table = report.commentary_table(data, DUNDEE, notes)
    assert list(table.columns) == ["Indicator", "This month", "Status", "Commentary"]
    first = table.iloc[0]
    assert first["Indicator"] == "New claims, days"
    days = data.framework.indicator("new_claims_days")
    assert first["This month"] == days.format(report.value(data, DUNDEE, days.id)) == "5.0 days"  # beside the words
    assert first["Status"] == "✔ Green"
    assert not report.commentary(data, EAST_AYRSHIRE)
    assert (
        report.commentary_sentence(data, report.commentary(data, EAST_AYRSHIRE), "East Ayrshire")
        == "East Ayrshire sent no commentary for October 2026."
    )


def test_open_actions_are_carried_forward_until_a_later_month_says_done(warehouse):
    from perfcore.reporting import report

    september = report.open_actions(load(warehouse, "2026-09"), DUNDEE)
    assert [(a.indicator, a.overdue) for a in september] == [
        ("new_claims_days", True),
        ("accuracy_pct", False),
        ("changes_days", False),
    ]  # overdue first, then by due
    october = report.open_actions(load(warehouse, "2026-10"), DUNDEE)
    # changes_days closed by October's 'done'; the replaced calls_answered action is gone; November's is not yet raised
    assert [(a.indicator, a.raised, a.overdue) for a in october] == [
        ("new_claims_days", "2026-09", True),
        ("accuracy_pct", "2026-09", False),
    ]
    assert october[1].due.isoformat() == "2026-10-31"  # due on the month's last day: not overdue yet


def test_an_action_with_words_only_in_a_later_month_stays_open(warehouse):
    from perfcore.reporting import report

    november = report.open_actions(load(warehouse, "2026-11"), DUNDEE)
    assert {a.indicator for a in november} == {"new_claims_days", "accuracy_pct", "caseload"}
    assert {a.indicator for a in november if a.overdue} == {"new_claims_days", "accuracy_pct"}


def test_the_actions_table_marks_overdue_in_words_and_a_symbol(warehouse):
    from perfcore.reporting import report

    data = load(warehouse, "2026-10")
    actions = report.open_actions(data, DUNDEE)
    table = report.actions_table(data, actions)
    assert list(table.columns) == ["Indicator", "Action", "Owner", "Due", "Raised", "Status"]
    assert table.iloc[0].to_dict() == {
        "Indicator": "New claims, days",
        "Action": "Clear claims older than 30 days",
        "Owner": "Benefits Manager",
        "Due": "20 Sep 2026",
        "Raised": "September 2026",
        "Status": "⚠ Overdue",
    }
    assert table.iloc[1]["Status"] == "Open"
    assert report.actions_sentence(data, actions, "Dundee City").startswith(
        "2 actions are open at the end of October 2026; 1 of them is overdue"
    )
    assert (
        report.actions_sentence(data, [], "East Ayrshire")
        == "East Ayrshire has no open actions at the end of October 2026."
    )


def test_overdue_actions_across_councils_for_the_analysts(warehouse):
    from perfcore.reporting import report

    data = load(warehouse, "2026-10")
    overdue = report.overdue_actions(data)
    assert [(a.council, a.indicator) for a in overdue] == [(DUNDEE, "new_claims_days"), (MIDLOTHIAN, "new_claims_days")]
    table = report.actions_table(data, overdue, councils=True)
    assert list(table["Council"]) == ["Dundee City", "Midlothian"] and set(table["Status"]) == {"⚠ Overdue"}
    assert (
        report.overdue_sentence(data, overdue)
        == "2 actions at 2 councils were due before the end of October 2026 and are not yet done."
    )


# --- the council page's freeze: commentary is the council's own data --------------------------------------


def test_a_new_commentary_row_re_plans_only_that_councils_page(tmp_path):
    from perfcore.build.runner import plan
    from perfcore.render import load_site_config

    harness = Harness(tmp_path)
    for code in (DUNDEE, MIDLOTHIAN):
        assert harness.ingest(month_of_claims(code, "2026-10")).outcome == "accepted"

    def fingerprints() -> dict[str, str]:
        from perfcore import warehouse

        harness.con.close()  # the build reads a snapshot; DuckDB lets one process open a file one way at a time
        jobs = plan(
            load(tmp_path, "2026-10"),
            load_site_config(ROOT),
            root=ROOT,
            reports_dir=tmp_path / "reports",
            site=tmp_path / "site",
            only=("report", "onboarding"),
        )
        harness.con = warehouse.connect(tmp_path / "warehouse.duckdb")
        return {job.label: job.fingerprint for job in jobs}

    before = fingerprints()
    send(harness, (DUNDEE, "2026-10", "new_claims_days", "Better.", "", "", ""))
    after = fingerprints()
    changed = {label for label in before if before[label] != after[label]}
    assert changed == {"councils/dundee-city/2026-10/report.html", "analysts/2026-10/onboarding.html"}
    # one return with two councils' rows (its submission names no council) re-plans both councils' pages
    send(harness, (DUNDEE, "2026-10", "", "Fine.", "", "", ""), (MIDLOTHIAN, "2026-10", "", "Fine.", "", "", ""))
    again = fingerprints()
    changed = {label for label in after if after[label] != again[label] and label.startswith("councils/")}
    assert changed == {"councils/dundee-city/2026-10/report.html", "councils/midlothian/2026-10/report.html"}
    harness.con.close()


# --- hostile commentary, published literally --------------------------------------------------------------

LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 12  # 540 letters, no space to break at
HOSTILE = (
    "<script>alert(1)</script> #set page(fill: red) $x$ *bold* [link](javascript:alert(1)) @ref "
    "back\\slash \\\\ <!-- hidden --> _under_ `code` | pipe | &amp; ]] {{ " + LONG_WORD
)
ACTION = "<img src=x onerror=alert(1)> #emph[act] $y$"
OWNER = "**Owner** @boss \\ <b>"
TAIL = "END-OF-COMMENT"  # the last words of a 1,900-character comment: shown, not cut at a table cell's 200


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    """Hostile commentary sent through ingestion, shown as council.ipynb shows it, rendered to HTML and PDF."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from perfcore.reporting import display, report

    folder = tmp_path_factory.mktemp("hostile-commentary")
    harness = Harness(folder)
    assert harness.ingest(month_of_claims(DUNDEE, "2026-10")).outcome == "accepted"
    long_comment = ("word " * 376) + TAIL
    send(
        harness,
        (DUNDEE, "2026-10", "new_claims_days", HOSTILE, ACTION, OWNER, "2026-10-02"),
        (DUNDEE, "2026-10", "changes_days", long_comment, "", "", ""),
        (DUNDEE, "2026-10", "", HOSTILE, "", "", ""),
    )
    harness.con.close()
    data = load(folder, "2026-10")
    notes = report.commentary(data, DUNDEE)
    actions = report.open_actions(data, DUNDEE)
    cell = new_code_cell("# the Manager's commentary section, as council.ipynb emits it")
    cell.outputs = [
        display.callout_bundle("note", display.md_literal(notes.month), title=report.MONTH_AS_A_WHOLE).as_output(),
        display.table_bundle(
            report.commentary_table(data, DUNDEE, notes), "Commentary", id="commentary", limit=report.COMMENTARY_LIMIT
        ).as_output(),
        display.table_bundle(
            report.actions_table(data, actions), "Open actions", id="actions-open", limit=report.COMMENTARY_LIMIT
        ).as_output(),
    ]
    notebook = new_notebook(cells=[new_markdown_cell("# Manager's commentary"), cell])
    return render(notebook, folder, audience="council", report="report", pdf=True, council=DUNDEE)


def test_hostile_commentary_is_escaped_in_html(hostile_page):
    from bs4 import BeautifulSoup

    page = hostile_page.html.read_text(encoding="utf-8")
    main = BeautifulSoup(page, "html.parser").find("main")
    assert not main.find_all("script") and not main.find_all("img") and not main.find_all("b")
    assert not [a for a in main.find_all("a") if "javascript" in (a.get("href") or "")]
    assert not main.find_all("em") and not main.find_all("code")  # *bold*, _under_, `code` stayed text
    assert "<!--" not in str(main).replace("&lt;!--", "")  # no comment hides anything
    commentary = main.find("table", id="tbl-commentary")  # display.table(id="commentary")
    assert HOSTILE in flat(commentary.get_text())  # each character as sent
    actions = main.find("table", id="tbl-actions-open")
    assert ACTION in actions.get_text() and OWNER in actions.get_text() and "⚠ Overdue" in actions.get_text()
    assert TAIL in main.get_text()  # the full comment, not cut at 200 characters
    callout = main.find(class_=re.compile("callout"))
    assert callout is not None and HOSTILE in flat(callout.get_text())


def test_hostile_commentary_leaves_the_pdf_compiling_and_shows_literally(hostile_page):
    text = flat(pdf_text(hostile_page.pdf)).replace(" ", "")
    for literal in (
        "<script>alert(1)</script>",
        "#setpage(fill:red)",
        "$x$",
        "*bold*",
        "[link](javascript:alert(1))",
        "@ref",
        "back\\slash\\\\",
        "<!--hidden-->",
        "_under_",
        "`code`",
        "|pipe|",
        "&amp;",
        "]]{{",
        "<imgsrc=xonerror=alert(1)>#emph[act]$y$",
        "**Owner**@boss\\<b>",
        TAIL,
        "⚠Overdue",
    ):
        assert literal in text, literal
    assert LONG_WORD[:200] in re.sub(r"-", "", text)  # the long word is all there (broken across lines at most)


def test_hostile_commentary_is_plain_text_in_the_search_index(hostile_page):
    text = flat(hostile_page.text)
    assert text.count(HOSTILE) == 2  # the month's comment and the indicator's
    assert ACTION in text and OWNER in text and TAIL in text


# --- the demo: commentary and actions for a few councils, so the pages show them -------------------------


def test_the_demo_writes_commentary_that_the_pages_show(tmp_path):
    from datetime import date

    from perfcore.config.parameters import load_consortium
    from perfcore.demo import write_demo_data
    from perfcore.reporting import report

    consortium = load_consortium(ROOT / "parameters")
    summary = write_demo_data(
        tmp_path / "demo",
        consortium=consortium,
        councils=8,
        months=7,
        today=date(2026, 11, 26),
        initiatives_file=ROOT / "parameters" / "initiatives.yaml",
    )
    assert set(summary.stories["commentary"]) == {DUNDEE, MIDLOTHIAN, "S12000011"}
    assert set(summary.commentary_files) == set((tmp_path / "demo" / "commentary").glob("*.csv"))
    assert set(summary.commentary_files) <= set(summary.files)
    harness = Harness(tmp_path)
    for path in summary.commentary_files:  # what perfcore ingest does with the folder: told apart by the header
        result = harness.ingest(path.read_text(encoding="utf-8"), name=path.name)
        assert (result.kind, result.outcome, result.records_rejected) == ("commentary", "accepted", 0), result.reason
    harness.con.close()
    data = load(tmp_path, summary.periods[-1])
    midlothian = report.open_actions(data, MIDLOTHIAN)
    assert [(a.indicator, a.overdue) for a in midlothian] == [("new_claims_days", True), ("new_claims_days", False)]
    assert "calls_answered_pct" not in {a.indicator for a in midlothian}  # closed with 'done'
    before = load(tmp_path, summary.periods[-6])
    assert [a.indicator for a in report.open_actions(before, MIDLOTHIAN)] == ["calls_answered_pct"]  # still open then
    assert report.commentary(data, DUNDEE).month and report.commentary(data, MIDLOTHIAN).month
    assert [c.indicator for c in report.commentary(data, "S12000011").indicators] == ["changes_days"]
    assert [(a.council, a.indicator) for a in report.overdue_actions(data)] == [(MIDLOTHIAN, "new_claims_days")]


@pytest.mark.slow
def test_the_demo_site_shows_commentary_to_the_council_and_overdue_actions_to_the_analysts_only(demo_site):
    summary, site, _ = demo_site
    midlothian = (site / "councils" / "midlothian" / summary.period / "report.html").read_text(encoding="utf-8")
    assert "Open actions" in midlothian and "⚠ Overdue" in midlothian
    assert "Clear new claims older than 30 days" in midlothian
    onboarding = (site / "analysts" / summary.period / "onboarding.html").read_text(encoding="utf-8")
    assert "Clear new claims older than 30 days" in onboarding and "First commentary" in onboarding
    # a council's commentary is its own: never on what every member can open
    for page in (site / "consortium").rglob("*"):
        if page.suffix in (".html", ".json"):
            assert "Clear new claims" not in page.read_text(encoding="utf-8"), page
