"""A fresh machine installs what the code needs, at the versions it was tested with.

Every third-party module the package, notebooks, tests and benchmarks import
(or run with ``python -m``) is declared in pyproject.toml, in the part that
installs it for them; every declared distribution is pinned in
requirements.lock; and every install command the README, scripts/test and the
workflows run uses that lock, except the weekly job that tries the newest
versions on purpose.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
WORKFLOWS = ROOT / ".github" / "workflows"
OWN_MODULES = {"perfcore"}
# which extras each folder's code may rely on, beyond the package's own dependencies
EXTRAS_FOR = {"src": (), "notebooks": (), "tests": ("test",), "bench": ("bench",)}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0])


@cache
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared(extras: tuple[str, ...]) -> set[str]:
    requirements = [
        *project()["dependencies"],
        *(r for e in extras for r in project()["optional-dependencies"].get(e, [])),
    ]
    return {requirement_name(r) for r in requirements}


# -- what the code imports --------------------------------------------------------------------------------


def python_sources(folder: str) -> list[tuple[Path, str]]:
    if folder == "notebooks":
        sources = []
        for notebook in sorted((ROOT / folder).glob("*.ipynb")):
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            # IPython magics and shell escapes are not Python
            sources.append(
                (notebook, "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
            )
        return sources
    return [(path, path.read_text(encoding="utf-8")) for path in sorted((ROOT / folder).rglob("*.py"))]


def imported_modules(source: str) -> set[str]:
    """Top-level modules imported anywhere (inside functions too), and those run with ``python -m``."""
    tree = ast.parse(source)
    runners = {"import_module", *module_runners(tree)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in runners:
            found.update(
                a.value.split(".")[0] for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
        elif isinstance(node, (ast.List, ast.Tuple)):
            found.update(
                b.value.split(".")[0] for a, b in zip(node.elts, node.elts[1:]) if _is_string(a, "-m") and _is_string(b)
            )
    return found


def module_runners(tree: ast.AST) -> set[str]:
    """Functions that run their first parameter as ``python -m PARAMETER`` (bench_build's ``cli``)."""
    runners = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and function.args.args:
            first = function.args.args[0].arg
            for node in ast.walk(function):
                if isinstance(node, (ast.List, ast.Tuple)) and any(
                    _is_string(a, "-m") and isinstance(b, ast.Name) and b.id == first
                    for a, b in zip(node.elts, node.elts[1:])
                ):
                    runners.add(function.name)
    return runners


def _is_string(node: ast.AST, value: str | None = None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and value in (None, node.value)


def local_modules(folder: str) -> set[str]:
    """Helper modules that live beside the code (tests/builders.py, conftest)."""
    return {p.stem for p in (ROOT / folder).glob("*.py")}


def third_party(module: str, folder: str) -> bool:
    return module not in sys.stdlib_module_names and module not in OWN_MODULES and module not in local_modules(folder)


@pytest.mark.parametrize("folder", sorted(EXTRAS_FOR))
def test_every_import_is_declared(folder: str) -> None:
    distributions = packages_distributions()
    allowed = declared(EXTRAS_FOR[folder])
    missing = []
    for path, source in python_sources(folder):
        for module in sorted(m for m in imported_modules(source) if third_party(m, folder)):
            # not installed here (a bench extra in the test environment): the module names its distribution
            names = {normalise(d) for d in distributions.get(module, [module])}
            if not names & allowed:
                missing.append(f"{path.relative_to(ROOT)}: {module} (from {sorted(names)})")
    assert not missing, f"imported but not declared in pyproject.toml for {folder}/: {missing}"


def test_the_import_scanner_sees_every_form() -> None:
    source = (
        "import a.b\nfrom c.d import e\ndef f():\n    import g\nrun([sys.executable, '-m', 'i'])\nfrom . import j\n"
        "def cli(name):\n    return [sys.executable, '-m', name]\ncli('h')\n"
        "def other(path):\n    return [sys.executable, '-m', 'perfcore.cli', path]\nother('/dev/zero')\n"
    )
    assert imported_modules(source) == {"a", "c", "g", "h", "i", "perfcore"}


# -- the lock ---------------------------------------------------------------------------------------------


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].split(";")[0].strip()
        if requirement:
            name, separator, version = requirement.partition("==")
            assert separator and version.strip(), f"requirements.lock: {line!r} is not pinned with =="
            pins[normalise(name)] = version.strip()
    return pins


def test_every_declared_distribution_is_pinned() -> None:
    pins = locked()
    every_extra = tuple(project()["optional-dependencies"])
    assert not declared(every_extra) - set(pins), "run scripts/lock after changing pyproject.toml's dependencies"


def test_the_lock_is_made_by_the_documented_command() -> None:
    script = (ROOT / "scripts" / "lock").read_text(encoding="utf-8")
    assert "uv pip compile pyproject.toml --all-extras" in script and "requirements.lock" in script
    header = LOCK.read_text(encoding="utf-8").splitlines()[:2]  # the tool's own header: not edited by hand
    assert "autogenerated by uv" in header[0] and header[1].strip("# ") == "scripts/lock"
    assert "scripts/lock" in (ROOT / "README.md").read_text(encoding="utf-8")


# -- who uses it ------------------------------------------------------------------------------------------


def install_commands(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if re.search(r"\bpip install\b", line) and not line.lstrip().startswith("#")
    ]


def readme_commands() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## The two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("where", ["README", "scripts/test", "monthly-site.yml"])
def test_every_install_uses_the_lock(where: str) -> None:
    text = {
        "README": readme_commands(),
        "scripts/test": (ROOT / "scripts" / "test").read_text(encoding="utf-8"),
        "monthly-site.yml": (WORKFLOWS / "monthly-site.yml").read_text(encoding="utf-8"),
    }[where]
    commands = install_commands(text)
    assert commands, f"{where}: no pip install"
    unlocked = [c for c in commands if "-c requirements.lock" not in c]
    if where == "scripts/test":  # its --newest branch, for the weekly job, takes the newest releases
        assert len(unlocked) == 1 and "--upgrade" in unlocked[0]
        assert 'if [ "${1:-}" = --newest ]' in text
    else:
        assert not unlocked, f"{where}: {unlocked} installs without the lock"


def test_readme_first_command_makes_its_own_virtual_environment() -> None:
    """Debian and Ubuntu refuse pip installs into the system Python (PEP 668)."""
    first = readme_commands().strip().splitlines()[0].split("#")[0]
    assert first.startswith("python3 -m venv .venv && ")
    assert ".venv/bin/pip install" in first and ".venv/bin/perfcore demo" in first
    assert "python3 -m pip install" not in first and "sudo" not in first
    test_script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "python3 -m venv" in test_script and ".venv/bin/python -m pytest" in test_script
    assert "/.venv/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_ci_runs_the_readme_test_command() -> None:
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test" in readme_commands()


def test_ci_checks_lint_and_format_before_the_tests() -> None:
    assert "bash scripts/test --lint" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    tests_start = script.index("exec .venv/bin/python -m pytest")
    assert -1 < script.find("ruff check .") < tests_start and -1 < script.find("ruff format --check .") < tests_start
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["line-length"] == 120 and {"E", "F", "W", "I"} <= set(ruff["lint"]["select"])


def test_a_weekly_job_tests_the_newest_versions() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "newest-versions.yml").read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the bare key `on` as True
    (cron,) = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert day == "*" and month == "*" and weekday.isdigit(), f"{cron}: not once a week"
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    assert any(run.startswith("bash scripts/test --newest") for run in runs)
    assert not any("requirements.lock" in run for run in runs)
    (job,) = workflow["jobs"].values()
    assert job["container"].startswith("python:3.11-")  # Debian, as root: scripts/test's apt part runs
