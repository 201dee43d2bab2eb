"""Pages that must never fail or be published broken (issue 7, items 5, 6, 7 and 9).

* every chart has a defined shape for empty, one-point, all-null and constant
  data: an SVG of sane size that Typst compiles, or a "nothing to show yet"
  callout saying why;
* untrusted text (refs, file names, CSV fields, reasons) shows literally in
  HTML, PDF and the search index, whatever it holds;
* a new member, or a consortium of one or two, gets complete pages that say
  what cannot be shown yet and why;
* a council page summarises its rejections, however many there are.

Real parts throughout: the real notebooks executed in an IPython shell (and
once with papermill), real pandoc and Typst, PDFs read back with pypdf.
The tests that execute a whole notebook (or run the CLI) are marked slow:
``.ci/run`` runs them; the fast suite keeps the chart, text and rendering checks.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from builders import Harness, change, claim, extract_xml, item, manual_csv

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
DUNDEE, EAST_AYRSHIRE, EAST_RENFREWSHIRE = "S12000042", "S12000008", "S12000011"
PUBLISHED = date(2026, 11, 5)


# --- small warehouses -----------------------------------------------------------------------------


def months_to(end: str, count: int) -> list[str]:
    from perfcore import periods

    return periods.span(periods.shift(end, -(count - 1)), end) if count else []


def slow_extract(code: str, period: str, sequence: int = 1) -> str:
    """A month whose claims take 28 days (red), with changes and work on hand."""
    day = lambda d: f"{period}-{d:02d}"  # noqa: E731
    records = [claim(f"C{code}{period}{i}", day(1), day(28)) for i in range(3)]
    records += [change(f"X{code}{period}{i}", day(2), day(9)) for i in range(3)]
    records += [item(f"W{code}{period}{i}", day(3)) for i in range(2)]
    return extract_xml(code, period, records, sequence=sequence)


def consortium_of(folder: Path, members: list[str]) -> Path:
    """A copy of parameters/ whose consortium has only ``members`` (a new, small consortium)."""
    target = folder / "parameters"
    shutil.copytree(ROOT / "parameters", target)
    consortium = yaml.safe_load((target / "consortium.yaml").read_text(encoding="utf-8"))
    consortium["members"] = [m for m in consortium["members"] if m["code"] in members]
    (target / "consortium.yaml").write_text(yaml.safe_dump(consortium, allow_unicode=True), encoding="utf-8")
    initiatives = yaml.safe_load((target / "initiatives.yaml").read_text(encoding="utf-8"))
    initiatives["initiatives"] = [i for i in initiatives["initiatives"] if i["council"] in members]
    (target / "initiatives.yaml").write_text(yaml.safe_dump(initiatives, allow_unicode=True), encoding="utf-8")
    return target


def warehouse_with(
    folder: Path, months: dict[str, int], members: list[str] | None = None, extra=()
) -> tuple[Path, Path]:
    """(warehouse, parameters folder): each council in ``months`` sent that many months up to PERIOD."""
    from perfcore.config.parameters import load_consortium

    harness = Harness(folder)
    parameters = ROOT / "parameters"
    if members is not None:
        parameters = consortium_of(folder, members)
        harness.consortium = load_consortium(parameters)
    for code, count in months.items():
        for period in months_to(PERIOD, count):
            assert harness.ingest(slow_extract(code, period)).outcome == "accepted"
    for name, text in extra:
        harness.ingest(text, name=name)
    harness.con.close()
    return folder / "warehouse.duckdb", parameters


# --- the real notebooks, executed in an IPython shell, rendered for real ----------------------------


@pytest.fixture
def shell(monkeypatch, tmp_path):
    """A fresh IPython shell, as a kernel has one; what creating it changes in this process is put back after.

    The shell is a process-wide singleton that replaces ``sys.modules["__main__"]``, adds ``display`` to the
    builtins, keeps a history database (here in the test's own folder, not ~/.ipython) with a thread
    saving to it, and registers an exit hook.
    """
    import atexit
    import builtins

    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])  # restored at teardown
    had = set(vars(builtins))
    InteractiveShell.clear_instance()
    instance = InteractiveShell.instance()
    yield instance
    instance.atexit_operations()  # closes the history and stops its thread
    atexit.unregister(instance.atexit_operations)
    InteractiveShell.clear_instance()
    for name in set(vars(builtins)) - had:
        delattr(builtins, name)


def execute_in_shell(shell, notebook_path: Path, parameters: dict):
    """The notebook with every code cell run in a real IPython ``shell`` and its display outputs kept.

    What papermill does, without a kernel process per notebook: the same
    sources, the same ``IPython.display`` publishing. Returns the executed
    notebook and the first error (None when every cell ran).
    """
    import nbformat
    from IPython.utils.capture import capture_output
    from nbformat.v4 import new_output

    shell.user_ns.clear()
    notebook = nbformat.read(str(notebook_path), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            source += "\n" + "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
        with capture_output() as captured:
            result = shell.run_cell(source, store_history=False)
        cell.outputs = [new_output("display_data", data=o.data, metadata=o.metadata) for o in captured.outputs]
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            cell.outputs.append(new_output("error", ename=type(error).__name__, evalue=str(error), traceback=[]))
            return notebook, error
    return notebook, None


def render(notebook, folder: Path, *, audience: str, report: str, pdf: bool, council: str | None = None):
    """``render_page`` of an executed notebook: the HTML page, its PDF (if asked) and what it says."""
    import nbformat

    from perfcore.render import SiteConfig, page_context, page_paths, render_page

    config = SiteConfig(title="HB Performance Consortium")
    names = {DUNDEE: ("Dundee City", "dundee-city")}
    name, slug = names.get(council, (None, None))
    context = page_context(
        config,
        audience=audience,
        period=PERIOD,
        report=report,
        report_title=report.title(),
        council_name=name,
        council_slug=slug,
    )
    executed = folder / f"{report}.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(executed))
    out_html, out_pdf = page_paths(folder / "site", context)
    return render_page(
        executed,
        out_html=out_html,
        out_pdf=out_pdf if pdf else None,
        context=context,
        config=config,
        published=PUBLISHED,
    )


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def flat(text: str) -> str:
    """Text with its line breaks (in the PDF, in HTML) made single spaces, for phrase searches."""
    return re.sub(r"\s+", " ", text)


def run_page(
    shell,
    folder: Path,
    notebook: str,
    warehouse: Path,
    parameters: Path,
    *,
    audience: str,
    report: str,
    pdf: bool,
    council: str | None = None,
):
    params = {"period": PERIOD, "warehouse": str(warehouse), "parameters": str(parameters)}
    if council:
        params["council"] = council
    executed, error = execute_in_shell(shell, ROOT / "notebooks" / notebook, params)
    assert error is None, f"{notebook} stopped at: {type(error).__name__}: {error}"
    page = render(executed, folder, audience=audience, report=report, pdf=pdf, council=council)
    assert page.ok, page.errors
    return page


# === item 5: every chart has a defined shape for degenerate data ===================================

SHAPES = ("empty", "one", "all-null", "constant")
MONTHS = months_to("2026-10", 12)


def _values(shape: str) -> list[float]:
    return {"empty": [], "one": [5.0], "all-null": [float("nan")] * 12, "constant": [7.0] * 12}[shape]


def _trend_frame(shape: str):
    import pandas as pd

    values = _values(shape)
    return pd.DataFrame({"period": MONTHS[: len(values)], "value": values, "consortium": values})


def _league_frame(shape: str, indicator):
    import pandas as pd

    values = _values(shape)
    return pd.DataFrame(
        {
            "code": [f"C{i}" for i in range(len(values))],
            "council": [f"Council {i}" for i in range(len(values))],
            "value": values,
            "rank": [float(i + 1) if v == v else float("nan") for i, v in enumerate(values)],
            "quartile": 1.0,
            "rag": [indicator.rag(v if v == v else None) for v in values],
        }
    )


def _work_on_hand_frame(shape: str):
    import pandas as pd

    from perfcore.reporting.report import AGE_BANDS

    ages = [label for *_, label in AGE_BANDS]
    if shape == "empty":  # an empty <WorkOnHand/> or no section: report.work_on_hand_age gives the age bands only
        return pd.DataFrame({"Age": ages})
    if shape == "one":
        return pd.DataFrame({"Age": ages, "New claims": [1, 0, 0, 0]})
    if shape == "all-null":
        return pd.DataFrame({"Age": ages, "New claims": [float("nan")] * 4, "Changes": [float("nan")] * 4})
    return pd.DataFrame({"Age": ages, "New claims": [3] * 4, "Changes": [3] * 4})


def _spc_frame(shape: str):
    frame = _trend_frame(shape)[["period", "value"]]
    for column in ("mean", "lower", "upper"):
        frame[column] = frame["value"]
    return frame.assign(rules="", nature="")


def _correlations(shape: str):
    import pandas as pd

    ids = {"empty": [], "one": ["a"], "all-null": ["a", "b", "c"], "constant": ["a", "b", "c"]}[shape]
    value = {"empty": float("nan"), "one": 1.0, "all-null": float("nan"), "constant": 0.5}[shape]
    return pd.DataFrame(value, index=pd.Index(ids, name="leader"), columns=pd.Index(ids, name="follower"), dtype=float)


@pytest.fixture(scope="module")
def three_councils(tmp_path_factory):
    """Three members with three months each: enough for a real funnel plot."""
    from perfcore.reporting import report

    warehouse, parameters = warehouse_with(
        tmp_path_factory.mktemp("three"), {DUNDEE: 3, EAST_AYRSHIRE: 3, EAST_RENFREWSHIRE: 3}
    )
    return report.load(PERIOD, warehouse=warehouse, parameters=parameters)


def _funnel_plot(shape: str, data):
    from perfcore.reporting import report

    plot = report.funnel_for(data, "new_claims_days")
    points = plot.points
    if shape == "empty":
        points = points.iloc[0:0]
    elif shape == "one":
        points = points.iloc[:1]
    elif shape == "all-null":
        points = points.assign(value=float("nan"))
    return dataclasses.replace(plot, points=points)


def _chart(name: str, shape: str, data):
    from perfcore.reporting import charts

    indicator = data.framework.indicator("new_claims_days")
    trend = _trend_frame(shape)
    return {
        "trend": lambda: charts.trend(trend, indicator, "Dundee City"),
        "league": lambda: charts.league(_league_frame(shape, indicator), indicator, None, PERIOD),
        "work_on_hand": lambda: charts.work_on_hand(_work_on_hand_frame(shape), "Dundee City", PERIOD),
        "spc": lambda: charts.spc(_spc_frame(shape), indicator, "Dundee City", "common_cause", None),
        "funnel": lambda: charts.funnel(_funnel_plot(shape, data), indicator, report_names(data)),
        "correlation_matrix": lambda: charts.correlation_matrix(_correlations(shape), {}, 1),
        "impact": lambda: charts.impact(
            trend[["period", "value"]],
            indicator,
            "Dundee City",
            "2026-06",
            "Faster claims",
            peers=trend[["period", "value"]],
        ),
    }[name]()


def report_names(data):
    from perfcore.reporting import report

    return report.names(data)


CHART_NAMES = ("trend", "league", "work_on_hand", "spc", "funnel", "correlation_matrix", "impact")


def svg_dimensions(svg: str) -> tuple[float, float]:
    from lxml import etree

    root = etree.fromstring(svg.encode("utf-8"))
    return float(root.get("width")), float(root.get("height"))


def compile_svg(svg: str, folder: Path) -> bytes:
    """The SVG placed in a PDF/A document by real Typst, as report.typ places charts."""
    import typst

    (folder / "chart.svg").write_text(svg, encoding="utf-8")
    source = (
        '#set document(title: [Chart])\n#set text(font: ("DejaVu Sans", "Libertinus Serif"), lang: "en")\n'
        '#figure(image("chart.svg", alt: "chart", width: 100%), caption: [Chart])\n'
    )
    return typst.compile(source.encode("utf-8"), root=str(folder), format="pdf", pdf_standards=["a-2a", "ua-1"])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", CHART_NAMES)
def test_every_chart_has_a_defined_shape_for_degenerate_data(name, shape, three_councils, tmp_path):
    from perfcore.reporting import display
    from vegalite_schema import validated

    figure = _chart(name, shape, three_councils)
    if figure.chart is None:
        # nothing to draw: the figure says why, in words a reader understands, and that is its text alternative
        assert figure.notice and figure.alt == figure.notice
        assert re.search(r"\b(No|Not enough|nothing)\b", figure.notice), figure.notice
        assert figure.title
        return
    validated(figure.chart)  # a spec Vega-Lite's schema accepts, whatever the data's shape
    svg = display.chart_svg(figure.chart)
    width, height = svg_dimensions(svg)
    assert math.isfinite(width) and math.isfinite(height)
    assert 50 <= width <= 2000 and 50 <= height <= 2000, (width, height)
    assert display.svg_size_problem(svg) is None
    assert compile_svg(svg, tmp_path).startswith(b"%PDF")
    assert figure.alt and figure.title


@pytest.mark.parametrize("name", CHART_NAMES)
def test_all_null_and_empty_data_give_a_callout_not_a_chart(name, three_councils):
    for shape in ("empty", "all-null"):
        assert _chart(name, shape, three_councils).chart is None, (name, shape)


def test_an_unavailable_figure_is_published_as_a_callout_saying_why(shell):
    from IPython.utils.capture import capture_output

    from perfcore.reporting import charts

    figure = charts.unavailable("Work on hand by age", "No items were waiting *yet*.", id="work-on-hand")
    with capture_output() as captured:
        charts.show_figure(figure)
    [output] = captured.outputs
    assert output.metadata["perfcore"]["kind"] == "callout"
    assert "Work on hand by age" in output.data["text/markdown"]
    assert r"No items were waiting \*yet\*." in output.data["text/markdown"]  # the reason is text, not markup


def test_a_chart_that_draws_to_an_absurd_size_is_replaced_by_a_warning_not_published():
    """The safety net under the charts: Vega-Lite draws empty grouped bars 1.8e308 pixels wide, and Typst
    cannot parse that SVG. ``display`` publishes a warning callout and the data table instead."""
    import pandas as pd

    from perfcore.reporting import display

    spec = {  # the work-on-hand chart as it was, for an empty <WorkOnHand/>
        "data": {"values": []},
        "mark": {"type": "bar"},
        "width": 460,
        "height": 200,
        "encoding": {
            "color": {
                "field": "Kind",
                "legend": {"orient": "bottom", "title": None},
                "scale": {"range": ["#0072B2", "#D55E00"]},
                "type": "nominal",
            },
            "tooltip": [
                {"field": "Age", "type": "nominal"},
                {"field": "Kind", "type": "nominal"},
                {"field": "Items", "type": "quantitative"},
            ],
            "x": {"axis": {"labelAngle": 0}, "field": "Age", "sort": ["a", "b"], "type": "nominal"},
            "xOffset": {"field": "Kind", "type": "nominal"},
            "y": {"field": "Items", "type": "quantitative"},
        },
    }
    assert display.svg_size_problem(display.chart_svg(spec)) is not None
    figure, data = display.chart_bundles(
        spec, title="Work on hand", alt="Bars", data=pd.DataFrame({"Age": ["0–14 days"]})
    )
    assert "image/svg+xml" not in figure.data
    assert figure.kind == "callout" and "could not be drawn" in figure.data["text/markdown"]
    assert data.kind == "chart-data"


@pytest.mark.slow
def test_a_council_with_an_empty_work_on_hand_section_gets_its_page_and_pdf(shell, tmp_path):
    """Item 5 as reported: an empty <WorkOnHand/> made the chart 1.8e308 pixels wide and lost the page."""
    harness = Harness(tmp_path)
    for period in months_to(PERIOD, 2):
        text = extract_xml(DUNDEE, period, [claim(f"C{period}", f"{period}-01", f"{period}-05")])
        if period == PERIOD:  # the section present and empty; the month before, the optional section omitted
            text = text.replace("  <Caseload", "  <WorkOnHand/>\n  <Caseload")
            assert "<WorkOnHand/>" in text
        assert harness.ingest(text).outcome == "accepted"
    harness.con.close()
    page = run_page(
        shell,
        tmp_path,
        "council.ipynb",
        tmp_path / "warehouse.duckdb",
        ROOT / "parameters",
        audience="council",
        report="report",
        pdf=True,
        council=DUNDEE,
    )
    assert page.pdf.exists() and page.html.exists()
    text = flat(pdf_text(page.pdf))
    assert "No items were recorded as waiting for a decision at Dundee City at the end of October 2026" in text
    assert "No items were recorded as waiting" in page.text


# === item 6: untrusted text ========================================================================

HOSTILE = {
    "emoji": "ref 😀 done",
    "flag": "file 🇬🇧 name",
    "cjk": "CJK 漢字テスト here",
    "rtl override": "invoice\u202etxt.exe\u202c end",
    "isolates": "a\u2067b\u2069c",
    "controls": "a\x1bb\x07c\x00d\x85e",
    "typst": "#set page(width: 1cm) $x^2$ *bold* <label> @ref back\\slash ] [ } {",
    "markdown": "| pipe | **b** _i_ `code` <script>alert(1)</script> &amp; [link](http://x) ![i](y)",
    "newline": "line one\nline two\r\n",
    "long": "x" * 100_000,
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ref 😀 done", "ref \ufffd done"),
        ("🇬🇧", "\ufffd\ufffd"),
        ("漢字", "\ufffd\ufffd"),
        ("invoice\u202etxt.exe\u202c", "invoicetxt.exe"),
        ("a\x1bb\x07c\x00d\x85e", "abcde"),
        ("one\ntwo\r\nthree\tfour", "one two three four"),
        ("e\u0301", "é"),  # a decomposed é is composed, not a stray accent
        ("Łódź, Ærø, Ελλάδα, Київ, ≤ 20 — £5 ✔", "Łódź, Ærø, Ελλάδα, Київ, ≤ 20 — £5 ✔"),
        ("\U000e0001x\ufeff\u200b", "\ufffdx"),
    ],
)
def test_safe_text_strips_invisible_characters_and_replaces_what_the_font_cannot_draw(text, expected):
    from perfcore.reporting.display import safe_text

    assert safe_text(text) == expected


def test_safe_text_cuts_long_values_with_a_visible_ellipsis():
    from perfcore.reporting.display import TEXT_LIMIT, safe_text

    cut = safe_text("x" * 100_000)
    assert len(cut) == TEXT_LIMIT and cut.endswith("…")
    assert safe_text("short") == "short"


def test_every_character_safe_text_keeps_is_drawn_by_the_pdf_fonts(tmp_path):
    """The coverage list is a promise: every character it keeps compiles into a PDF/A, in every weight used."""
    import typst

    from perfcore.reporting.display import FONT_COVERAGE, safe_text

    kept = "".join(chr(c) for low, high in FONT_COVERAGE for c in range(low, high + 1))
    kept = "".join(c for c in safe_text(kept, limit=None) if c != "\ufffd") + "\ufffd"
    assert len(kept) > 1500
    literal = kept.replace("\\", "\\\\").replace('"', '\\"')
    source = (
        '#set document(title: [Fonts])\n#set text(font: ("DejaVu Sans", "Libertinus Serif"), lang: "en")\n'
        f'#let s = "{literal}"\n#s\n\n#strong(s)\n\n#emph(s)\n\n#table(columns: 1, s)\n'
    )
    assert typst.compile(source.encode("utf-8"), format="pdf", pdf_standards=["a-2a", "ua-1"]).startswith(b"%PDF")


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    """A page with a table of every hostile value, rendered to HTML and PDF."""
    import pandas as pd
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from perfcore.reporting import display

    frame = pd.DataFrame({"Case": list(HOSTILE), "Value": list(HOSTILE.values())})
    cell = new_code_cell("show.table(frame, ...)")
    cell.outputs = [
        display.table_bundle(frame, "Values from outside", id="hostile").as_output(),
        display.callout_bundle("warning", display.md_escape(HOSTILE["typst"]), title="A reason").as_output(),
    ]
    notebook = new_notebook(cells=[new_markdown_cell("# Hostile values"), cell])
    return render(
        notebook, tmp_path_factory.mktemp("hostile"), audience="council", report="report", pdf=True, council=DUNDEE
    )


def test_hostile_text_leaves_the_pdf_compiling_and_shows_literally(hostile_page):
    text = flat(pdf_text(hostile_page.pdf))
    assert (
        "ref \ufffd done" in text
        and "file \ufffd\ufffd name" in text
        and "CJK \ufffd\ufffd\ufffd\ufffd\ufffd here" in text
    )
    assert "invoicetxt.exe end" in text and "abcde" in text and "line one line two" in text
    for literal in (
        "#set page(width: 1cm)",
        "$x^2$",
        "*bold*",
        "<label>",
        "@ref",
        "back\\slash",
        "] [ } {",
        "| pipe |",
        "**b**",
        "_i_",
        "`code`",
        "<script>alert(1)</script>",
        "&amp;",
        "[link](http://x)",
    ):
        assert literal in text.replace(" ", "") or literal in text, literal
    assert "x" * 150 in text.replace(" ", "") and "x" * 300 not in text.replace(" ", "")
    assert "…" in text


def test_hostile_text_is_escaped_in_html_and_clean_in_the_search_index(hostile_page):
    from bs4 import BeautifulSoup

    page = hostile_page.html.read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    main = soup.find("main")
    assert not main.find_all("script") and not main.find_all("img") and not main.find_all("a", href="http://x")
    cells = [td.get_text() for td in soup.find("table", id="tbl-hostile").find_all("td")]  # display's id tbl-
    assert "<script>alert(1)</script>" in " ".join(cells)
    assert len(page) < 60_000
    for bad in ("\x1b", "\x07", "\x00", "\u202e", "\u2067", "😀", "漢"):
        assert bad not in page and bad not in hostile_page.text
    assert "#set page(width: 1cm) $x^2$ *bold* <label> @ref back\\slash" in hostile_page.text


@pytest.mark.slow
def test_hostile_file_names_and_csv_fields_reach_a_council_page_safely(shell, tmp_path):
    """End to end: what arrives through ingestion, rejected and listed on the council's page for a year."""
    warehouse, parameters = warehouse_with(
        tmp_path,
        {DUNDEE: 1},
        extra=[
            (
                "report 😀 #set $x$ [a] 漢字.xml",
                extract_xml(DUNDEE, PERIOD, [claim("R1", "2026-10-20", "2026-10-02")], sequence=2),
            ),
            (
                "return\u202eVSC.csv",
                manual_csv(
                    [
                        (DUNDEE, PERIOD, "calls_offered", "1\x1b[31m2\x07"),
                        (DUNDEE, PERIOD, "calls_answered", "9" * 5000),
                    ]
                ),
            ),
        ],
    )
    page = run_page(
        shell,
        tmp_path,
        "council.ipynb",
        warehouse,
        parameters,
        audience="council",
        report="report",
        pdf=True,
        council=DUNDEE,
    )
    text = flat(pdf_text(page.pdf))
    assert "report \ufffd #set $x$ [a] \ufffd\ufffd.xml".replace(" ", "") in text.replace(" ", "")
    assert "returnVSC.csv" in text.replace(" ", "")  # the override is gone: the name reads as it is stored
    assert "'1[31m2' is not a number" in text  # ESC and BEL stripped from the quoted CSV field
    assert "5,000 characters long" in text
    # and the command the page names finds the same rows (a manual return's rows by the council in their reference)
    env = {**os.environ, "PERFCORE_WAREHOUSE": str(warehouse), "PERFCORE_TODAY": "2026-11-26"}
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfcore.cli",
            "rejections",
            "--format",
            "json",
            "--council",
            DUNDEE,
            "--period",
            PERIOD,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert sorted(row["line"] for row in json.loads(listed.stdout)) == [2, 3, 11]
    html = page.html.read_text(encoding="utf-8")
    assert "\x1b" not in html and "\u202e" not in html and "\x1b" not in page.text


# === item 7: short histories =======================================================================


@pytest.mark.slow
@pytest.mark.parametrize("months", [0, 1, 2, 7])
def test_a_new_member_gets_a_complete_council_page_saying_what_cannot_be_shown_yet(months, shell, tmp_path):
    warehouse, parameters = warehouse_with(tmp_path, {DUNDEE: months, EAST_AYRSHIRE: 12, EAST_RENFREWSHIRE: 12})
    page = run_page(
        shell,
        tmp_path,
        "council.ipynb",
        warehouse,
        parameters,
        audience="council",
        report="report",
        pdf=True,
        council=DUNDEE,
    )
    text = flat(pdf_text(page.pdf))
    assert "Data quality" in text  # the last section: the page is not cut off
    if months == 0:
        assert "No items were recorded as waiting for a decision at Dundee City" in text
        assert "No files received for October 2026" in text
    else:
        has = "is 1 month" if months == 1 else f"are {months} months"
        assert (
            f"Not enough data yet for a process control chart of New claims within 14 days for Dundee City: "
            f"it needs 8 months, and there {has}." in flat(page.text)
        )
        assert "Not enough data yet for a process control chart" in text


@pytest.mark.slow
@pytest.mark.parametrize("members", [[DUNDEE], [DUNDEE, EAST_RENFREWSHIRE]])
def test_a_consortium_of_one_or_two_gets_complete_benchmark_pages(members, shell, tmp_path):
    warehouse, parameters = warehouse_with(tmp_path, {code: 3 for code in members}, members=members)
    page = run_page(
        shell, tmp_path, "consortium.ipynb", warehouse, parameters, audience="consortium", report="benchmarks", pdf=True
    )
    text = flat(pdf_text(page.pdf))
    assert (
        f"Not enough data yet for a funnel plot of New claims, days: it needs 3 councils with cases, and "
        f"{len(members)} of the {len(members)} members have them in August 2026 to October 2026."
    ) in text
    assert "Consortium trends" in text  # the last section
    for notebook, report in (("analytics.ipynb", "analytics"), ("data_quality.ipynb", "data-quality")):
        assert run_page(
            shell, tmp_path / report, notebook, warehouse, parameters, audience="consortium", report=report, pdf=False
        ).ok


@pytest.mark.slow
def test_a_consortium_without_data_yet_gets_its_analysis_page(shell, tmp_path):
    warehouse, parameters = warehouse_with(tmp_path, {}, members=[DUNDEE, EAST_RENFREWSHIRE])
    page = run_page(
        shell, tmp_path, "analytics.ipynb", warehouse, parameters, audience="consortium", report="analytics", pdf=False
    )
    assert "Not enough data yet to see how indicators move together" in flat(page.text)
    assert "Impact of initiatives" in page.text  # the last section


def test_report_functions_return_not_yet_instead_of_raising(tmp_path):
    from perfcore.reporting import report

    warehouse, parameters = warehouse_with(
        tmp_path, {DUNDEE: 2, EAST_RENFREWSHIRE: 2}, members=[DUNDEE, EAST_RENFREWSHIRE]
    )
    data = report.load(PERIOD, warehouse=warehouse, parameters=parameters)
    spc = report.spc_for(data, DUNDEE, "new_claims_days")
    assert isinstance(spc, report.NotYet) and "it needs 8 months, and there are 2 months" in spc.reason
    funnel = report.funnel_for(data, "accuracy_pct")
    assert isinstance(funnel, report.NotYet) and "it needs 3 councils" in funnel.reason


@pytest.mark.slow
def test_council_notebook_runs_with_papermill_for_a_member_with_two_months(tmp_path):
    """The same as above through papermill and a real kernel, as the runner runs it."""
    import nbformat
    import papermill

    warehouse, parameters = warehouse_with(tmp_path, {DUNDEE: 2, EAST_AYRSHIRE: 12, EAST_RENFREWSHIRE: 12})
    output = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "council.ipynb"),
        str(output),
        kernel_name="python3",
        parameters={"council": DUNDEE, "period": PERIOD, "warehouse": str(warehouse), "parameters": str(parameters)},
        progress_bar=False,
        cwd=str(ROOT),
    )
    page = render(
        nbformat.read(str(output), as_version=4),
        tmp_path,
        audience="council",
        report="report",
        pdf=True,
        council=DUNDEE,
    )
    assert page.ok
    assert "it needs 8 months, and there are 2 months" in flat(pdf_text(page.pdf))


