"""The built demo site, checked as its readers would: pages, tables, charts, PDFs, links, search."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from perfcore.config.parameters import load_consortium

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CONSORTIUM = load_consortium(ROOT / "parameters")
CODE_MARKERS = ("report.load(", "show.", "import ", "show_figure(", "def ", "data.framework")


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def council_page(site: Path, slug: str, period: str) -> Path:
    return site / "councils" / slug / period / "report.html"


def warehouse_indicators(database: Path):
    """The framework and every indicator the warehouse computes: what ``perfcore indicators`` prints."""
    from perfcore import warehouse
    from perfcore.config.parameters import load_framework
    from perfcore.warehouse import indicators

    framework = load_framework(ROOT / "parameters" / "framework.yaml")
    con = warehouse.connect(database, read_only=True)
    try:
        return framework, indicators.compute(con, framework, CONSORTIUM.codes)
    finally:
        con.close()


def test_every_page_built_without_failure(demo_site):
    summary, site, _ = demo_site
    assert not summary.failed, [(o.job.label, o.error) for o in summary.failed]
    for council in CONSORTIUM.members:
        assert council_page(site, council.slug, summary.period).exists()
        assert (site / "councils" / council.slug / "index.html").exists()  # landing page per council
        assert (
            site / "councils" / council.slug / summary.period / f"{council.slug}-{summary.period}-report.pdf"
        ).exists()
    for name in ("benchmarks", "indicators", "guide"):
        assert (site / "consortium" / summary.period / f"{name}.html").exists(), name
    for name in ("analytics", "data-quality"):  # every council's alerts, files and rejections: analysts only
        assert (site / "analysts" / summary.period / f"{name}.html").exists(), name


def test_tables_are_real_tables_with_the_right_figures(demo_site, demo_warehouse):
    summary, site, _ = demo_site
    from perfcore.warehouse import indicators

    framework, table = warehouse_indicators(demo_warehouse)
    days = indicators.values_for(table, framework, "S12000019", summary.period)["new_claims_days"]
    page = soup(council_page(site, "midlothian", summary.period))
    position = next(t for t in page.find_all("table") if "against the other members" in t.caption.get_text())
    rows = {
        tr.find_all(["td", "th"])[0].get_text(strip=True): [c.get_text(strip=True) for c in tr.find_all(["td", "th"])]
        for tr in position.find_all("tr")
    }
    assert rows["New claims, days"][1] == f"{days:.1f} days"
    assert rows["New claims, days"][3] == "10th of 10"


def test_charts_are_svg_with_titles_and_text_alternatives(demo_site):
    summary, site, _ = demo_site
    path = council_page(site, "midlothian", summary.period)
    page = soup(path)
    images = [img for img in page.find_all("img") if img.get("src", "").endswith(".svg")]
    assert len(images) >= 6
    for img in images:
        assert len(img.get("alt", "")) > 40, img
        svg = (path.parent / img["src"]).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<svg")
    details = page.find_all("details")
    assert len(details) >= len(images)  # every chart's data as a table
    assert all(d.find("table") for d in details)


def test_no_notebook_code_in_html(demo_site):
    summary, site, _ = demo_site
    for path in site.rglob("*.html"):
        text = soup(path).get_text(" ")
        for marker in CODE_MARKERS:
            assert marker not in text, f"{marker!r} in {path.relative_to(site)}"


def test_pdf_has_council_period_headers_and_no_code(demo_site):
    from pypdf import PdfReader

    summary, site, _ = demo_site
    pdf = site / "councils" / "midlothian" / summary.period / f"midlothian-{summary.period}-report.pdf"
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 4
    for number, page in enumerate(reader.pages[1:], start=2):
        text = page.extract_text()
        assert "Midlothian" in text and "October 2026" in text, number
        for marker in CODE_MARKERS:
            assert marker not in text, (number, marker)
    metadata = reader.xmp_metadata
    assert metadata is not None and metadata.pdfaid_part is not None  # PDF/A


def test_links_resolve(demo_site):
    _, site, _ = demo_site
    broken = []
    for path in site.rglob("*.html"):
        for anchor in soup(path).find_all(["a", "link", "script", "img"]):
            target = anchor.get("href") or anchor.get("src")
            if not target or re.match(r"^(https?:|mailto:|#|data:)", target):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.relative_to(site)} -> {target}")
    assert not broken, broken[:10]


def test_search_index_covers_the_pages(demo_site):
    summary, site, _ = demo_site
    index = json.loads((site / "councils" / "midlothian" / "search.json").read_text())
    entries = index if isinstance(index, list) else index.get("pages", index.get("documents", []))
    text = json.dumps(entries)
    assert "midlothian" in text.lower() and "report.html" in text
    consortium = json.dumps(json.loads((site / "consortium" / "search.json").read_text()))
    for name in ("benchmarks", "indicators", "guide"):
        assert f"{name}.html" in consortium
    assert "midlothian/" not in consortium  # a council's pages stay out of the shared index
    assert "data-quality.html" not in consortium and "analytics.html" not in consortium  # analysts' pages too
    analysts = json.dumps(json.loads((site / "analysts" / "search.json").read_text()))
    assert "data-quality.html" in analysts and "analytics.html" in analysts


def test_nothing_of_one_council_sits_in_another_councils_folder(demo_site):
    """No file in a council's folder names another member: pages, chart data, search index, manifests."""
    _, site, _ = demo_site
    for council in CONSORTIUM.members:
        others = [c for c in CONSORTIUM.members if c.code != council.code]
        for path in (site / "councils" / council.slug).rglob("*"):
            assert all(not path.name.startswith(o.slug + "-") for o in others), path
            if path.suffix in (".html", ".json", ".csv", ".svg"):
                text = path.read_text(encoding="utf-8").replace(council.name, "")
                leaked = [o.name for o in others if o.name in text or o.code in text]
                assert not leaked, (path.relative_to(site), leaked)


