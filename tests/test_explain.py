"""Where a figure comes from: ``reporting.explain``, ``perfcore explain`` and the figures pages.

Read from reporting_builders' real warehouse (ten members, September and October 2026): every
figure explained must be the figure ``perfcore indicators`` prints, its parts must add up to it,
and the files named must be those ``perfcore submissions`` lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import reporting_builders
from builders import Harness, real_parameters
from perfcore import warehouse
from perfcore.exceptions import PerfcoreError
from perfcore.intake.ingest import submissions
from perfcore.reporting import explain
from perfcore.warehouse import indicators

ROOT = Path(__file__).resolve().parents[1]
PERIOD, PREVIOUS = reporting_builders.PERIOD, reporting_builders.PREVIOUS
CONSORTIUM, FRAMEWORK = real_parameters()
FIRST, LAST = CONSORTIUM.codes[0], CONSORTIUM.codes[-1]


def evidence_of(path: Path) -> explain.Evidence:
    con = warehouse.connect(path, read_only=True)
    try:
        return explain.read_evidence(con, CONSORTIUM, FRAMEWORK)
    finally:
        con.close()


def listed(path: Path) -> list[dict]:
    con = warehouse.connect(path, read_only=True)
    try:
        return submissions(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def evidence(reporting_warehouse) -> explain.Evidence:
    return evidence_of(reporting_warehouse)


@pytest.fixture(scope="module")
def table(reporting_warehouse):
    con = warehouse.connect(reporting_warehouse, read_only=True)
    try:
        return indicators.compute(con, FRAMEWORK, CONSORTIUM.codes)
    finally:
        con.close()


@pytest.mark.parametrize(
    "indicator",
    ["new_claims_days", "new_claims_decided", "new_claims_within_14_days_pct", "la_error_overpayment_pct", "rti_days"],
)
@pytest.mark.parametrize("code", [FIRST, CONSORTIUM.codes[4]])
def test_the_figure_is_the_indicator_tables_and_its_parts_add_up(evidence, table, code, indicator):
    found = explain.explain(evidence, code, PERIOD, indicator)
    row = table[(table["area"] == code) & (table["period"] == PERIOD) & (table["indicator"] == indicator)].iloc[0]
    assert found.value == row["value"] and found.numerator == row["numerator"]
    assert found.value == indicators.values_for(table, FRAMEWORK, code, PERIOD)[indicator]  # `perfcore indicators`
    numerator = sum(p.value for p in found.parts if p.role == "numerator")
    assert numerator == pytest.approx(found.numerator)
    if found.indicator.is_ratio:
        assert found.denominator == row["denominator"]
        assert sum(p.value for p in found.parts if p.role == "denominator") == pytest.approx(found.denominator)
        assert found.value == pytest.approx(found.indicator.scale * found.numerator / found.denominator)
    before = table[(table["area"] == code) & (table["period"] == PREVIOUS) & (table["indicator"] == indicator)]
    assert found.previous == before["value"].iloc[0]
    pooled = table[(table["area"] == "consortium") & (table["period"] == PERIOD) & (table["indicator"] == indicator)]
    assert found.consortium == pooled["value"].iloc[0]
    assert found.framework_version == FRAMEWORK.version


def test_new_claims_days_reads_as_days_over_claims(evidence):
    found = explain.explain(evidence, FIRST, PERIOD, "new_claims_days")
    # four claims of 12 days each (reporting_builders), so 48 days over 4 claims
    assert (found.numerator, found.denominator, found.value) == (48, 4, 12)
    assert found.formula == "48 days ÷ 4 claims = 12.0 days"
    assert found.window == (PERIOD,) and found.why_null is None
    assert [(p.name, p.role, p.source) for p in found.parts] == [
        ("claims_days", "numerator", "HBPE NewClaims"),
        ("claims_decided", "denominator", "HBPE NewClaims"),
    ]
    cost = explain.explain(evidence, FIRST, PERIOD, "cost_per_case")
    assert [p.source for p in cost.parts] == ["manual return", "HBPE Caseload"]


def test_a_financial_year_to_date_figure_counts_only_months_with_data(evidence):
    found = explain.explain(evidence, FIRST, PERIOD, "la_error_overpayment_pct")
    assert found.window == tuple(f"2026-{m:02d}" for m in range(4, 11))
    assert [m.period for m in found.months if m.counted] == [PREVIOUS, PERIOD]
    # each month: one £2,000 LA-error overpayment over £400,000 of expenditure
    assert (found.numerator, found.denominator) == (4000, 800000)
    assert [f.period for f in found.files] == [PREVIOUS, PERIOD]


def test_a_null_figure_says_why(evidence):
    # the second member sent no manual return: no accuracy figure, and the reason names the measures
    found = explain.explain(evidence, CONSORTIUM.codes[1], PERIOD, "accuracy_pct")
    assert found.value is None and found.numerator is None
    assert "accuracy_cases_correct" in found.why_null and "not received" in found.why_null
    assert found.files == ()
    # the last member sent no changes in October: nothing to divide by, which is not a figure of 0
    empty = explain.explain(evidence, LAST, PERIOD, "changes_days")
    assert empty.value is None and empty.denominator == 0
    assert "nothing to divide by" in empty.why_null
    assert explain.text_lines(empty)  # the command prints it without tripping on the nulls


def test_the_files_are_those_perfcore_submissions_lists(evidence, reporting_warehouse):
    found = explain.explain(evidence, FIRST, PERIOD, "new_claims_days")
    rows = [
        r
        for r in listed(reporting_warehouse)
        if (r["authority"], r["period"], r["kind"], r["outcome"]) == (FIRST, PERIOD, "extract", "accepted")
    ]
    assert [(f.name, f.sha256, f.sequence, f.received) for f in found.files] == [
        (r["file_name"], r["sha256"], r["sequence"], r["received_at"]) for r in rows
    ]
    assert all(f.status == "counted" for f in found.files)
    # a manual figure names the manual return, and only it
    accuracy = explain.explain(evidence, FIRST, PERIOD, "accuracy_pct")
    assert [f.kind for f in accuracy.files] == ["manual return"]
    assert accuracy.value == pytest.approx(97.0)


def test_a_replaced_extract_shows_as_replaced(reporting_warehouse, tmp_path):
    path = reporting_builders.copy(reporting_warehouse, tmp_path / "wh")
    h = Harness(path.parent, today=reporting_builders.TODAY)
    h.ingest(reporting_builders.council_extract(FIRST, PERIOD, 20, sequence=2), name="dundee-october-seq2.xml")
    h.con.close()
    found = explain.explain(evidence_of(path), FIRST, PERIOD, "new_claims_days")
    assert found.value == 20
    old, new = found.files
    assert (old.sequence, old.status, old.replaced_by) == (1, "replaced", "dundee-october-seq2.xml")
    assert (new.name, new.sequence, new.status, new.replaced_by) == ("dundee-october-seq2.xml", 2, "counted", None)


def test_unknown_council_indicator_or_month_is_one_line_naming_what_there_is(evidence):
    with pytest.raises(PerfcoreError, match="not a member council"):
        explain.explain(evidence, "S12999999", PERIOD, "new_claims_days")
    with pytest.raises(PerfcoreError, match="new_claims_days") as error:
        explain.explain(evidence, FIRST, PERIOD, "speed")
    assert "\n" not in str(error.value)
    with pytest.raises(PerfcoreError, match=f"months with figures: {PREVIOUS} to {PERIOD}"):
        explain.explain(evidence, FIRST, "2031-01", "new_claims_days")
    with pytest.raises(PerfcoreError, match="YYYY-MM"):
        explain.explain(evidence, FIRST, "October", "new_claims_days")


def test_the_consortium_figure_is_pooled_from_the_members(evidence, table):
    pooled = explain.explain_pooled(evidence, PERIOD, "new_claims_days")
    assert pooled.numerator == sum(m.numerator for m in pooled.members)
    assert pooled.denominator == sum(m.denominator for m in pooled.members)
    assert pooled.value == indicators.values_for(table, FRAMEWORK, "consortium", PERIOD)["new_claims_days"]
    assert {m.code for m in pooled.members} == set(CONSORTIUM.codes)


# -- the command ----------------------------------------------------------------------------------------------


def cli(capsys, *args: str) -> tuple[int, str, str]:
    from perfcore.cli import main

    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_the_figure_its_parts_and_files(reporting_warehouse, capsys, monkeypatch):
    monkeypatch.setenv("PERFCORE_TODAY", reporting_builders.TODAY)
    where = ("--warehouse", str(reporting_warehouse))
    status, out, _ = cli(capsys, "explain", *where, "--council", FIRST, "--period", PERIOD, "--indicator", "rti_days")
    assert status == 0
    sha = next(r["sha256"] for r in listed(reporting_warehouse) if (r["authority"], r["period"]) == (FIRST, PERIOD))
    assert "worked out   52 days ÷ 5 = 10.4 days" in out  # 48 claim days + 4 change days over 4 claims + 1 change
    assert sha in out and "version 1.0" in out
    # the counted records' refs (a council's own): the four claims and the one change
    assert "records counted in claims_days (claims): 4\n  2026-10  NC0\n" in out
    assert "records counted in changes_days (changes): 1\n  2026-10  CH1\n" in out
    status, out, _ = cli(
        capsys, "explain", *where, "--council", FIRST, "--period", PERIOD, "--indicator", "rti_days", "--format", "json"
    )
    data = json.loads(out)
    _, values, _ = cli(capsys, "indicators", *where, "--council", FIRST, "--period", PERIOD, "--format", "json")
    assert data["value"] == json.loads(values)["rti_days"]
    assert (data["numerator"], data["denominator"]) == (52, 5)
    assert data["files"][0]["sha256"] == sha
    assert [(r["component"], r["count"]) for r in data["records"]] == [("claims_days", 4), ("changes_days", 1)]
    # no --period: the latest complete month, as `perfcore indicators` picks it
    status, out, _ = cli(capsys, "explain", *where, "--council", FIRST, "--indicator", "rti_days", "--format", "json")
    assert json.loads(out)["period"] == PERIOD


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--council", "S12999999", "--indicator", "rti_days"), "not a member council"),
        (("--council", FIRST, "--indicator", "speed"), "the framework defines"),
        (("--council", FIRST, "--indicator", "rti_days", "--period", "2031-01"), "months with figures"),
    ],
)
def test_the_command_refuses_in_one_line(reporting_warehouse, capsys, args, words):
    status, out, err = cli(capsys, "explain", "--warehouse", str(reporting_warehouse), *args)
    assert status == 2 and out == ""
    assert words in err and err.count("\n") == 1


# -- the pages ----------------------------------------------------------------------------------------------------


HOSTILE = "<img src=x onerror=alert(1)>\u202egnp.xml"


@pytest.fixture(scope="module")
def hostile(reporting_warehouse, tmp_path_factory) -> explain.Evidence:
    """The first member's October extract sent again (Sequence 2) under a hostile name."""
    path = reporting_builders.copy(reporting_warehouse, tmp_path_factory.mktemp("hostile"))
    h = Harness(path.parent, today=reporting_builders.TODAY)
    h.ingest(reporting_builders.council_extract(FIRST, PERIOD, 13, sequence=2), name=HOSTILE)
    h.con.close()
    return evidence_of(path)