# === item 9: rejection lists with a bound ==========================================================

REJECTED = 80_000


@pytest.fixture(scope="module")
def many_rejections(tmp_path_factory):
    """Dundee's October extract with 80,000 records rejected (decided before received) and a few accepted."""
    folder = tmp_path_factory.mktemp("rejections")
    harness = Harness(folder)
    bad = [claim(f"BAD{i:06d}", "2026-10-20", "2026-10-02") for i in range(REJECTED)]
    good = [claim(f"OK{i}", "2026-10-01", "2026-10-05") for i in range(5)]
    result = harness.ingest(extract_xml(DUNDEE, PERIOD, good + bad), name="big.xml")
    assert result.outcome == "accepted"
    harness.con.close()
    return folder, folder / "warehouse.duckdb"


@pytest.mark.slow
def test_80000_rejections_give_a_bounded_council_page(many_rejections, shell):
    from bs4 import BeautifulSoup

    folder, warehouse = many_rejections
    page = run_page(
        shell,
        folder,
        "council.ipynb",
        warehouse,
        ROOT / "parameters",
        audience="council",
        report="report",
        pdf=True,
        council=DUNDEE,
    )
    html = page.html.read_text(encoding="utf-8")
    assert len(html) < 200_000 and page.pdf.stat().st_size < 500_000
    soup = BeautifulSoup(html, "html.parser")
    listed = next(t for t in soup.find_all("table") if "Records rejected from Dundee City" in t.caption.get_text())
    assert len(listed.find("tbody").find_all("tr")) == 20
    reasons = next(t for t in soup.find_all("table") if "by reason" in t.caption.get_text())
    assert "80,000" in reasons.get_text() and "received after decided" in reasons.get_text()
    text = flat(page.text)
    assert (
        "The first 20 of 80,000 rejections are listed above; 79,980 more are not shown here. "
        f"Run perfcore rejections --council {DUNDEE} --period {PERIOD} for the full list"
    ) in text
    assert "79,980 more" in flat(pdf_text(page.pdf))


@pytest.mark.slow
def test_rejections_cli_filters_by_council_and_period(many_rejections, tmp_path):
    _, warehouse = many_rejections
    env = {**os.environ, "PERFCORE_WAREHOUSE": str(warehouse), "PERFCORE_TODAY": "2026-11-26"}

    def rejections(*args):
        done = subprocess.run(
            [sys.executable, "-m", "perfcore.cli", "rejections", "--format", "json", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert len(rejections("--council", DUNDEE, "--period", PERIOD)) == REJECTED
    assert rejections("--council", EAST_AYRSHIRE) == []
    assert rejections("--period", "2026-09") == []
    bad = subprocess.run(
        [sys.executable, "-m", "perfcore.cli", "rejections", "--council", "S99999999"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "not a member" in bad.stderr and "Traceback" not in bad.stderr
