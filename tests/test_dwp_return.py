"""DWP's electronic return (issue 12, item 1): `perfcore dwp-return`, its XSD, its figures, its refusals,
its manifest, and the site's dwp/<period>/returns/.

The warehouse is real (tests/builders.Harness); the council's PDF is a file put where `perfcore build`
publishes it (the return copies it byte for byte; a real build is the slow test at the end).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from builders import Harness, change, claim, extract_xml, item, manual_csv, overpayment, recovery, write_off
from perfcore.cli import main

ROOT = Path(__file__).resolve().parents[1]
XSD = ROOT / "src" / "perfcore" / "dwp" / "schema" / "dwp-return-1.0.xsd"
NS = {"r": "urn:perfcore:dwp-return:1"}
TODAY = "2026-11-26"
DUNDEE, BORDERS = "S12000042", "S12000026"
PDF = b"%PDF-1.7\n% a council report\n"


def month_extract(period: str, sequence: int = 1, *, extra=()) -> str:
    return extract_xml(
        DUNDEE,
        period,
        [
            claim("C1", f"{period}-01", f"{period}-09"),
            claim("C2", f"{period}-02", f"{period}-25", info=f"{period}-05"),
            claim("C3", f"{period}-03", f"{period}-04", outcome="withdrawn"),
            change("X1", f"{period}-02", f"{period}-06", effective=f"{period}-04"),
            change("X2", f"{period}-10", f"{period}-11", type_="uprating"),
            item("W1", "2026-07-15"),
            item("W2", f"{period}-20", kind="change"),
            overpayment("O1", f"{period}-03", "512.40"),
            overpayment("O2", f"{period}-04", "80.00", cause="admin-delay"),
            overpayment("O3", f"{period}-05", "19.99", cause="claimant-error"),
            recovery("O1", f"{period}-20", "100.00"),
            write_off("O9", f"{period}-21", "35.00"),
            *extra,
        ],
        sequence=sequence,
    )


MANUAL = [
    ("accuracy_cases_checked", "120"),
    ("accuracy_cases_correct", "114"),
    ("admin_cost_gbp", "210000"),
    ("staff_fte", "38.5"),
    ("calls_offered", "5400"),
    ("calls_answered", "4950"),
]


@pytest.fixture(scope="module")
def three_months(tmp_path_factory) -> Path:
    """Dundee's August to October extracts and October's manual return, ingested once for the module."""
    h = Harness(tmp_path_factory.mktemp("dwp") / "data", today=TODAY)
    for period in ("2026-08", "2026-09", "2026-10"):  # FYTD indicators add up the months since April
        assert h.ingest(month_extract(period)).outcome == "accepted"
    assert h.ingest(manual_csv([(DUNDEE, "2026-10", m, v) for m, v in MANUAL]), suffix=".csv").outcome == "accepted"
    h.con.close()
    return h.folder


@pytest.fixture
def harness(three_months, tmp_path):
    """A copy of ``three_months`` (the warehouse, the kept files, the inputs) for one test to change."""
    shutil.copytree(three_months, tmp_path / "data")
    h = Harness(tmp_path / "data", today=TODAY)
    yield h
    h.discard()


def site_with_pdf(tmp_path: Path, slug: str = "dundee-city", period: str = "2026-10") -> Path:
    site = tmp_path / "site"
    pdf = site / "councils" / slug / period / f"{slug}-{period}-report.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(PDF)
    return site


def run(harness: Harness, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--warehouse", str(harness.folder / "warehouse.duckdb"), "--today", TODAY])
    return code, out.getvalue(), err.getvalue()


def dwp_return(harness: Harness, tmp_path: Path, *extra: str, council: str = DUNDEE, period: str = "2026-10"):
    harness.con.close()  # the command opens the warehouse itself, as it would in use
    out = tmp_path / "out"
    code, stdout, stderr = run(
        harness,
        "dwp-return",
        "--council",
        council,
        "--period",
        period,
        "--out",
        str(out),
        "--site",
        str(tmp_path / "site"),
        *extra,
    )
    return code, stdout, stderr, out


def reopen(harness: Harness) -> None:
    from perfcore import warehouse

    harness.con = warehouse.connect(harness.folder / "warehouse.duckdb")


def test_the_return_is_valid_against_its_xsd_and_carries_every_figure_as_perfcore_indicators_computes_it(
    harness, tmp_path
):
    site_with_pdf(tmp_path)
    code, stdout, _, out = dwp_return(harness, tmp_path)
    assert code == 0, stdout
    assert stdout.startswith("COMPLETE")
    xml = out / "dwp-return-dundee-city-2026-10.xml"
    document = etree.parse(str(xml))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)  # the shipped XSD, loaded afresh
    root = document.getroot()
    assert root.get("complete") == "true" and root.find("r:Incomplete", NS) is None
    assert root.find("r:Council", NS).get("code") == DUNDEE and root.findtext("r:Period", namespaces=NS) == "2026-10"

    _, printed, _ = run(harness, "indicators", "--council", DUNDEE, "--period", "2026-10", "--format", "json")
    expected = json.loads(printed)
    from perfcore.dwp.returns import CARRIED

    carried = {e.get("id"): e for e in root.iterfind(".//r:Indicator", NS)}
    assert list(carried) == list(CARRIED)
    assert root.find("r:Framework", NS).get("version") == harness.framework.version
    for indicator_id, element in carried.items():
        assert expected[indicator_id] is not None, indicator_id  # the fixture gives every carried figure a value
        assert float(element.get("value")) == expected[indicator_id], indicator_id  # exactly, not approximately
        indicator = harness.framework.indicator(indicator_id)
        if indicator.is_ratio:
            numerator, denominator = float(element.get("numerator")), float(element.get("denominator"))
            assert indicator.scale * numerator / denominator == pytest.approx(expected[indicator_id], rel=1e-12)


def test_overpayments_by_cause_recoveries_and_sources_come_from_the_month_s_files(harness, tmp_path):
    site_with_pdf(tmp_path)
    submitted = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (harness.folder / "in").iterdir()}
    code, _, _, out = dwp_return(harness, tmp_path)
    assert code == 0
    root = etree.parse(str(out / "dwp-return-dundee-city-2026-10.xml")).getroot()
    causes = {e.get("cause"): (e.get("count"), e.get("amount")) for e in root.iterfind(".//r:Identified", NS)}
    assert causes == {
        "la-error": ("1", "512.40"),
        "admin-delay": ("1", "80.00"),
        "claimant-error": ("1", "19.99"),
        "dwp-error": ("0", "0.00"),
        "technical": ("0", "0.00"),
        "other": ("0", "0.00"),
    }
    assert (root.find(".//r:Recovered", NS).get("amount"), root.find(".//r:WrittenOff", NS).get("amount")) == (
        "100.00",
        "35.00",
    )
    sources = [(f.get("kind"), f.get("period"), f.get("name"), f.get("sha256")) for f in root.iterfind(".//r:File", NS)]
    assert [s[:2] for s in sources] == [
        ("extract", "2026-08"),
        ("extract", "2026-09"),
        ("extract", "2026-10"),
        ("manual", "2026-10"),
    ]
    assert all(submitted[name] == sha for _, _, name, sha in sources)


def test_the_manifest_lists_each_file_with_its_size_and_sha256(harness, tmp_path):
    site_with_pdf(tmp_path)
    _, _, _, out = dwp_return(harness, tmp_path)
    manifest = json.loads((out / "dwp-return-dundee-city-2026-10.manifest.json").read_text())
    assert (manifest["council"]["code"], manifest["period"], manifest["complete"]) == (DUNDEE, "2026-10", True)
    assert manifest["generator"]["name"] == "perfcore" and manifest["generator"]["version"]
    assert manifest["created"].endswith("Z")
    assert [f["name"] for f in manifest["files"]] == [
        "dwp-return-dundee-city-2026-10.xml",
        "dundee-city-2026-10-report.pdf",
    ]
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert (out / "dundee-city-2026-10-report.pdf").read_bytes() == PDF
    assert sorted(p.name for p in out.iterdir()) == sorted(  # whole files only: no temporary left behind
        [
            "dwp-return-dundee-city-2026-10.xml",
            "dwp-return-dundee-city-2026-10.manifest.json",
            "dundee-city-2026-10-report.pdf",
        ]
    )


def test_a_month_without_its_extract_is_refused_with_the_list_and_nothing_is_written(harness, tmp_path):
    site_with_pdf(tmp_path, period="2026-07")
    code, stdout, stderr, out = dwp_return(harness, tmp_path, period="2026-07")
    assert code == 1 and not out.exists()
    assert "REFUSED" in stdout
    assert "  - no accepted HBPE extract for 2026-07" in stdout
    assert (
        "  - manual measures not held: accuracy_cases_checked, accuracy_cases_correct, admin_cost_gbp, "
        "staff_fte, calls_offered, calls_answered"
    ) in stdout
    assert "refused" in stderr


def test_missing_manual_measures_are_listed_and_allow_incomplete_writes_it_marked(harness, tmp_path):
    site_with_pdf(tmp_path, period="2026-09")
    code, stdout, _, out = dwp_return(harness, tmp_path, period="2026-09")
    assert code == 1 and not out.exists()
    assert "manual measures not held: accuracy_cases_checked" in stdout

    code, stdout, _ = run(
        harness,
        "dwp-return",
        "--council",
        DUNDEE,
        "--period",
        "2026-09",
        "--out",
        str(out),
        "--site",
        str(tmp_path / "site"),
        "--allow-incomplete",
    )
    assert code == 0 and stdout.startswith("INCOMPLETE")
    root = etree.parse(str(out / "dwp-return-dundee-city-2026-09.xml")).getroot()
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(root)
    assert root.get("complete") == "false"
    assert [m.text for m in root.iterfind("r:Incomplete/r:Missing", NS)] == [
        "manual measures not held: " + ", ".join(m for m, _ in MANUAL)
    ]
    accuracy = root.find("r:Accuracy/r:Indicator", NS)
    assert accuracy.get("id") == "accuracy_pct" and accuracy.get("value") is None  # null, never 0
    manifest = json.loads((out / "dwp-return-dundee-city-2026-09.manifest.json").read_text())
    assert manifest["complete"] is False and manifest["missing"] == [m.text for m in root.iterfind(".//r:Missing", NS)]


def test_an_unresolved_conflict_refuses_the_month_until_a_later_file_is_accepted(harness, tmp_path):
    site_with_pdf(tmp_path)
    assert harness.ingest(month_extract("2026-10", extra=[claim("C9", "2026-10-01", "2026-10-02")])).outcome == (
        "conflict"
    )
    code, stdout, _, out = dwp_return(harness, tmp_path)
    assert code == 1
    assert "extract file 'file5.xml' (submission 5) was conflict and no later extract was accepted" in stdout

    reopen(harness)
    assert harness.ingest(month_extract("2026-10", sequence=2)).outcome == "accepted"
    code, stdout, _, out = dwp_return(harness, tmp_path)
    assert code == 0, stdout


def test_without_the_built_site_the_return_is_refused_naming_the_build_even_when_incomplete_is_allowed(
    harness, tmp_path
):
    code, stdout, _, out = dwp_return(harness, tmp_path, "--allow-incomplete")
    assert code == 1 and not out.exists()
    assert "run `perfcore build --period 2026-10` first" in stdout


def test_all_writes_each_member_s_return_and_lists_why_the_others_were_refused(harness, tmp_path):
    site_with_pdf(tmp_path)
    site_with_pdf(tmp_path, slug="scottish-borders")
    harness.con.close()
    out = tmp_path / "out"
    code, stdout, _ = run(
        harness, "dwp-return", "--all", "--period", "2026-10", "--out", str(out), "--site", str(tmp_path / "site")
    )
    assert code == 1
    assert sum(line.startswith("REFUSED") for line in stdout.splitlines()) == len(harness.consortium.members) - 1
    assert "Scottish Borders (S12000026) 2026-10: not written" in stdout
    assert sorted(p.name for p in out.glob("*.xml")) == ["dwp-return-dundee-city-2026-10.xml"]


def test_the_site_writes_each_month_s_returns_into_dwp_and_links_them(harness, tmp_path):
    from perfcore.config.site import load_site_config
    from perfcore.dwp.returns import write_site_returns
    from perfcore.render import build_site
    from perfcore.reporting import report

    site = site_with_pdf(tmp_path)
    harness.con.close()
    data = report.load(
        "2026-10", warehouse=harness.folder / "warehouse.duckdb", parameters=ROOT / "parameters", today=TODAY
    )
    outcomes = write_site_returns(data, site)
    written = [o for o in outcomes if o.paths]
    assert [o.council.code for o in written] == [DUNDEE]  # the others have no PDF on the site
    returns = site / "dwp" / "2026-10" / "returns"
    xml = returns / "dwp-return-dundee-city-2026-10.xml"
    assert etree.parse(str(xml)).getroot().get("complete") == "true"
    before = {p.name: p.read_bytes() for p in returns.iterdir()}
    write_site_returns(data, site)  # built again with the same data: left exactly as it was
    assert {p.name: p.read_bytes() for p in returns.iterdir()} == before

    build_site([], load_site_config(ROOT), site)
    index = (site / "dwp" / "index.html").read_text(encoding="utf-8")
    assert 'href="2026-10/returns/dwp-return-dundee-city-2026-10.xml"' in index
    assert 'href="2026-10/returns/dwp-return-dundee-city-2026-10.manifest.json"' in index


def test_a_month_with_data_missing_is_written_on_the_site_marked_incomplete(harness, tmp_path):
    from perfcore.dwp.returns import write_site_returns
    from perfcore.reporting import report

    site = site_with_pdf(tmp_path, period="2026-09")
    harness.con.close()
    data = report.load(
        "2026-09", warehouse=harness.folder / "warehouse.duckdb", parameters=ROOT / "parameters", today=TODAY
    )
    write_site_returns(data, site)
    root = etree.parse(str(site / "dwp" / "2026-09" / "returns" / "dwp-return-dundee-city-2026-09.xml")).getroot()
    assert root.get("complete") == "false" and root.find("r:Incomplete/r:Missing", NS) is not None


@pytest.mark.slow
def test_a_real_build_then_dwp_return_gives_the_built_pdf_and_the_site_links_the_returns(tmp_path):
    from test_build_faults import environment, small_project

    project = small_project(tmp_path / "project")
    env = environment(project)
    built = subprocess.run(
        [sys.executable, "-m", "perfcore.cli", "build", "--period", "2026-10", "--report", "report"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    site = project / "reports" / "site"
    pdf = site / "councils" / "dundee-city" / "2026-10" / "dundee-city-2026-10-report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    site_return = site / "dwp" / "2026-10" / "returns" / "dwp-return-dundee-city-2026-10.xml"
    assert etree.parse(str(site_return)).getroot().get("complete") == "false"  # the tiny project sends no manual return
    assert "returns/dwp-return-dundee-city-2026-10.xml" in (site / "dwp" / "index.html").read_text(encoding="utf-8")

    out = tmp_path / "returns"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfcore.cli",
            "dwp-return",
            "--council",
            DUNDEE,
            "--period",
            "2026-10",
            "--out",
            str(out),
            "--allow-incomplete",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (out / pdf.name).read_bytes() == pdf.read_bytes()
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(out / site_return.name)))


def test_a_hostile_file_name_reaches_the_return_as_valid_xml(tmp_path):
    harness = Harness(tmp_path / "data", today=TODAY)
    hostile = "dundee\x01\x1b[31m-\u202eoctober.xml"
    assert harness.ingest(month_extract("2026-10"), name=hostile).outcome == "accepted"
    site_with_pdf(tmp_path)
    code, stdout, _, out = dwp_return(harness, tmp_path, "--allow-incomplete")
    assert code == 0, stdout
    document = etree.parse(str(out / "dwp-return-dundee-city-2026-10.xml"))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
    assert document.getroot().find(".//r:File", NS).get("name") == "dundee??[31m-\u202eoctober.xml"
