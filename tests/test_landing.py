"""The landing pages tell the month's story (issue 13, item 3), for each audience, from a small real warehouse:
who needs attention, what got worse or better, the alerts and actions, DWP's returns with their completeness;
what each audience may see; hostile commentary published literally; a rebuild that changes nothing writes nothing.

The warehouse is reporting_builders' (ten members, September and October 2026: every member at 16 days in
September; in October Dundee City takes 12, Scottish Borders 26 days, red, and Midlothian 21 and West Lothian 24,
amber), plus a
commentary return with an overdue action whose words are hostile. Pages are stand-ins (a small HTML file each):
the landings are what is tested, and build_site only links the pages.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import reporting_builders as rb
from builders import Harness
from perfcore.render import CONSORTIUM, COUNCIL, build_site, load_site_config, page_context, page_paths
from perfcore.render.context import ANALYSTS, MANIFEST, RenderedPage
from perfcore.reporting import landing
from test_reporting_commentary import commentary_csv

PUBLISHED = date(2026, 11, 26)
BORDERS, MIDLOTHIAN = "S12000026", "S12000019"
HOSTILE_ACTION = '<script>alert("x")</script> <b>bold</b> =HYPERLINK("http://evil") "quoted" & more'
HOSTILE_OWNER = "Owner <img src=x onerror=alert(1)> & co"


@pytest.fixture(scope="module")
def warehouse(reporting_warehouse, tmp_path_factory) -> Path:
    """The reporting warehouse, with Scottish Borders' overdue action (due 5 October) in hostile words."""
    copied = rb.copy(reporting_warehouse, tmp_path_factory.mktemp("landing-warehouse"))
    harness = Harness(copied.parent, today=rb.TODAY)
    row = (BORDERS, rb.PERIOD, "new_claims_days", "Staff off sick.", HOSTILE_ACTION, HOSTILE_OWNER, "2026-10-05")
    result = harness.ingest(commentary_csv([row]), suffix=".csv")
    assert (result.kind, result.outcome, result.records_rejected) == ("commentary", "accepted", 0), result.reason
    harness.con.close()
    return copied


@pytest.fixture(scope="module")
def data(warehouse):
    return rb.load(warehouse)


def _page(config, site: Path, period: str, audience: str, report: str, council=None) -> RenderedPage:
    context = page_context(
        config,
        audience=audience,
        period=period,
        report=report,
        report_title=report.capitalize(),
        council_name=council.name if council else None,
        council_slug=council.slug if council else None,
    )
    out_html, _ = page_paths(site, context)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text("<p>stand-in</p>", encoding="utf-8")
    page = RenderedPage(context, out_html, None, f"{report} {period}", "stand-in")
    manifest = out_html.parent / f"{out_html.stem}_files" / MANIFEST  # so a rebuild finds it, as render_page's
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(json.dumps(page.to_json()), encoding="utf-8")
    return page


def _audiences(data) -> set[tuple[str, str, str | None]]:
    return {(CONSORTIUM, "consortium", None), (ANALYSTS, "analysts", None)} | {
        (COUNCIL, f"councils/{c.slug}", c.code) for c in data.consortium.members
    }


