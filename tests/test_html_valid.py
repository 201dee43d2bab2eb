"""Valid HTML: every page of the demo site passes the W3C's Nu HTML checker (vnu) with no error, and every id on a
page is used once, so an "On this page" link lands on its section (not on a table or chart named like it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path, PurePosixPath

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from perfcore.render import COUNCIL, SiteConfig, page_context, page_paths, render_page
from perfcore.render.html import SHELL_IDS, Crumb, Shell, markdown_to_html, render_shell
from perfcore.reporting import display
from render_notebooks import claims_chart, claims_frame, write_notebook

ROOT = Path(__file__).resolve().parents[1]
# Where scripts/test installs the checker (npm's vnu-jar, its version pinned there).
VNU_JAR = ROOT / ".venv" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CONFIG = SiteConfig(title="HB Performance Consortium")


# --- the causes: ids of tables and charts, ids the shell uses ----------------------------------------


def test_tables_and_charts_get_ids_no_heading_makes():
    frame = pd.DataFrame({"Alert": ["Work on hand"]})
    table = display.table_bundle(frame, "Alerts", id="alerts")
    assert table.data["text/markdown"].rstrip().endswith("{#tbl-alerts}")
    assert '<table id="tbl-alerts">' in table.data["text/html"]
    assert display.table_bundle(frame, "Alerts", id="tbl-alerts").metadata["perfcore"]["id"] == "tbl-alerts"
    figure, data = display.chart_bundles(claims_chart(), title="Days", alt="Days fell.", data=claims_frame(), id="days")
    assert figure.metadata["perfcore"]["id"] == "fig-days" and data.metadata["perfcore"]["chart"] == "fig-days"
    assert display.element_id(display.FIGURE_PREFIX, None) is None
    with pytest.raises(ValueError, match="starting with a letter"):
        display.element_id(display.TABLE_PREFIX, "1 alerts")


def _shell_ids() -> set[str]:
    shell = Shell(
        path=PurePosixPath("councils/dundee-city/2026-10/report.html"),
        title_html="Report",
        site_title="Site",
        home="councils/dundee-city/index.html",
        body="",
        toc=markdown_to_html("## A\n\n## B\n", fallback_title="t", options=CONFIG.html, what="t").toc,
        breadcrumb=(Crumb("Home", "index.html"), Crumb("Report")),
        search_indexes=("councils/dundee-city/search.json",),
    )
    soup = BeautifulSoup(render_shell(shell), "html.parser")
    for entry in soup.select("nav.toc li"):  # the contents' entries: "toc-" and their heading's id, kept apart
        entry.decompose()
    return {tag["id"] for tag in soup.find_all(id=True)}


def test_the_filter_knows_every_id_the_shell_uses():
    assert set(SHELL_IDS) == _shell_ids()


def _page(tmp_path: Path, cells: list) -> tuple[BeautifulSoup, tuple[str, ...]]:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = write_notebook(tmp_path / "report.ipynb", notebook)
    context = page_context(
        CONFIG,
        audience=COUNCIL,
        period="2026-10",
        report="report",
        report_title="Monthly report",
        council_name="Dundee City",
        council_slug="dundee-city",
    )
    out_html, _ = page_paths(tmp_path / "site", context)
    page = render_page(path, out_html=out_html, out_pdf=None, context=context, config=CONFIG)
    return BeautifulSoup(page.html.read_text(encoding="utf-8"), "html.parser"), page.warnings


def _output(bundle: display.Bundle):
    cell = new_code_cell("show(...)", execution_count=1)
    cell.outputs = [bundle.as_output()]
    return cell


def toc_problems(soup: BeautifulSoup) -> list[str]:
    """What is wrong with a page's ids: any used twice, and any "On this page" link that does not land on
    the one section whose heading it names."""
    counts = Counter(tag["id"] for tag in soup.find_all(id=True))
    problems = [f"id {id!r} is used {n} times" for id, n in counts.items() if n > 1]
    toc = soup.find("nav", class_="toc")
    for link in toc.find_all("a", href=True) if toc else []:
        target = soup.find(id=link["href"].removeprefix("#"))
        heading = target.find(["h2", "h3", "h4"]) if target is not None and target.name == "section" else None
        if heading is None or heading.get_text(" ", strip=True) != link.get_text(" ", strip=True):
            landed = target.name if target is not None else "nothing"
            problems.append(f"'On this page' link {link['href']} ({link.get_text()!r}) lands on {landed}")
    return problems


def test_a_table_and_a_chart_named_like_their_sections_keep_the_contents_links_on_the_sections(tmp_path):
    frame = pd.DataFrame({"Alert": ["Work on hand over 30 days"], "Months": [3]})
    figure, data = display.chart_bundles(
        claims_chart(), title="Work on hand by age", alt="Work on hand grew.", data=claims_frame(), id="work-on-hand"
    )
    soup, warnings = _page(
        tmp_path,
        [
            new_markdown_cell("# Monthly report"),
            new_markdown_cell("## Alerts"),
            _output(display.table_bundle(frame, "Alerts for Dundee City", id="alerts")),
            new_markdown_cell("## Work on hand"),
            _output(figure),
            _output(data),
            new_markdown_cell("## Main\n\nA heading whose words are the id of the page's <main>."),
            new_markdown_cell("## Search results"),
        ],
    )
    assert toc_problems(soup) == []
    assert [a["href"] for a in soup.find("nav", class_="toc").find_all("a")] == [
        "#alerts",
        "#work-on-hand",
        "#main-1",
        "#search-results-1",
    ]
    assert soup.find("table", id="tbl-alerts") and soup.find("figure", id="fig-work-on-hand")
    assert soup.find("main")["id"] == "main" and soup.find("a", class_="skip-link")["href"] == "#main"
    assert not [w for w in warnings if "used twice" in w]  # nothing here was the notebook's slip


def test_two_tables_given_one_id_are_told_apart_with_a_warning(tmp_path):
    frame = pd.DataFrame({"Council": ["Dundee City"]})
    soup, warnings = _page(
        tmp_path,
        [
            new_markdown_cell("## Returns"),
            _output(display.table_bundle(frame, "Extracts", id="returns")),
            _output(display.table_bundle(frame, "Manual returns", id="returns")),
        ],
    )
    assert [t["id"] for t in soup.find_all("table")] == ["tbl-returns", "tbl-returns-1"]
    assert toc_problems(soup) == []
    assert any("'tbl-returns' is used twice" in w for w in warnings), warnings


# --- every page of the demo site -----------------------------------------------------------------------


def vnu(pages: list[Path]) -> list[dict]:
    """vnu's errors for these pages, in one run (one JVM start): its JSON messages of type error."""
    java = shutil.which("java")
    assert java, "the HTML checker runs on Java: scripts/test installs a Java runtime"
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: scripts/test installs the HTML checker (npm's vnu-jar)"
    done = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--stdout", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode in (0, 1), f"vnu exited with {done.returncode}: {done.stderr[-2000:]}"
    messages = json.loads(done.stdout)["messages"]
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def _where(message: dict, site: Path) -> str:
    url = message.get("url", "")
    page = url.removeprefix("file:").split(str(site) + "/", 1)[-1]
    return f"{page}:{message.get('lastLine', '?')}: {message.get('message', '')} {message.get('extract', '')!r}"


@pytest.mark.slow
def test_every_page_of_the_demo_site_passes_the_html_checker(demo_site, tmp_path):
    _, site, _ = demo_site
    pages = sorted(site.rglob("*.html"))  # every page, whoever added it: reports, indexes, landings, explanations
    assert len(pages) > 50
    # A page the checker must fault, in the same run: proof that it ran and read the files.
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><html lang="en"><title>x</title><p id="a">1<p id="a">2', encoding="utf-8")
    errors = vnu([*pages, broken])
    assert any("broken.html" in m.get("url", "") and "Duplicate ID" in m.get("message", "") for m in errors), errors
    found = [_where(m, site) for m in errors if "broken.html" not in m.get("url", "")]
    assert not found, f"{len(found)} HTML error(s):\n" + "\n".join(found[:100])


@pytest.mark.slow
def test_every_link_into_a_page_of_the_demo_site_lands_on_an_element_of_it(demo_site):
    """An "On this page" link lands on its section; a link to page.html#part (a landing page's "every alert")
    finds the part: one element with that id."""
    _, site, _ = demo_site
    pages = {path: BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser") for path in site.rglob("*.html")}
    problems, with_toc, into = [], 0, 0
    for path, soup in sorted(pages.items()):
        with_toc += soup.find("nav", class_="toc") is not None
        problems += [f"{path.relative_to(site)}: {p}" for p in toc_problems(soup)]
        for link in soup.find_all("a", href=True):
            target, _, part = link["href"].partition("#")
            if not target or not part or "://" in target:
                continue
            into += 1
            other = pages.get((path.parent / target).resolve())
            if other is None or len(other.find_all(id=part)) != 1:
                problems.append(f"{path.relative_to(site)}: {link['href']} finds no one element with that id")
    assert with_toc > 10 and into > 0 and not problems, "\n".join(problems[:50])
