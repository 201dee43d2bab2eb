"""Incremental builds: unchanged pages are not executed again; a change re-runs what shows it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import DEMO_TODAY, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_today")]  # rebuilds as of the demo's day


@pytest.fixture(scope="module")
def copy_of_demo(demo_site, demo_warehouse, tmp_path_factory):
    """The built demo copied aside, so these tests can change its data."""
    summary, site, reports = demo_site
    folder = tmp_path_factory.mktemp("freeze")
    shutil.copy(demo_warehouse, folder / "warehouse.duckdb")
    shutil.copytree(demo_warehouse.parent / "submitted", folder / "submitted")
    shutil.copytree(site, folder / "site")
    shutil.copytree(reports, folder / "reports")
    return summary.period, folder


def rebuild(folder: Path):
    from perfcore.build.runner import build

    return build(
        None,
        site=folder / "site",
        root=ROOT,
        warehouse=folder / "warehouse.duckdb",
        parameters=ROOT / "parameters",
        reports_dir=folder / "reports",
    )


def test_a_second_build_with_nothing_changed_executes_nothing(copy_of_demo):
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.intake.ingest import ingest_file

    _, folder = copy_of_demo
    # A file sent twice is recorded as a duplicate: it changes nothing any page shows.
    con = warehouse.connect(folder / "warehouse.duckdb")
    stored = (
        folder / con.execute("select stored_path from submissions where outcome = 'accepted' limit 1").fetchone()[0]
    )
    again = ingest_file(stored, con, load_consortium(ROOT / "parameters"), today=date.fromisoformat(DEMO_TODAY))
    con.close()
    assert again.outcome == "duplicate"
    summary = rebuild(folder)
    assert summary.executed == () and not summary.failed
    assert len(summary.frozen) == len(summary.outcomes) > 10


def test_a_rebuild_with_nothing_changed_does_not_fingerprint_its_pages_again(copy_of_demo, monkeypatch):
    """The whole build's key (code, notebooks, parameters, every council's data, months) is unchanged, so
    each page's last fingerprint stands; computing what a page shows from other councils is not needed."""
    from perfcore.build import runner

    _, folder = copy_of_demo
    rebuild(folder)  # this build ends by recording its key
    asked = []
    monkeypatch.setattr(runner, "shown_from_others", lambda *args: asked.append(args) or "changed")
    returns = next((folder / "site" / "dwp").glob("*/sop-return-*.csv"))
    # where each figure comes from, month by month
    figures = sorted(p for p in (folder / "site").glob("*/**/figures.html") if p.parent.name[:2] == "20")
    written = returns.stat().st_mtime_ns
    figures_written = [page.stat().st_mtime_ns for page in figures]
    site = {p: p.stat().st_mtime_ns for p in (folder / "site").rglob("*") if p.is_file()}
    summary = rebuild(folder)
    assert asked == [] and summary.executed == () and len(summary.frozen) == len(summary.outcomes)
    assert returns.stat().st_mtime_ns == written  # DWP's files too are left as the last build wrote them
    assert len(figures) > 10 and [page.stat().st_mtime_ns for page in figures] == figures_written  # and these
    # and every other file: indexes, landing pages, search, assets, DWP's copies (build_site drew nothing)
    assert {p: p.stat().st_mtime_ns for p in (folder / "site").rglob("*") if p.is_file()} == site
    # a build that stops half-way vouches for nothing: the next one fingerprints every page again
    monkeypatch.setattr(runner, "run", lambda *args, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        rebuild(folder)
    monkeypatch.undo()
    real = runner.shown_from_others  # counted, not replaced: the pages' fingerprints stay the real ones
    monkeypatch.setattr(runner, "shown_from_others", lambda *args: asked.append(args) or real(*args))
    summary = rebuild(folder)
    assert len(asked) > 0 and summary.executed == ()


def test_changing_one_councils_data_reruns_only_its_pages_and_those_that_pool_it(copy_of_demo):
    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.intake.ingest import ingest_file

    period, folder = copy_of_demo
    con = warehouse.connect(folder / "warehouse.duckdb")
    # A resubmission of Dundee City's latest month: take the stored seq1 and add one item of work on hand,
    # which Dundee's own page shows but no figure on another council's page depends on.
    stored = con.execute(
        "select s.stored_path from current_extracts c join submissions s on s.id = c.submission_id "
        "where c.authority = 'S12000042' and c.period = ?",
        [period],
    ).fetchone()[0]
    text = (folder / stored).read_text(encoding="utf-8")
    text = text.replace("<Sequence>1</Sequence>", "<Sequence>2</Sequence>")
    text = text.replace(
        "<WorkOnHand>", f'<WorkOnHand>\n    <Item ref="EXTRA-1" kind="change" received="{period}-15"/>', 1
    )
    path = folder / "dundee-seq2.xml"
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path, con, load_consortium(ROOT / "parameters"), today=date.fromisoformat(DEMO_TODAY))
    con.close()
    assert result.outcome == "accepted", result.reason

    summary = rebuild(folder)
    executed = {o.job.label for o in summary.executed}
    assert f"councils/dundee-city/{period}/report.html" in executed
    assert {f"consortium/{period}/benchmarks.html", f"analysts/{period}/data-quality.html"} <= executed
    assert not any(label.startswith("councils/") and "dundee-city" not in label for label in executed)
    assert f"consortium/{period}/indicators.html" not in executed  # depends on the framework only
    assert not summary.failed


def test_a_failing_notebook_does_not_stop_the_others(demo_warehouse, tmp_path):
    import json

    from perfcore.build.runner import build

    root = tmp_path / "project"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copy(ROOT / "_quarto.yml", root / "_quarto.yml")
    broken = root / "notebooks" / "data_quality.ipynb"
    book = json.loads(broken.read_text())
    book["cells"][2]["source"] = ["raise RuntimeError('the returns table is broken')"]
    broken.write_text(json.dumps(book))
    summary = build(
        None,
        site=tmp_path / "site",
        root=root,
        warehouse=demo_warehouse,
        parameters=ROOT / "parameters",
        reports_dir=tmp_path / "reports",
        only=("data-quality", "guide"),
    )
    [failed] = summary.failed
    assert failed.job.report.name == "data-quality" and "the returns table is broken" in failed.error
    assert len(summary.executed) == 2  # both guides
    partial = tmp_path / "reports" / "executed" / "analysts" / summary.period / "data-quality.ipynb"
    assert "the returns table is broken" in partial.read_text()  # papermill saved the partial notebook
    page = (tmp_path / "site" / "analysts" / summary.period / "data-quality.html").read_text()
    # a page that never built says so in words; the error itself stays in the build's log
    assert "This page could not be built" in page and "the returns table is broken" not in page
