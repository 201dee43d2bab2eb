"""perfcore.render.build_site: navigation, landing pages, search, and the audience layout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from perfcore.exceptions import ConfigError
from perfcore.render import (
    CONSORTIUM,
    COUNCIL,
    build_site,
    load_site_config,
    page_context,
    page_paths,
    render_page,
)
from perfcore.render.site import SEARCH_INDEX
from render_notebooks import report_notebook, write_notebook

PUBLISHED = date(2026, 11, 5)
PROJECT = Path(__file__).resolve().parents[1]
COUNCILS = (("dundee-city", "Dundee City"), ("east-ayrshire", "East Ayrshire"))


def _summary_context(config, period: str, slug: str = "dundee-city", name: str = "Dundee City"):
    """A council's monthly summary page, which DWP gets a copy of."""
    return page_context(
        config,
        audience=COUNCIL,
        period=period,
        report="summary",
        report_title="Monthly summary",
        council_name=name,
        council_slug=slug,
        for_dwp=True,
    )


def _render(config, site: Path, notebook: Path, period: str, *, pdf: bool = True):
    pages = []
    for slug, name in COUNCILS:
        context = _summary_context(config, period, slug, name)
        out_html, out_pdf = page_paths(site, context)
        pages.append(
            render_page(
                notebook,
                out_html=out_html,
                out_pdf=out_pdf if pdf else None,
                context=context,
                config=config,
                published=PUBLISHED,
            )
        )
    context = page_context(config, audience=CONSORTIUM, period=period, report="benchmarks", report_title="Benchmarks")
    out_html, _ = page_paths(site, context)
    pages.append(
        render_page(notebook, out_html=out_html, out_pdf=None, context=context, config=config, published=PUBLISHED)
    )
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two months, built as two monthly runs: the second run only renders its own month."""
    folder = tmp_path_factory.mktemp("site")
    config = load_site_config(PROJECT)
    notebook = write_notebook(folder / "summary.ipynb", report_notebook())
    out = folder / "site"
    build_site(_render(config, out, notebook, "2026-09"), config, out, published=PUBLISHED)
    (out / "dwp" / "2026-09").mkdir(parents=True, exist_ok=True)
    (out / "dwp" / "2026-09" / "hbpe-return-2026-09.xml").write_text("<return/>")  # someone else's file
    built = build_site(_render(config, out, notebook, "2026-10"), config, out, published=PUBLISHED)
    return built


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_path_belongs_to_one_audience(site):
    for path in site.out_dir.rglob("*"):
        if path.is_dir():
            continue
        parts = path.relative_to(site.out_dir).parts
        if len(parts) == 1:
            assert parts in {("index.html",), ("favicon.ico",)}  # the shared entry page (links only) and icon
        elif parts[0] == "councils":
            assert parts[1] in {slug for slug, _ in COUNCILS} and len(parts) >= 3
        else:
            assert parts[0] in {"consortium", "dwp", "assets"}, path


def test_shared_assets_hold_no_data(site):
    assert sorted(p.name for p in (site.out_dir / "assets").iterdir()) == [
        "access.js",
        "favicon.svg",
        "perfcore.css",
        "search.js",
    ]
    entry = (site.out_dir / "index.html").read_text()
    assert "18.2" not in entry and "search.json" not in entry


def test_past_months_stay_browsable(site):
    assert {p.context.period for p in site.pages} == {"2026-09", "2026-10"}
    landing = _soup(site.out_dir / "councils" / "dundee-city" / "index.html")
    hrefs = {a["href"] for a in landing.find_all("a", href=True)}
    assert {"2026-10/index.html", "2026-09/index.html", "reports/summary.html", "2026-10/summary.html"} <= hrefs
    report = _soup(site.out_dir / "councils" / "dundee-city" / "reports" / "summary.html")
    assert [a["href"] for a in report.select("main ul.report-list a")][:3] == [
        "../2026-10/summary.html",
        "../2026-10/dundee-city-2026-10-summary.pdf",
        "../2026-09/summary.html",
    ]
    period = _soup(site.out_dir / "councils" / "dundee-city" / "2026-10" / "index.html")
    assert period.find("a", rel="prev")["href"] == "../2026-09/index.html"


def test_consortium_landing_lists_members_and_its_own_reports_only(site):
    landing = _soup(site.out_dir / "consortium" / "index.html")
    hrefs = {a["href"] for a in landing.find_all("a", href=True)}
    assert "../councils/dundee-city/index.html" in hrefs and "../councils/east-ayrshire/index.html" in hrefs
    assert "2026-10/benchmarks.html" in hrefs
    assert not any("summary.html" in h for h in hrefs)


def test_search_indexes_are_per_audience(site):
    dundee = json.loads((site.out_dir / "councils" / "dundee-city" / SEARCH_INDEX).read_text())
    assert {e["url"] for e in dundee} == {
        "councils/dundee-city/2026-10/summary.html",
        "councils/dundee-city/2026-09/summary.html",
    }
    assert all("18.2 days" in e["text"] for e in dundee)
    consortium = json.loads((site.out_dir / "consortium" / SEARCH_INDEX).read_text())
    assert all(e["url"].startswith("consortium/") for e in consortium) and len(consortium) == 2
    dwp = json.loads((site.out_dir / "dwp" / SEARCH_INDEX).read_text())
    assert all(e["url"].startswith("dwp/") for e in dwp)


def test_dwp_folder_has_council_pdfs_and_keeps_other_files(site):
    files = sorted(
        p.relative_to(site.out_dir).as_posix()
        for p in (site.out_dir / "dwp").rglob("*.*")
        if p.parent.name.startswith("20")
    )
    assert "dwp/2026-10/dundee-city-2026-10-summary.pdf" in files
    assert "dwp/2026-09/hbpe-return-2026-09.xml" in files
    page = _soup(site.out_dir / "dwp" / "index.html")
    assert page.find("a", string="Dundee City: Monthly summary")
    assert page.find("a", href="2026-09/index.html")  # the landing shows the latest month; the others one click away
    assert _soup(site.out_dir / "dwp" / "2026-09" / "index.html").find("a", href="hbpe-return-2026-09.xml")
    assert [a.get_text() for a in page.select("nav.site-nav a")] == ["DWP"]


def test_every_page_has_landmarks_one_h1_and_relative_links(site):
    for path in site.out_dir.rglob("*.html"):
        soup = _soup(path)
        assert soup.html["lang"] == "en-GB", path
        assert soup.find("main", id="main") and soup.find("a", class_="skip-link"), path
        assert len(soup.find_all("h1")) == 1, path
        for a in soup.find_all("a", href=True):
            href = a["href"].split("#")[0]
            if href and not href.startswith("?"):
                assert (path.parent / href).resolve().exists(), f"{path}: broken link {href}"


def test_search_finds_pages_with_the_shipped_script(site):
    node = shutil.which("node")
    assert node is not None, "Node.js runs the search script's test: scripts/test installs it"
    script = site.out_dir / "assets" / "search.js"
    index = site.out_dir / "councils" / "dundee-city" / SEARCH_INDEX
    code = (
        f"const s = require({json.dumps(str(script))});"
        f"const entries = require({json.dumps(str(index))});"
        "const hits = s.search(entries, 'provisional Warning');"
        "console.log(JSON.stringify(hits.map(h => h.entry.url)));"
        "console.log(JSON.stringify(s.search(entries, 'nothing-like-this')));"
    )
    out = subprocess.run([node, "-e", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert json.loads(out[0]) == [
        "councils/dundee-city/2026-10/summary.html",
        "councils/dundee-city/2026-09/summary.html",
    ]
    assert json.loads(out[1]) == []


def test_project_quarto_config_is_read():
    config = load_site_config(PROJECT)
    assert config.title == "HB Performance Consortium"
    assert config.output_dir == PROJECT / "reports" / "site"
    assert config.lang == "en-GB" and config.search
    assert config.typst.pdf_standards == ("a-2a", "ua-1") and config.typst.papersize == "a4"
    assert [link.href for link in config.navbar] == ["consortium/index.html"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project: {type: book}", r"project\.type: 'book' is not allowed; allowed: website"),
        ("website: {navbar: {left: [{text: x, href: /etc/passwd}]}}", "must be a path inside the site"),
        ("format: {typst: {pdf-standard: [a-9z]}}", r"format\.typst\.pdf-standard\[1\]: 'a-9z' is not allowed"),
        ("[unclosed", "not valid YAML"),
    ],
)
def test_bad_quarto_config_is_a_config_error(tmp_path, text, message):
    (tmp_path / "_quarto.yml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_site_config(tmp_path)


def test_missing_quarto_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_site_config(tmp_path)


def test_a_pdf_copied_for_dwp_is_copied_again_only_when_the_page_changed(tmp_path):
    from perfcore import files

    source, target = tmp_path / "report.pdf", tmp_path / "dwp" / "report.pdf"
    source.write_bytes(b"%PDF first")
    files.copy_if_changed(source, target)
    assert target.read_bytes() == b"%PDF first"
    before = target.stat().st_mtime_ns
    files.copy_if_changed(source, target)
    assert target.stat().st_mtime_ns == before  # unchanged: not copied again
    source.write_bytes(b"%PDF other")  # the page rebuilt, same size
    os.utime(source, ns=(before + 1_000_000, before + 1_000_000))
    files.copy_if_changed(source, target)
    assert target.read_bytes() == b"%PDF other"


# -- a rebuild with nothing changed draws nothing -------------------------------------------------------------


def _files_now(folder: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def remembered(site, tmp_path):
    """A copy of the two-month site, drawn once with a state file: (site, config, state file)."""
    out = tmp_path / "site"
    shutil.copytree(site.out_dir, out)
    config = load_site_config(PROJECT)
    state = tmp_path / "site-built.json"
    first = build_site([], config, out, published=PUBLISHED, state=state)
    assert not first.unchanged and first.written == ()  # the copy was already right: compared, nothing written
    assert state.exists() and not any(p.name.startswith(".") for p in out.rglob("*"))  # the state is not published
    return out, config, state


def test_a_rebuild_with_nothing_changed_writes_nothing_and_leaves_the_same_site(remembered):
    out, config, state = remembered
    before = _files_now(out)
    again = build_site([], config, out, published=PUBLISHED, state=state)
    assert again.unchanged and again.written == ()
    assert _files_now(out) == before  # not one file written: same bytes, same times
    assert {p.context.period for p in again.pages} == {"2026-09", "2026-10"}  # still there to read
    redrawn = build_site([], config, out, published=PUBLISHED)  # no state: everything drawn again and compared
    assert not redrawn.unchanged and redrawn.written == ()  # the site left as it was is the site drawn afresh
    assert _files_now(out) == before


@pytest.mark.parametrize(
    "path",
    ["councils/dundee-city/2026-09/index.html", "consortium/search.json", "dwp/2026-10/index.html", "assets"],
)
def test_a_deleted_or_edited_file_of_the_sites_own_is_drawn_again(remembered, path):
    out, config, state = remembered
    target = out / path
    if target.is_dir():  # a folder someone removed: every file in it comes back
        wanted = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
        shutil.rmtree(target)
    else:
        wanted = {target: target.read_bytes()}
        target.unlink()
    built = build_site([], config, out, published=PUBLISHED, state=state)
    assert not built.unchanged and set(built.written) == set(wanted)
    assert {p: p.read_bytes() for p in wanted} == wanted
    edited = next(iter(wanted))
    edited.write_bytes(b"<p>edited by hand</p>")  # same name, other bytes: the build's own file again
    built = build_site([], config, out, published=PUBLISHED, state=state)
    assert built.written == (edited,) and edited.read_bytes() == wanted[edited]
    assert build_site([], config, out, published=PUBLISHED, state=state).unchanged


def test_a_page_changed_on_disk_redraws_its_month_and_landing_and_only_what_shows_it(remembered, tmp_path):
    """A page rendered again by another process (not handed in) is found by its manifest."""
    out, config, state = remembered
    before = _files_now(out)
    book = report_notebook()
    title = next(c for c in book.cells if c.cell_type == "markdown" and c.source.startswith("# "))
    title.source = "# Dundee City in October, drawn again"
    notebook = write_notebook(tmp_path / "changed.ipynb", book)
    context = _summary_context(config, "2026-10")
    out_html, out_pdf = page_paths(out, context)
    render_page(notebook, out_html=out_html, out_pdf=out_pdf, context=context, config=config, published=PUBLISHED)
    built = build_site([], config, out, published=PUBLISHED, state=state)
    assert not built.unchanged
    written = {p.relative_to(out).as_posix() for p in built.written}
    assert {
        "councils/dundee-city/2026-10/index.html",
        "councils/dundee-city/index.html",
        "councils/dundee-city/search.json",
        "dwp/2026-10/dundee-city-2026-10-summary.pdf",  # DWP's copy of its PDF
    } <= written
    assert not any(p.startswith(("councils/east-ayrshire/", "consortium/")) for p in written)  # they show nothing of it
    for path in ("councils/dundee-city/2026-10/index.html", "councils/dundee-city/index.html"):
        assert "Dundee City in October, drawn again" in (out / path).read_text(encoding="utf-8")
    after = _files_now(out)
    others = [p for p in before if p.relative_to(out).parts[:2] in (("councils", "east-ayrshire"), ("consortium",))]
    assert others and all(after[p] == before[p] for p in others)  # not written again


def test_a_new_date_code_or_configuration_draws_the_site_again(remembered, monkeypatch):
    import dataclasses

    from perfcore.render import site as site_module

    out, config, state = remembered
    later = build_site([], config, out, published=date(2026, 12, 3), state=state)
    assert not later.unchanged and (out / "index.html") in later.written  # the footer's date
    assert "3 December 2026" in (out / "index.html").read_text(encoding="utf-8")
    assert build_site([], config, out, published=date(2026, 12, 3), state=state).unchanged
    renamed = dataclasses.replace(config, title="Renamed reports")
    assert not build_site([], renamed, out, published=date(2026, 12, 3), state=state).unchanged
    assert "Renamed reports" in (out / "index.html").read_text(encoding="utf-8")
    monkeypatch.setattr(site_module, "_code_version", lambda: "another version of perfcore")
    assert not build_site([], renamed, out, published=date(2026, 12, 3), state=state).unchanged
    assert build_site([], renamed, out, published=date(2026, 12, 3), state=state).unchanged


def test_a_file_added_to_the_dwp_folder_is_listed(remembered):
    out, config, state = remembered
    (out / "dwp" / "2026-10" / "hbpe-return-2026-10.xml").write_text("<return/>")
    built = build_site([], config, out, published=PUBLISHED, state=state)
    assert not built.unchanged
    assert "hbpe-return-2026-10.xml" in (out / "dwp" / "2026-10" / "index.html").read_text(encoding="utf-8")


def test_pages_handed_in_that_differ_from_disk_are_not_remembered(remembered):
    """A page handed in wins over its manifest; a later build reading only the disk must draw again."""
    import dataclasses

    out, config, state = remembered
    page = next(p for p in build_site([], config, out, published=PUBLISHED).pages if p.context.period == "2026-10")
    build_site([dataclasses.replace(page, title="Only in memory")], config, out, published=PUBLISHED, state=state)
    assert not state.exists()
    assert not build_site([], config, out, published=PUBLISHED, state=state).unchanged
    assert build_site([], config, out, published=PUBLISHED, state=state).unchanged
