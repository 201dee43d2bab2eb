"""The README and the code must not drift apart."""

from __future__ import annotations

from pathlib import Path

from perfcore import settings
from perfcore.cli import COMMANDS
from perfcore.config.parameters import load_consortium, load_framework

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting():
    for setting in settings.SETTINGS:
        assert f"`--{setting.name}`" in README, setting.name
        assert f"`{setting.env}`" in README, setting.env


def test_readme_documents_every_command():
    for name, *_ in COMMANDS:
        assert f"perfcore {name}" in README, name


def test_framework_encodes_the_spec_table():
    """Every indicator id and threshold in indicators.md is in framework.yaml, and no more."""
    spec = (ROOT.parent / "shared" / "spec" / "indicators.md").read_text(encoding="utf-8")
    framework = load_framework(ROOT / "parameters" / "framework.yaml")
    indicator_rows = [line for line in spec.split("## Thresholds")[0].splitlines() if line.startswith("| `")]
    spec_ids = [line.split("`")[1] for line in indicator_rows]
    assert list(framework.ids) == spec_ids
    for line in spec.split("## Thresholds")[1].splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            indicator = framework.indicator(cells[0].strip("`"))
            green = float(cells[1].lstrip("≤≥ "))
            amber = float(cells[2].lstrip("≤≥ "))
            assert (indicator.thresholds.green, indicator.thresholds.amber) == (green, amber), cells[0]
            assert indicator.better == ("lower" if cells[1].startswith("≤") else "higher")


def test_consortium_is_the_ten_members_with_their_gss_codes():
    expected = {
        "Dundee City": "S12000042",
        "East Ayrshire": "S12000008",
        "East Renfrewshire": "S12000011",
        "East Lothian": "S12000010",
        "Renfrewshire": "S12000038",
        "North Ayrshire": "S12000021",
        "North Lanarkshire": "S12000050",
        "Midlothian": "S12000019",
        "West Lothian": "S12000040",
        "Scottish Borders": "S12000026",
    }
    consortium = load_consortium(ROOT / "parameters")
    assert {c.name: c.code for c in consortium.members} == expected
    assert all(c.supplier and c.system for c in consortium.members)


def test_architecture_maps_every_module():
    """Every module of the package is named in ARCHITECTURE.md (as `layer.module`, or `module` at the top)."""
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "perfcore"
    missing = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__"):
            continue
        dotted = ".".join(parts)
        named = f"`{dotted}`" in architecture or (  # a top-level module, or demo/'s parts listed by name
            (len(parts) == 1 or parts[0] == "demo") and f"`{parts[-1]}`" in architecture
        )
        if not named:
            missing.append(dotted)
    assert not missing, f"ARCHITECTURE.md does not map: {missing}"
