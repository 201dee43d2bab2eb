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
