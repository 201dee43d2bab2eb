"""Loaders for thresholds.yaml, peer_groups.yaml and initiatives.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfcore.config.thresholds import AnalyticsSettings, load_settings
from perfcore.config.initiatives import load_initiatives
from perfcore.config.peer_groups import load_peer_groups
from perfcore.exceptions import ConfigError
from perfcore.config.parameters import load_consortium, load_framework

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "parameters"


def _folder(tmp_path: Path, **files: str) -> Path:
    """A parameters folder with the project's consortium.yaml and the given files."""
    shutil.copy(PARAMETERS / "consortium.yaml", tmp_path / "consortium.yaml")
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_shipped_thresholds_load_and_match_the_mdc_constants():
    settings = load_settings(PARAMETERS)
    assert settings.spc.limit_multiplier == pytest.approx(2.66)
    assert settings.spc.sigma_divisor == pytest.approx(1.128)
    # 2.66 x mean MR is 3 sigma when sigma = mean MR / 1.128: the two constants must agree.
    assert settings.spc.limit_multiplier * settings.spc.sigma_divisor == pytest.approx(3.0, abs=0.01)
    assert settings.funnel.levels == (0.95, 0.998)
    assert settings.funnel.kind("new_claims_days") == "average"
    assert settings.funnel.kind("accuracy_pct") == "proportion"
    assert settings.alerts.severity_of("red") == "high"
    framework = load_framework(PARAMETERS / "framework.yaml")
    named = [*settings.interdependence.indicators, *settings.funnel.proportions, *dict(settings.funnel.averages)]
    assert set(named) <= set(framework.ids)


def test_a_missing_field_takes_the_default_and_an_unknown_one_is_an_error(tmp_path):
    folder = _folder(tmp_path, thresholds="spc:\n  baseline_points: 15\n")
    settings = load_settings(folder)
    assert settings.spc.baseline_points == 15
    assert settings.forecast == AnalyticsSettings().forecast

    _folder(tmp_path, thresholds="spc:\n  baseline_pts: 15\n")
    with pytest.raises(ConfigError, match=r"thresholds\.yaml: spc\.baseline_pts: unknown field"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("spc:\n  baseline_points: twelve\n", r"spc\.baseline_points: must be a whole number"),
        ("spc:\n  baseline_points: 1\n", r"spc\.baseline_points: must be at least 2"),
        ("funnel:\n  overdispersion: lots\n", r"funnel\.overdispersion: must be none"),
        ("funnel:\n  averages:\n    new_claims_days: -1\n", r"funnel\.averages: coefficients"),
        ("alerts:\n  severity:\n    red: urgent\n", r"alerts\.severity: levels must be"),
        ("impact:\n  errors: robust\n", r"impact\.errors: must be ar1 or hac"),
        ("leading:\n  pairs:\n    - leader: a\n", r"leading\.pairs\[1\]: needs exactly leader and follower"),
        ("speed:\n  x: 1\n", r"unknown section"),
    ],
)
def test_bad_thresholds_name_the_file_and_field(tmp_path, text, field):
    with pytest.raises(ConfigError, match=field) as caught:
        load_settings(_folder(tmp_path, thresholds=text))
    assert "thresholds.yaml" in str(caught.value)


def test_shipped_peer_groups_cover_the_consortium():
    groups = load_peer_groups(PARAMETERS)
    codes = load_consortium(PARAMETERS).codes
    assert groups.group("consortium").codes(codes) == codes
    large, small = set(groups.group("large").codes(codes)), set(groups.group("small").codes(codes))
    assert large and small and not large & small
    assert large | small == set(codes)
    assert [g.id for g in groups.groups_of("S12000011")] == ["consortium", "small"]


def test_all_members_grows_with_the_consortium():
    groups = load_peer_groups(PARAMETERS)
    twenty_seven = tuple(f"S129{n:05d}" for n in range(27))
    assert len(groups.group("consortium").codes(twenty_seven)) == 27


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("groups:\n  big:\n    members: [X12]\n", r"groups\.big\.members: \['X12'\] are not 9-character GSS codes"),
        ("groups:\n  big:\n    members: [S12000999]\n", r"not members in consortium\.yaml"),
        ("groups:\n  big:\n    members: [S12000042, S12000042]\n", r"listed twice"),
        ("groups:\n  big:\n    name: Big\n", r"groups\.big: needs name and members"),
        ("groups: []\n", r"groups: expected a mapping"),
    ],
)
def test_bad_peer_groups_are_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_peer_groups(_folder(tmp_path, peer_groups=text))


INITIATIVES = """\
initiatives:
  - id: er-auto
    council: S12000011
    start: "2025-11"
    indicators: [changes_days]
    title: Automated changes
    description: Routine changes processed without re-keying.
"""


def test_initiatives_are_read_in_the_shared_shape(tmp_path):
    (initiative,) = load_initiatives(_folder(tmp_path, initiatives=INITIATIVES))
    assert (initiative.id, initiative.council, initiative.start, initiative.indicators) == ("er-auto", "S12000011", "2025-11", ("changes_days",))
    assert initiative.description.startswith("Routine")


def test_no_initiatives_file_means_no_initiatives(tmp_path):
    assert load_initiatives(_folder(tmp_path)) == ()


def test_the_project_initiatives_file_loads_against_the_framework():
    framework = load_framework(PARAMETERS / "framework.yaml")
    initiatives = load_initiatives(PARAMETERS, framework)
    assert all(set(i.indicators) <= set(framework.ids) for i in initiatives)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"2025-11"', "2025-13"), r"initiative er-auto\.start: '2025-13' is not a month"),
        (("S12000011", "S12000999"), r"initiative er-auto\.council: \['S12000999'\] are not members"),
        (("[changes_days]", "[]"), r"initiative er-auto\.indicators: must be a non-empty list"),
        (("[changes_days]", "[change_days]"), r"initiative er-auto\.indicators: unknown \['change_days'\]"),
        (("    title: Automated changes\n", ""), r"initiative 1: missing title"),
    ],
)
def test_bad_initiatives_are_refused(tmp_path, change, message):
    framework = load_framework(PARAMETERS / "framework.yaml")
    text = INITIATIVES.replace(*change)
    with pytest.raises(ConfigError, match=message):
        load_initiatives(_folder(tmp_path, initiatives=text), framework)