def test_a_hostile_file_name_is_escaped_on_the_page(hostile):
    from perfcore.render import figures

    body = figures.council_body(hostile, CONSORTIUM.council(FIRST), PERIOD)
    assert "<img" not in body and "\u202e" not in body
    page = BeautifulSoup(body, "html.parser")
    assert page.find("img") is None
    names = [th.get_text() for th in page.select("#new_claims_days .file-name")]
    assert names[-1] == "<img src=x onerror=alert(1)>gnp.xml"  # shown as text, the bidi override taken out


def test_a_council_page_names_only_its_own_files_and_the_consortium_page_none(hostile, reporting_warehouse):
    from perfcore.render import figures
    from perfcore.render.context import CONSORTIUM as AUDIENCE
    from perfcore.render.context import PageContext

    rows = listed(reporting_warehouse)
    mine = CONSORTIUM.council(FIRST)
    body = figures.council_body(hostile, mine, PERIOD)
    others = [r for r in rows if r["authority"] not in (None, FIRST)]
    assert others and not [r["file_name"] for r in others if r["file_name"] in body]
    assert not [r["sha256"] for r in others if r["sha256"] in body]
    own = [r for r in rows if r["authority"] == FIRST and r["period"] == PERIOD]
    assert all(r["sha256"] in body for r in own)
    context = PageContext("Site", AUDIENCE, PERIOD, "figures", "Figures")
    pooled = figures.consortium_body(hostile, PERIOD, context)
    assert not [r["file_name"] for r in rows if r["file_name"] in pooled]
    assert "onerror" not in pooled
    assert not re.search(r"\b[0-9a-f]{64}\b", pooled)  # no SHA-256 either
    sections = BeautifulSoup(pooled, "html.parser").select("section.explain")
    assert [s["id"] for s in sections] == list(FRAMEWORK.ids)


