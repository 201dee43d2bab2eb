"""The monthly site workflow (.github/workflows/monthly-site.yml) cannot run here: check its shape.

It is parsed as data, and every ``perfcore`` command line in it is parsed by
perfcore's own argument parser, so renaming a subcommand or an option breaks
this test rather than next month's run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from perfcore.cli import COMMANDS, build_parser
from perfcore.render import load_site_config

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "monthly-site.yml"
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))  # minute, hour, day of month, month, day of week
CRON_NAMES = (
    {},
    {},
    {},
    {m: n for n, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)},
    {d: n for n, d in enumerate("sun mon tue wed thu fri sat".split())},
)
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "(", ")"}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(workflow) if "run" in step]


def uses(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(workflow) if step.get("uses", "").split("@")[0] == action]


# -- cron ----------------------------------------------------------------------------------------------------


def cron_field_ok(text: str, low: int, high: int, names: dict[str, int]) -> bool:
    """One cron field: *, n, a-b, with /step, comma-separated; names for months and weekdays."""

    def value(token: str) -> int | None:
        token = token.lower()
        if token in names:
            return names[token]
        return int(token) if token.isdigit() else None

    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        first, _, last = base.partition("-")
        bounds = [value(first), value(last) if last else value(first)]
        if None in bounds or not all(low <= b <= high for b in bounds) or bounds[0] > bounds[1]:
            return False
    return True


def valid_cron(expression: str) -> bool:
    fields = expression.split()
    return len(fields) == 5 and all(
        cron_field_ok(f, low, high, names) for f, (low, high), names in zip(fields, CRON_RANGES, CRON_NAMES)
    )


@pytest.mark.parametrize(
    "expression, ok",
    [
        ("0 6 5 * *", True),
        ("*/15 0-23/2 1,15 jan-jun mon-fri", True),
        ("0 6 5 * * *", False),
        ("60 6 5 * *", False),
        ("0 24 5 * *", False),
        ("0 6 0 * *", False),
        ("0 6 5 13 *", False),
        ("0 6 5 * 7", False),
        ("0 6 5-1 * *", False),
        ("0 6 */0 * *", False),
        ("@monthly", False),
    ],
)
def test_cron_checker(expression: str, ok: bool) -> None:
    assert valid_cron(expression) is ok


def test_runs_monthly_on_a_schedule_and_by_hand(workflow: dict[str, Any]) -> None:
    on = triggers(workflow)
    crons = [entry["cron"] for entry in on["schedule"]]
    assert crons and all(valid_cron(c) for c in crons), crons
    for cron in crons:
        _minute, _hour, day, month, weekday = cron.split()
        assert day.isdigit() and month == "*" and weekday == "*", f"{cron}: not once a month"
    period = on["workflow_dispatch"]["inputs"]["period"]
    assert period.get("required") is False


# -- what it runs --------------------------------------------------------------------------------------------


def test_uses_python_311(workflow: dict[str, Any]) -> None:
    setups = uses(workflow, "actions/setup-python")
    assert setups
    for setup in setups:  # one per job that runs perfcore
        assert setup["with"]["python-version"] == "3.11"  # a string: unquoted, YAML would read 3.10 as 3.1
        assert setup["with"]["cache"] == "pip"
    assert any(s.strip() == "python -m pip install -c requirements.lock ." for s in scripts(workflow))


def perfcore_commands(workflow: dict[str, Any]) -> list[list[str]]:
    """Every `perfcore ...` command line in the run scripts, as argument lists (up to a shell operator)."""
    found = []
    for script in scripts(workflow):
        for line in script.splitlines():
            if not re.search(r"(^|[\s;&|(])perfcore\s", line):
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)  # drops comments too
            lexer.whitespace_split = True
            tokens = list(lexer)
            if "perfcore" not in tokens:  # only mentioned in a comment
                continue
            start = tokens.index("perfcore")
            end = next((i for i in range(start, len(tokens)) if tokens[i] in SHELL_OPERATORS), len(tokens))
            found.append(tokens[start + 1 : end])
    return found


def test_every_perfcore_command_exists(workflow: dict[str, Any]) -> None:
    commands = perfcore_commands(workflow)
    names = {name for name, *_ in COMMANDS}
    assert {"ingest", "rejections", "build"} <= {c[0] for c in commands}
    for arguments in commands:
        assert arguments[0] in names, f"perfcore {arguments[0]} is not a perfcore command"
        try:
            build_parser().parse_args(arguments)
        except SystemExit:  # argparse has printed what it could not parse
            pytest.fail(f"perfcore {' '.join(arguments)}: perfcore's parser rejects this command line")


def test_builds_the_period_and_uploads_the_site(workflow: dict[str, Any]) -> None:
    builds = [c for c in perfcore_commands(workflow) if c[0] == "build"]
    assert builds and all("--out" not in c for c in builds)
    assert all("--period" in c for c in builds if "--merge" not in c)
    # perfcore build writes the site to _quarto.yml's output-dir: that is what must be uploaded
    site = load_site_config(ROOT).output_dir.relative_to(ROOT).as_posix()
    assert site == "reports/site"
    (upload,) = uses(workflow, "actions/upload-artifact")
    assert upload["with"]["path"].rstrip("/") == site


def test_never_deploys_to_github_pages(workflow: dict[str, Any]) -> None:
    """The site is access-controlled by audience folder on nginx; Pages is public."""
    pages_actions = {
        "actions/deploy-pages",
        "actions/upload-pages-artifact",
        "actions/configure-pages",
        "peaceiris/actions-gh-pages",
        "JamesIves/github-pages-deploy-action",
    }
    assert not [s["uses"] for s in steps(workflow) if s.get("uses", "").split("@")[0] in pages_actions]
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "gh-pages" not in text and "pages: write" not in text
    assert workflow["permissions"] == {"contents": "read"}
    assert any(s.get("name", "").startswith("Deploy") and "rsync" in s.get("run", "") for s in steps(workflow))


def test_shards_cover_the_month_and_are_merged(workflow: dict[str, Any]) -> None:
    """The build matrix's shards are 1..SHARDS, each builds K/SHARDS, and publishing merges them all."""
    build = workflow["jobs"]["build"]
    shards = build["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(build["env"]["SHARDS"]) + 1))
    assert build["env"]["SHARD"] == "${{ matrix.shard }}"
    builds = [c for c in perfcore_commands(workflow) if c[0] == "build"]
    assert ["build", "--period", "$PERIOD", "--shard", "$SHARD/$SHARDS"] in builds
    publish = workflow["jobs"]["publish"]
    assert set(publish["needs"]) >= {"build"}  # only when every shard built without a failed page
    (download,) = uses(workflow, "actions/download-artifact")
    (upload,) = uses(workflow, "actions/upload-artifact")
    assert download["with"]["pattern"].rstrip("*") in upload["with"]["name"]  # it fetches every shard's part
    merge = [c for c in builds if "--merge" in c]
    assert merge == [["build", "--merge", "shards/site-*"]] and download["with"]["path"] == "shards"


def test_warehouse_comes_from_durable_storage(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        assert job["env"]["REMOTE_WAREHOUSE"] == "${{ vars.PERFCORE_WAREHOUSE }}"
    restore = [s for s in steps(workflow) if s.get("name", "").startswith("Restore the warehouse")]
    assert restore and "$REMOTE_WAREHOUSE" in restore[0]["run"]
    assert not uses(workflow, "actions/cache")  # evicted after a week unused: never durable for a monthly run


def test_bounded_and_one_at_a_time(workflow: dict[str, Any]) -> None:
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["defaults"]["run"]["shell"] == "bash"  # explicit bash: -eo pipefail
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert 0 < job["timeout-minutes"] <= 120
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "StrictHostKeyChecking no" not in text  # the server's host key is pinned from a secret
