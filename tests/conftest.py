"""Shared pytest options and fixtures.

``--snapshot-update``: rewrite the snapshots under ``tests/snapshots/`` from the
current output instead of comparing with them (then review the diff).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="rewrite tests/snapshots/ with the current output instead of comparing",
    )


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``snapshot("render/table.md", text)``: compare ``text`` with the stored file, or store it."""
    update = request.config.getoption("--snapshot-update")

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no snapshot {path.relative_to(SNAPSHOTS.parent)}: run pytest --snapshot-update and review it")
        assert text == path.read_text(encoding="utf-8"), f"{name} changed: if intended, run pytest --snapshot-update"

    return check


# -- the demo, built once per test session ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DEMO_TODAY = "2026-11-26"  # fixed, so the demo months and every figure are reproducible


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full default demo (10 councils, 24 months), ingested into a fresh warehouse."""
    from datetime import date

    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.demo import write_demo_data
    from perfcore.intake.ingest import ingest_paths

    folder = tmp_path_factory.mktemp("demo")
    consortium = load_consortium(ROOT / "parameters")
    today = date.fromisoformat(DEMO_TODAY)
    write_demo_data(
        folder / "input", consortium=consortium, today=today, initiatives_file=ROOT / "parameters" / "initiatives.yaml"
    )
    database = folder / "warehouse.duckdb"
    con = warehouse.connect(database)
    results = list(ingest_paths([folder / "input"], con, consortium, today=today))
    con.close()
    assert all(r.outcome == "accepted" for r in results)
    return database


@pytest.fixture(scope="session")
def demo_site(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """The whole site built from the demo warehouse: (summary, site folder, reports folder)."""
    from perfcore.build.runner import build

    folder = tmp_path_factory.mktemp("built")
    # The page workers read today (the published date) from the environment they inherit: set it for
    # this build only, so no later test depends on a variable this fixture happened to leave behind.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PERFCORE_TODAY", DEMO_TODAY)
        summary = build(
            None,
            site=folder / "site",
            root=ROOT,
            warehouse=demo_warehouse,
            parameters=ROOT / "parameters",
            reports_dir=folder / "reports",
            today=DEMO_TODAY,
        )
    return summary, folder / "site", folder / "reports"


@pytest.fixture(scope="session")
def reporting_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reporting_builders' small warehouse (ten members, two months), built once per test process.

    Shared: read it, never change it; a test that ingests more takes ``reporting_builders.copy`` of it.
    """
    import reporting_builders

    return reporting_builders.build(tmp_path_factory.mktemp("reporting-warehouse"))


@pytest.fixture
def demo_today(monkeypatch: pytest.MonkeyPatch) -> str:
    """PERFCORE_TODAY set to the demo's day for one test (builds and their workers read it), then restored."""
    monkeypatch.setenv("PERFCORE_TODAY", DEMO_TODAY)
    return DEMO_TODAY