def test_the_pages_are_written_once_and_listed_in_the_site(reporting_warehouse, tmp_path):
    from perfcore.render import build_site, figures, load_site_config

    config = load_site_config(ROOT)
    site = tmp_path / "site"
    from datetime import date

    months = [figures.Month(PERIOD, provisional=True)]
    pages = figures.write_pages(evidence_of(reporting_warehouse), months, site, config, published=date(2026, 11, 26))
    assert len(pages) == len(CONSORTIUM.members) + 1
    mine = site / "councils" / CONSORTIUM.council(FIRST).slug / PERIOD / "figures.html"
    page = BeautifulSoup(mine.read_text(encoding="utf-8"), "html.parser")
    section = page.find(id="new_claims_days")
    assert section.find("data", class_="numerator")["value"] == "48"
    assert section.find("data", class_="denominator")["value"] == "4"
    assert page.find(class_="provisional") is not None and page.find("h1") is not None
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    figures.write_pages(evidence_of(reporting_warehouse), months, site, config, published=date(2026, 11, 26))
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()} == before  # unchanged: not rewritten
    build_site(pages, config, site)
    index = (site / "councils" / CONSORTIUM.council(FIRST).slug / PERIOD / "index.html").read_text(encoding="utf-8")
    assert "figures.html" in index
    search = json.loads((site / "consortium" / "search.json").read_text(encoding="utf-8"))
    assert any(entry["url"].endswith("figures.html") for entry in search)


