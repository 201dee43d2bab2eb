"""The analysts' notebooks run top to bottom with their default parameters (nbval)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import DEMO_TODAY, ROOT

pytestmark = pytest.mark.slow


def test_notebooks_run_with_default_parameters(demo_warehouse, tmp_path):
    env = {**os.environ, "PERFCORE_WAREHOUSE": str(demo_warehouse), "PERFCORE_TODAY": DEMO_TODAY}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(ROOT / "notebooks"),
        ],
        cwd=ROOT / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