def test_what_every_member_opens_attributes_no_alert_to_a_council(demo_site, demo_warehouse):
    """consortium/ is what every member sees: a council's alerts stay in its own folder and analysts/ (README)."""
    import html

    from perfcore.reporting import report

    summary, site, _ = demo_site
    data = report.load(summary.period, warehouse=demo_warehouse, parameters=ROOT / "parameters")
    evidence = [a.evidence for a in report.alerts(data) if a.area != "consortium"]
    assert evidence  # the demo plants alerts: otherwise this test would prove nothing
    for path in (site / "consortium").rglob("*"):
        if path.suffix in (".html", ".json", ".csv"):
            text = html.unescape(path.read_text(encoding="utf-8"))
            assert not [e for e in evidence if e in text], path.relative_to(site)
    analytics = html.unescape((site / "analysts" / summary.period / "analytics.html").read_text(encoding="utf-8"))
    assert any(e in analytics for e in evidence)  # the analysts still see them


def test_planted_stories_are_visible(demo_site):
    summary, site, _ = demo_site
    midlothian = soup(council_page(site, "midlothian", summary.period)).get_text(" ")
    assert re.search(r"New claims took 3\d\.\d days in October", midlothian)
    assert "10th of 10" in midlothian
    renfrewshire = council_page(site, "east-renfrewshire", summary.period).read_text()
    assert "Initiative" in renfrewshire
    quality = soup(site / "analysts" / summary.period / "data-quality.html")
    resubmitted = next(t for t in quality.find_all("table") if "resubmitted" in t.caption.get_text())
    assert "Dundee City" in resubmitted.get_text(" ") and "August 2026" in resubmitted.get_text(" ")
    rejected = next(t for t in quality.find_all("table") if "Records rejected in the 12 months" in t.caption.get_text())
    assert len(rejected.find_all("tr")) >= 10  # the planted record errors, by council, month and reason
    east_lothian = soup(council_page(site, "east-lothian", summary.period))
    history = next(t for t in east_lothian.find_all("table") if "last 12 months" in t.caption.get_text())
    assert "notified after actioned" in history.get_text(" ")  # with its line and reference, on the council's own page


def test_dwp_folder_has_pdfs_and_the_electronic_return(demo_site):
    summary, site, _ = demo_site
    folder = site / "dwp" / summary.period
    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == len(CONSORTIUM.members)
    lines = (folder / f"sop-return-{summary.period}.csv").read_text().splitlines()
    assert lines[0].startswith("gss_code,council,period,new_claims_decided,new_claims_days")
    assert len(lines) == 1 + len(CONSORTIUM.members)