def test_every_table_on_a_figures_page_downloads_what_it_shows(hostile, tmp_path):
    """Each table's CSV beside the page: the figures unrounded, the files with their SHA-256, and a hostile
    file name that cannot run as a spreadsheet formula."""
    import csv
    from datetime import date

    from perfcore.render import figures, load_site_config

    config = load_site_config(ROOT)
    site = tmp_path / "site"
    figures.write_pages(hostile, [figures.Month(PERIOD)], site, config, published=date(2026, 11, 26))
    folder = site / "councils" / CONSORTIUM.council(FIRST).slug / PERIOD
    page = BeautifulSoup((folder / "figures.html").read_text(encoding="utf-8"), "html.parser")
    links = page.select(".table-download a[download]")
    assert len(links) == len(page.find_all("table")) > 3

    def read(href):
        with (folder / href).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    summary = {row["indicator"]: row for row in read(links[0]["href"])}
    shown = explain.explain(hostile, FIRST, PERIOD, "new_claims_days")
    assert float(summary["new_claims_days"]["value"]) == shown.value
    assert float(summary["new_claims_days"]["numerator"]) == shown.numerator
    files = read(next(a["href"] for a in links if a["href"].endswith("new_claims_days-files.csv")))
    assert [r["sha256"] for r in files] == [f.sha256 for f in shown.files]
    assert all(not r["file"].startswith(("=", "+", "-", "@")) and "\u202e" not in r["file"] for r in files)
    pooled = BeautifulSoup((site / "consortium" / PERIOD / "figures.html").read_text(encoding="utf-8"), "html.parser")
    assert len(pooled.select(".table-download a[download]")) == len(pooled.find_all("table"))


def test_a_tile_links_its_figure_to_the_explanation():
    from perfcore.reporting import display

    tile = display.tile_for(FRAMEWORK.indicator("new_claims_days"), 24.1, 22.6, href="figures.html#new_claims_days")
    markdown = display.tiles_bundle([tile]).data["text/markdown"]
    assert "[[24.1 days](figures.html#new_claims_days){.explain" in markdown
    plain = display.tiles_bundle([display.tile_for(FRAMEWORK.indicator("new_claims_days"), 24.1)]).data
    assert "figures.html" not in plain["text/markdown"]