def _write_return(site: Path, council, period: str, missing: list[str]) -> None:
    folder = site / "dwp" / period / "returns"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"dwp-return-{council.slug}-{period}"
    (folder / f"{stem}.xml").write_text("<Return/>")
    (folder / f"{council.slug}-{period}-report.pdf").write_bytes(b"%PDF-1.7 stand-in")
    manifest = {
        "council": {"code": council.code, "name": council.name},
        "period": period,
        "complete": not missing,
        "missing": missing,
        "files": [{"name": f"{stem}.xml"}, {"name": f"{council.slug}-{period}-report.pdf"}],
    }
    (folder / f"{stem}.manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def site(data, tmp_path_factory):
    """Two months of stand-in pages for every audience, October's stories, and DWP's returns for both months."""
    root = Path(__file__).resolve().parents[1]
    config = load_site_config(root)
    out = tmp_path_factory.mktemp("landing-site") / "site"
    pages = []
    for period in (rb.PREVIOUS, rb.PERIOD):
        pages.append(_page(config, out, period, CONSORTIUM, "benchmarks"))
        pages.append(_page(config, out, period, ANALYSTS, "analytics"))
        pages += [_page(config, out, period, COUNCIL, "report", c) for c in data.consortium.members]
    assert landing.write_stories(data, out, _audiences(data))  # October's stories
    members = data.consortium.members
    for council in members:
        _write_return(out, council, rb.PREVIOUS, [])
        _write_return(out, council, rb.PERIOD, ["no manual return: <calls_offered>"] if council.code == BORDERS else [])
    build_site(pages, config, out, published=PUBLISHED)
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def attention_rows(page: BeautifulSoup) -> dict[str, str]:
    box = page.find("section", class_="landing-attention")
    return {tr.th.get_text(" ", strip=True): tr.get_text(" ", strip=True) for tr in box.select("tbody tr")}


# -- each audience's story -------------------------------------------------------------------------------------


def test_consortium_landing_names_the_red_member_and_what_moved(site, data):
    page = soup(site / "consortium" / "index.html")
    rows = attention_rows(page)
    assert "Scottish Borders" in rows
    assert "New claims, days: 26.0 days (was Green)" in rows["Scottish Borders"]
    assert "Red" in page.find("p", class_="landing-lead").get_text()  # the status in words, not colour alone
    worse = page.find("h2", id="worse").find_next("ul").get_text(" ", strip=True)
    for name, days in (("Midlothian", "21.0"), ("West Lothian", "24.0")):
        assert f"{name} : New claims, days {days} days, ✔ Green → ⚠ Amber" in worse
    improved = page.find("h2", id="improved").find_next("ul").get_text(" ", strip=True)
    assert "Dundee City : New claims within 14 days 100.0%, ✖ Red → ✔ Green" in improved  # 12 days, from 16
    # members may not open each other's folders: the consortium's landing does not link them from its story
    assert not page.find("section", class_="landing-attention").find("a")


def test_consortium_landing_shows_no_councils_alerts_or_actions(site, data):
    """Members see each other's figures and statuses (the benchmarks), not each other's alerts or actions."""
    from perfcore.reporting import report

    page = (site / "consortium" / "index.html").read_text(encoding="utf-8")
    story = (site / "consortium" / rb.PERIOD / landing.FILE).read_text(encoding="utf-8")
    for text in (page, story):
        assert report.alerts(data) and not any(a.evidence in text for a in report.alerts(data))
        assert "Staff off sick" not in text and "HYPERLINK" not in text and "Owner" not in text
    analysts = soup(site / "analysts" / "index.html").find("h2", id="alerts").find_next("table")
    shown = [tr.find_all("td")[-1].get_text() for tr in analysts.select("tbody tr")]
    assert shown == [a.evidence for a in report.alerts(data)[: landing.TOP_ALERTS]]  # worst first
    assert analysts.find_previous("p").find("a")["href"] == "2026-10/analytics.html#early-warning"


def test_analysts_landing_adds_alerts_overdue_actions_and_links_each_council(site, data):
    page = soup(site / "analysts" / "index.html")
    box = page.find("section", class_="landing-attention")
    assert [th.get_text() for th in box.select("thead th")][-2:] == ["Alerts", "Overdue actions"]
    borders = box.find("a", string="Scottish Borders")
    assert borders["href"] == "../councils/scottish-borders/index.html"
    assert borders.find_parent("tr").find_all("td")[-1].get_text() == "1"  # its overdue action
    overdue = page.find("h2", id="overdue").find_next("table")
    cells = [td.get_text() for td in overdue.select("tbody td")]
    assert cells[0] == "Scottish Borders" and cells[-1] == "5 Oct 2026"


def test_council_landing_shows_its_tiles_alerts_and_actions(site, data):
    page = soup(site / "councils" / "scottish-borders" / "index.html")
    glance = page.find("ul", class_="landing-glance").get_text(" ", strip=True)
    assert "Red on" in glance and "New claims, days 26.0 days" in glance and "1 overdue" in glance
    assert len(page.select(".tiles .tile")) == len(data.framework.indicators)
    red = [t for t in page.select(".tile.rag-red") if "new claims" in t.get_text().lower()]
    assert red and "Red" in red[0].find(class_="tile-status").get_text()
    actions = page.find("h2", id="actions").find_next("table")
    assert actions.select("tbody td")[-1].get_text(strip=True) == "⚠Overdue"
    assert page.find("h2", id="actions").find_next("a")["href"] == "2026-10/report.html#open-actions"
    links = {a["href"] for a in page.find_all("a", href=True)}
    assert {"2026-10/report.html", "2026-09/index.html", "reports/report.html"} <= links  # then links


def test_a_councils_folder_holds_nothing_of_another_council(site, data):
    """Its landing, month pages and story name no other member (the consortium's pages show members that)."""
    for council in data.consortium.members:
        others = [c for c in data.consortium.members if c.code != council.code]
        for path in (site / "councils" / council.slug).rglob("*"):
            if path.suffix in (".html", ".json"):
                text = path.read_text(encoding="utf-8").replace(council.name, "")  # East Renfrewshire's own name
                assert not [o.name for o in others if o.name in text or o.code in text], path


def test_hostile_commentary_is_published_as_text(site):
    for path in (site / "analysts" / "index.html", site / "councils" / "scottish-borders" / "index.html"):
        raw = path.read_text(encoding="utf-8")
        assert "<script>" not in raw and "<img" not in raw and "<b>bold" not in raw, path
        assert HOSTILE_ACTION in soup(path).get_text()
        assert HOSTILE_OWNER in soup(path).get_text()


def test_dwp_landing_shows_the_months_returns_with_their_completeness(site, data):
    page = soup(site / "dwp" / "index.html")
    table = page.find("table")
    rows = {tr.th.get_text(): tr for tr in table.select("tbody tr")}
    assert set(rows) == {c.name for c in data.consortium.members}
    assert rows["Dundee City"].find_all("td")[0].get_text(strip=True) == "✔Complete"
    borders = rows["Scottish Borders"].find_all("td")[0].get_text(strip=True)
    assert borders == "⚠Incomplete: no manual return: <calls_offered>"
    assert "<calls_offered>" not in table.decode_contents().replace("&lt;calls_offered&gt;", "")
    hrefs = [a["href"] for a in rows["Dundee City"].find_all("a")]
    assert hrefs == [
        "2026-10/returns/dwp-return-dundee-city-2026-10.xml",
        "2026-10/returns/dundee-city-2026-10-report.pdf",
        "2026-10/returns/dwp-return-dundee-city-2026-10.manifest.json",
    ]
    assert "9 of 10 returns" in page.find("p", class_="landing-lead").get_text()
    assert page.find("a", href="2026-09/index.html")  # past months one click away
    september = soup(site / "dwp" / "2026-09" / "index.html")
    assert "All 10 returns for September 2026 are complete." in september.get_text()


def test_a_past_month_keeps_its_pages_and_a_month_with_a_story_tells_it(site):
    october = soup(site / "consortium" / "2026-10" / "index.html")
    assert "Scottish Borders" in attention_rows(october)
    september = soup(site / "consortium" / "2026-09" / "index.html")  # no story written for it: its pages
    assert not september.find("section", class_="landing-attention")
    assert september.find("a", href="benchmarks.html")


def test_every_landing_has_one_h1_and_links_that_resolve(site):
    for path in [site / "index.html", *site.glob("*/index.html"), *site.glob("councils/*/index.html")]:
        page = soup(path)
        assert len(page.find_all("h1")) == 1, path
        for a in page.find_all("a", href=True):
            href = a["href"].split("#")[0]
            if href and not href.startswith("?"):
                assert (path.parent / href).resolve().exists(), f"{path}: broken link {href}"


# -- cheap and idempotent -------------------------------------------------------------------------------------------


def test_a_rebuild_with_nothing_changed_writes_no_page(site, data, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    assert landing.write_stories(data, copy, _audiences(data)) == []
    # every page is read from disk (none was rendered again), as in a build whose pages were all frozen
    built = build_site([], load_site_config(Path(__file__).resolve().parents[1]), copy, published=PUBLISHED)
    rewritten = [p for p in built.written if p.suffix in (".html", ".json")]
    assert rewritten == []


def test_a_story_reads_back_as_written(data, tmp_path):
    for audience, folder, council in _audiences(data):
        told = landing.story(data, audience, council)
        landing.write_story(tmp_path, folder, told)
        assert landing.read_story(tmp_path, folder, data.period) == told
    (tmp_path / "consortium" / data.period / landing.FILE).write_text('{"format": "perfcore landing 0"}')
    assert landing.read_story(tmp_path, "consortium", data.period) is None  # another version's: ignored


def test_a_provisional_month_says_so_and_every_name_is_escaped(data):
    """Names from the parameters and the figures' words are escaped too; a month not yet complete is marked."""
    from dataclasses import replace

    from perfcore.render.landing import story_html

    told = landing.story(data, "analysts")
    hostile = "<i>Evil</i> & Co"
    told = replace(
        told,
        provisional=True,
        members_in=8,
        councils=tuple(replace(c, name=hostile) if c.code == BORDERS else c for c in told.councils),
    )
    page = BeautifulSoup(story_html(told, lambda report, anchor: None, lambda council: None), "html.parser")
    assert "<i>" not in str(page) and hostile in page.get_text()
    warning = page.find(class_="landing-provisional").get_text(" ", strip=True)
    assert warning.startswith("Provisional.") and "8 of 10 members' extracts for October 2026 are in" in warning