def test_landings_tell_the_months_story(demo_site):
    """A manager sees at once who needs attention: the planted story (Midlothian's new claims) heads the list."""
    summary, site, _ = demo_site
    for folder in ("consortium", "analysts", "councils/midlothian"):
        assert (site / folder / summary.period / "landing.json").exists(), folder
    consortium = soup(site / "consortium" / "index.html")
    first = consortium.select_one("section.landing-attention tbody tr")
    assert first.th.get_text(strip=True) == "Midlothian" and "New claims, days" in first.get_text()
    assert not consortium.find("h2", id="alerts")  # a council's alerts are for the analysts and that council
    analysts = soup(site / "analysts" / "index.html")
    assert analysts.find("h2", id="alerts") and analysts.find("h2", id="overdue")
    midlothian = soup(site / "councils" / "midlothian" / "index.html")
    assert "Red on" in midlothian.find("ul", class_="landing-glance").get_text(" ")
    assert len(midlothian.select(".tiles .tile")) >= 6
    returns = soup(site / "dwp" / "index.html").find("table")
    assert len(returns.select("tbody tr")) == len(CONSORTIUM.members)


def test_every_table_and_chart_has_a_csv_and_every_csv_parses_safely(demo_site):
    _, site, _ = demo_site
    for page in site.glob("*/**/*.html"):
        if page.name == "guide.html" or not page.with_name(f"{page.stem}_files").is_dir():
            continue  # the guide's one table is prose; index and landing pages are drawn by the site, not notebooks
        html = soup(page)
        tables = [t for t in html.find_all("table") if not t.find_parent("details")]
        links = html.select(".table-download a[download]")
        assert len(links) == len(tables), page.relative_to(site)  # beside every table, its CSV
        assert len(html.select("details.chart-data a[download]")) == len(html.select("details.chart-data"))
        for link in links:
            assert (page.parent / link["href"]).is_file()
    for path in site.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows and all(len(row) == len(rows[0]) for row in rows), path
        for cell in (c for row in rows for c in row):
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path, cell)
            if cell.startswith("-"):
                float(cell)  # only a number may start with a minus sign


def test_the_months_files_hold_what_perfcore_indicators_prints(demo_site, demo_warehouse):
    summary, site, _ = demo_site
    from perfcore.warehouse import indicators

    framework, table = warehouse_indicators(demo_warehouse)
    printed = {
        area: indicators.values_for(table, framework, area, summary.period)
        for area in (*CONSORTIUM.codes, "consortium")
    }
    month = summary.period
    files = {
        site / "consortium" / month / f"indicators-{month}.csv": {*CONSORTIUM.codes, "consortium"},
        site / "analysts" / month / f"indicators-{month}.csv": {*CONSORTIUM.codes, "consortium"},
        **{
            site / "councils" / c.slug / month / f"{c.slug}-indicators-{month}.csv": {c.code, "consortium"}
            for c in CONSORTIUM.members
        },
    }
    for path, areas in files.items():
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert {r["area"] for r in rows} == areas, path  # a council's file: its own figures and the pooled ones
        for row in rows:
            expected = printed[row["area"]][row["indicator"]]
            assert (None if row["value"] == "" else float(row["value"])) == expected, (path, row)
            assert row["period"] == month and row["framework_version"] == framework.version
    index = soup(site / "analysts" / month / "index.html")
    assert index.find("a", href=f"indicators-{month}.parquet") is not None
    searched = json.dumps(json.loads((site / "consortium" / "search.json").read_text()))
    assert f"consortium/{month}/indicators-{month}.csv" in searched and ".parquet" not in searched


def test_every_tidy_csv_holds_what_perfcore_indicators_prints(demo_site, demo_warehouse):
    """Tables' and charts' CSVs with framework figures (benchmarks, positions, trends, leagues, control
    charts) and the month's files: every value is the warehouse's, unrounded."""
    _, site, _ = demo_site
    framework, table = warehouse_indicators(demo_warehouse)
    computed = {
        (area, period, indicator): None if value != value else value
        for area, period, indicator, value in zip(table["area"], table["period"], table["indicator"], table["value"])
    }
    codes = {c.name: c.code for c in CONSORTIUM.members}
    codes |= {"Consortium": "consortium", CONSORTIUM.short_name: "consortium"}
    kinds = set()
    for path in site.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or not {"indicator", "period", "value", "framework_version"} <= set(rows[0]):
            continue
        for row in rows:
            area = row.get("area") or codes[row["area_name"]]
            expected = computed.get((area, row["period"], row["indicator"]))
            assert (None if row["value"] == "" else float(row["value"])) == expected, (path.relative_to(site), row)
        kinds.add(re.sub(r"[-\d]+$", "", path.stem.split("-")[0]))
    assert kinds >= {"table", "chart", "indicators"}, kinds
