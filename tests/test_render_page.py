"""perfcore.render.render_page: one notebook to an accessible HTML page and an archival PDF."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from bs4 import BeautifulSoup

from perfcore.config.site import TypstFormat
from perfcore.exceptions import BuildError
from perfcore.render import CONSORTIUM, COUNCIL, SiteConfig, page_context, page_paths, render_page
from perfcore.render.notebook import notebook_to_markdown
from perfcore.render.pdf import markdown_to_typst
from render_notebooks import report_notebook, write_notebook

PUBLISHED = date(2026, 11, 5)
CONFIG = SiteConfig(title="HB Performance Consortium", footer="Figures are provisional.")


def council_context(period: str = "2026-10", **extra):
    return page_context(
        CONFIG,
        audience=COUNCIL,
        period=period,
        report="summary",
        report_title="Monthly summary",
        council_name="Dundee City",
        council_slug="dundee-city",
        **extra,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    notebook = write_notebook(folder / "summary.ipynb", report_notebook(with_error=True))
    context = council_context(for_dwp=True)
    out_html, out_pdf = page_paths(folder / "site", context)
    page = render_page(
        notebook, out_html=out_html, out_pdf=out_pdf, context=context, config=CONFIG, published=PUBLISHED
    )
    return page


@pytest.fixture(scope="module")
def soup(rendered):
    return BeautifulSoup(rendered.html.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def pdf(rendered):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(rendered.pdf.read_bytes()))


# --- the page and its files -----------------------------------------------------------


def test_files_sit_in_the_councils_folder(rendered):
    site = rendered.html.parents[3]
    assert rendered.html.relative_to(site).as_posix() == "councils/dundee-city/2026-10/summary.html"
    assert rendered.pdf.relative_to(site).as_posix() == "councils/dundee-city/2026-10/dundee-city-2026-10-summary.pdf"
    for asset in rendered.assets:
        assert asset.relative_to(site).as_posix().startswith("councils/dundee-city/2026-10/summary_files/")
    assert (rendered.html.parent / "summary_files" / "page.json").exists()


def test_errors_are_reported_on_the_result(rendered):
    assert rendered.errors == ("cell 11: ZeroDivisionError: division by zero",)
    assert not rendered.ok
    assert rendered.title == "Monthly summary: Dundee City, October 2026"
    assert "18.2 days" in rendered.text and "✔" not in rendered.text  # symbols are aria-hidden


def test_writing_outside_the_audience_layout_is_refused(tmp_path):
    notebook = write_notebook(tmp_path / "n.ipynb", report_notebook(chart=False))
    context = council_context()
    with pytest.raises(BuildError, match="must be written to"):
        render_page(notebook, out_html=tmp_path / "site" / "consortium" / "summary.html", out_pdf=None, context=context)
    out_html, _ = page_paths(tmp_path / "site", context)
    with pytest.raises(BuildError, match="PDF of a council page"):
        render_page(notebook, out_html=out_html, out_pdf=tmp_path / "site" / "dwp" / "x.pdf", context=context)


def test_missing_notebook_is_a_build_error(tmp_path):
    context = council_context()
    out_html, _ = page_paths(tmp_path, context)
    with pytest.raises(BuildError, match="not found"):
        render_page(tmp_path / "missing.ipynb", out_html=out_html, out_pdf=None, context=context)


# --- HTML: structure and accessibility ---------------------------------------------------


def test_page_has_language_landmarks_and_skip_link(soup):
    assert soup.html["lang"] == "en-GB"
    skip = soup.find("a", class_="skip-link")
    assert skip["href"] == "#main" and soup.find("main")["id"] == "main"
    assert soup.find("header") and soup.find("footer")
    assert {nav["aria-label"] for nav in soup.find_all("nav")} >= {"Main", "Breadcrumb"}
    assert (
        soup.find("form", attrs={"role": "search"})["data-indexes"]
        == "councils/dundee-city/search.json consortium/search.json"
    )
    assert soup.title.string == "Monthly summary: Dundee City, October 2026 – HB Performance Consortium"


def test_headings_start_at_one_and_never_skip_a_level(soup):
    levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels


def test_no_code_is_shown(soup):
    text = soup.get_text()
    assert not soup.find("pre") and not soup.find("code")
    assert "secret_code_should_not_show" not in text and "debug: loaded" not in text and "ZeroDivisionError" not in text


def test_tables_are_real_tables_with_captions_and_headers(soup):
    tables = soup.find_all("table")
    assert len(tables) == 2  # the headline table and the chart's data
    for table in tables:
        assert table.caption and table.caption.get_text(strip=True)
        assert table.find("thead").find_all("th")
        region = table.parent
        assert region["role"] == "region" and region["tabindex"] == "0" and region["aria-label"]
    assert soup.find("table", id="tbl-headline")


def test_chart_is_an_svg_image_with_alt_and_its_data_in_a_disclosure(soup, rendered):
    figure = soup.find("figure", id="fig-claims")
    img = figure.find("img")
    assert img["src"] == "summary_files/chart-01.svg"
    assert img["alt"].startswith("Line chart: average days to decide new claims fell")
    assert (rendered.html.parent / img["src"]).read_text().lstrip().startswith("<svg")
    details = figure.find_next_sibling("details")
    assert details.summary and details.find("table")
    assert details.find("a", href="summary_files/chart-01.csv")


def test_rag_is_never_colour_alone(soup):
    tiles = soup.find_all("div", class_="tile")
    assert len(tiles) == 4
    for tile, word in zip(tiles, ["Green", "Amber", "Red", "No target"]):
        status = tile.find(class_="tile-status").get_text(" ", strip=True)
        assert word in status
    assert "Improving" in tiles[0].find(class_="tile-trend").get_text()


def test_callout_is_a_note_with_its_kind_in_words(soup):
    callout = soup.find("div", class_="callout-warning")
    assert callout["role"] == "note" and "Warning" in callout.get_text()


def test_links_are_relative_and_pdf_is_linked(soup):
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert all(not h.startswith("/") and "://" not in h for h in hrefs), hrefs
    assert "dundee-city-2026-10-summary.pdf" in hrefs
    assert soup.find("link", rel="stylesheet")["href"] == "../../../assets/perfcore.css"


def test_html_body_snapshot(soup, snapshot):
    snapshot("render/page-main.html", soup.find("main").decode())


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_is_pdfa_and_tagged_with_language(pdf):
    xmp = pdf.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>A</pdfaid:conformance>" in xmp
    assert "<pdfuaid:part>1</pdfuaid:part>" in xmp
    assert pdf.trailer["/Root"]["/MarkInfo"]["/Marked"]
    assert pdf.trailer["/Root"]["/Lang"] == "en-GB"
    assert pdf.metadata.title == "Monthly summary: Dundee City, October 2026"


def test_every_page_has_council_period_and_page_number(pdf):
    assert len(pdf.pages) >= 2
    for number, page in enumerate(pdf.pages, start=1):
        text = page.extract_text()
        assert "Dundee City · Monthly summary" in text and "October 2026" in text
        assert f"Page {number} of {len(pdf.pages)}" in text


def test_pdf_has_cover_tables_as_text_and_no_code(pdf):
    cover = pdf.pages[0].extract_text()
    assert "Prepared for" in cover and "Department for Work and Pensions" in cover and "5 November 2026" in cover
    text = "\n".join(page.extract_text() for page in pdf.pages).replace(
        "\xa0", " "
    )  # typst joins "Table 1" with a no-break space
    assert "Table 1: Headline figures, October 2026" in text
    assert "Claims over 50 days | backlog 7 11" in text  # a real table: its cells are text
    assert "Table 2: Data for the chart" in text and "2026-10 18.2 22.0" in text
    assert "Figure 1: Average days to decide new claims" in text
    assert "secret_code" not in text and "debug: loaded" not in text and "ZeroDivision" not in text


def test_pdf_fonts_are_embedded(pdf):
    for page in pdf.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            descendant = font.get_object()["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_chart_in_pdf_is_vector(pdf):
    # an SVG chart becomes PDF drawing operators, not an embedded raster image
    page = next(p for p in pdf.pages if "Figure\xa01" in p.extract_text())
    xobjects = page["/Resources"].get("/XObject") or {}
    images = [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]
    assert not images


def test_typst_source_snapshot(snapshot):
    markdown = notebook_to_markdown(report_notebook(), assets_prefix="summary_files").markdown
    source = markdown_to_typst(
        markdown, context=council_context(for_dwp=True), options=TypstFormat(), published=PUBLISHED, what="t"
    )
    assert "#table(" in source.source and "table.header(" in source.source
    assert 'image("summary_files/chart-01.svg", alt: "Line chart: average days' in source.source
    assert "#tiles(" in source.source and 'tile(rag: "green")[' in source.source
    assert '#callout(kind: "warning", title: "Warning")[' in source.source
    snapshot("render/page.typ", source.source)


def test_consortium_pdf_names_all_members(tmp_path):
    notebook = write_notebook(tmp_path / "b.ipynb", report_notebook(chart=False))
    context = page_context(
        CONFIG, audience=CONSORTIUM, period="2026-10", report="benchmarks", report_title="Benchmarks"
    )
    out_html, out_pdf = page_paths(tmp_path / "site", context)
    page = render_page(
        notebook, out_html=out_html, out_pdf=out_pdf, context=context, config=CONFIG, published=PUBLISHED
    )
    assert page.pdf == tmp_path / "site" / "consortium" / "2026-10" / "consortium-2026-10-benchmarks.pdf"
    from pypdf import PdfReader

    assert "All member councils · Benchmarks" in PdfReader(page.pdf).pages[1].extract_text()


def test_typst_failure_is_a_one_line_build_error(tmp_path):
    from perfcore.render.pdf import compile_pdf

    with pytest.raises(BuildError) as caught:
        compile_pdf("#let x = ", root=tmp_path, standards=("a-2b",), published=PUBLISHED, what="page.html")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("page.html: typst could not make the PDF")


def test_pandoc_failure_is_a_build_error():
    from perfcore.render.pandoc import run_pandoc

    with pytest.raises(BuildError, match="pandoc could not convert to nonsense"):
        run_pandoc("x", to="nonsense", what="page.html")


def test_bad_typst_lengths_are_refused_before_they_reach_the_template():
    with pytest.raises(BuildError, match="margin"):
        markdown_to_typst(
            "x", context=council_context(), options=TypstFormat(margin_x="2cm); #panic("), published=PUBLISHED, what="t"
        )


def test_title_falls_back_to_the_report_and_headings_are_renumbered():
    from perfcore.config.site import HtmlFormat
    from perfcore.render.html import markdown_to_html

    parts = markdown_to_html(
        "### A\n\ntext\n\n##### B\n\n### C\n", fallback_title="Monthly summary", options=HtmlFormat(), what="t"
    )
    assert parts.title_text == "Monthly summary"
    assert re.findall(r"<h(\d)", parts.body) == ["2", "3", "2"]
    assert parts.toc.count("<li") == 2  # toc-depth 2: the level-2 sections
    titled = markdown_to_html("# Own *title*\n\n# Section\n", fallback_title="x", options=HtmlFormat(), what="t")
    assert titled.title_html == "Own <em>title</em>" and "<h2" in titled.body and "<h1" not in titled.body


def test_quarto_conditional_content_is_per_format():
    from perfcore.config.site import HtmlFormat
    from perfcore.render.html import markdown_to_html

    markdown = (
        '::: {.content-visible when-format="html"}\nWEB ONLY\n:::\n\n'
        '::: {.content-hidden when-format="html"}\nPDF ONLY\n:::\n'
    )
    body = markdown_to_html(markdown, fallback_title="t", options=HtmlFormat(), what="t").body
    assert "WEB ONLY" in body and "PDF ONLY" not in body
    source = markdown_to_typst(
        markdown, context=council_context(), options=TypstFormat(), published=PUBLISHED, what="t"
    ).source
    assert "PDF ONLY" in source and "WEB ONLY" not in source