def test_the_links_to_explanations_are_the_web_pages_not_the_pdfs():
    from datetime import date

    from perfcore.config.site import HtmlFormat, TypstFormat
    from perfcore.render.context import CONSORTIUM as AUDIENCE
    from perfcore.render.context import PageContext
    from perfcore.render.html import markdown_to_html
    from perfcore.render.pdf import markdown_to_typst
    from perfcore.reporting import display

    tile = display.tile_for(FRAMEWORK.indicator("new_claims_days"), 24.1, href="figures.html#new_claims_days")
    markdown = display.tiles_bundle([tile]).data["text/markdown"] + "\n" + explain.explained(FRAMEWORK, ["rti_days"])
    body = markdown_to_html(markdown, fallback_title="t", options=HtmlFormat(), what="t").body
    links = BeautifulSoup(body, "html.parser").find_all("a")
    assert [a["href"] for a in links] == ["figures.html#new_claims_days", "figures.html#rti_days"]
    assert links[0].get_text() == "24.1 days" and links[1].get_text() == "Right Time Indicator"
    context = PageContext("Site", AUDIENCE, PERIOD, "benchmarks", "Benchmarks")
    source = markdown_to_typst(
        markdown, context=context, options=TypstFormat(), published=date(2026, 11, 26), what="t"
    ).source
    assert "24.1 days" in source and "figures.html" not in source and "worked out" not in source


@pytest.mark.parametrize(
    "component", ["claims_decided", "claims_within_14", "changes_actioned", "woh_items", "woh_over_30"]
)
def test_the_records_counted_are_as_many_as_the_component_says(evidence, reporting_warehouse, component):
    indicator = next(i.id for i in FRAMEWORK.indicators if component in (*i.numerator, *i.denominator))
    found = explain.explain(evidence, FIRST, PERIOD, indicator)
    con = warehouse.connect(reporting_warehouse, read_only=True)
    try:
        records = {r.component: r for r in explain.counted_records(con, found, limit=2)}
        everything = {r.component: r for r in explain.counted_records(con, found, limit=0)}
    finally:
        con.close()
    held = evidence.components[(FIRST, PERIOD)][component]
    assert records[component].count == everything[component].count == held > 0
    assert len(records[component].refs) == min(2, held) and everything[component].refs == ()
    assert all(period == PERIOD for period, _ in records[component].refs)


def test_the_command_explains_the_consortium_figure_from_aggregates_only(reporting_warehouse, capsys, monkeypatch):
    monkeypatch.setenv("PERFCORE_TODAY", reporting_builders.TODAY)
    args = ("explain", "--warehouse", str(reporting_warehouse), "--council", "consortium", "--indicator")
    status, out, _ = cli(capsys, *args, "new_claims_days", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["numerator"] == sum(m["numerator"] for m in data["members"])
    status, out, _ = cli(capsys, *args, "new_claims_days")
    assert status == 0 and "pooled over the members" in out
    assert not [r["file_name"] for r in listed(reporting_warehouse) if r["file_name"] in out]


def test_an_analysts_chart_links_to_the_figures_page_of_the_council_it_shows():
    import posixpath

    page = explain.figures_page(CONSORTIUM, FIRST, PERIOD)
    slug = CONSORTIUM.council(FIRST).slug
    assert posixpath.normpath(f"analysts/{PERIOD}/{page}") == f"councils/{slug}/{PERIOD}/figures.html"
    pooled = explain.figures_page(CONSORTIUM, "consortium", PERIOD)
    assert posixpath.normpath(f"analysts/{PERIOD}/{pooled}") == f"consortium/{PERIOD}/figures.html"
    assert f"({page}#rti_days)" in explain.explained(FRAMEWORK, ["rti_days"], page=page)


def test_a_count_or_total_reads_as_such(evidence):
    assert explain.explain(evidence, FIRST, PERIOD, "new_claims_decided").formula == (
        "4 claims: a count or total, with no denominator"
    )
    assert explain.explain(evidence, FIRST, PERIOD, "expenditure").formula == "£400,000.00 = £400,000"
