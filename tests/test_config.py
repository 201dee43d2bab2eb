"""The configuration layer: every YAML file perfcore reads, through one reader.

The shipped files load; a broken copy of each (a key missing, a wrong type, an
unknown key, a bad value) gives one ConfigError naming the file and the key
as a dotted path, with what is allowed.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from perfcore.config import reader
from perfcore.config.initiatives import load_initiatives
from perfcore.config.parameters import CONSORTIUM_FILE, GSS_PATTERN, is_gss_code, load_consortium, load_framework
from perfcore.config.peer_groups import PEER_GROUPS, load_peer_groups
from perfcore.config.site import QUARTO, load_site_config
from perfcore.config.thresholds import THRESHOLDS, load_settings
from perfcore.exceptions import ConfigError, PerfcoreError

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "parameters"
FILES = ("consortium.yaml", "framework.yaml", "thresholds.yaml", "peer_groups.yaml", "initiatives.yaml")


def _load(folder: Path, name: str) -> Any:
    """Load one file from a folder the way perfcore does."""
    if name == "_quarto.yml":
        return load_site_config(folder)
    if name == "framework.yaml":
        return load_framework(folder / name)
    if name == "initiatives.yaml":
        return load_initiatives(folder, load_framework(PARAMETERS / "framework.yaml"))
    loader = {
        "consortium.yaml": load_consortium,
        "thresholds.yaml": load_settings,
        "peer_groups.yaml": load_peer_groups,
    }[name]
    return loader(folder)


def _copy(tmp_path: Path) -> Path:
    """A project folder holding copies of the shipped parameters and _quarto.yml."""
    for name in FILES:
        shutil.copy(PARAMETERS / name, tmp_path / name)
    shutil.copy(ROOT / "_quarto.yml", tmp_path / "_quarto.yml")
    return tmp_path


def _step(data: Any, part: str) -> tuple[Any, str | int]:
    """The container holding ``part`` ('members[2]' → data['members'][1]) and the last step's key."""
    name, _, index = part.partition("[")
    if index:
        return data[name], int(index.rstrip("]")) - 1
    return data, name


def _edit(path: Path, dotted: str, value: Any) -> None:
    """Set (or, with ``...``, delete) the key at a dotted path in a YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        container, key = _step(node, part)
        node = container[key]
    container, key = _step(node, parts[-1])
    if value is ...:
        del container[key]
    else:
        container[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------- the shipped files


@pytest.mark.parametrize("name", [*FILES, "_quarto.yml"])
def test_the_shipped_files_load(name):
    folder = ROOT if name == "_quarto.yml" else PARAMETERS
    assert _load(folder, name)


def test_shipped_thresholds_load_and_match_the_mdc_constants():
    settings = load_settings(PARAMETERS)
    assert settings.spc.limit_multiplier == pytest.approx(2.66)
    assert settings.spc.sigma_divisor == pytest.approx(1.128)
    # 2.66 x mean MR is 3 sigma when sigma = mean MR / 1.128: the two constants must agree.
    assert settings.spc.limit_multiplier * settings.spc.sigma_divisor == pytest.approx(3.0, abs=0.01)
    assert settings.funnel.levels == (0.95, 0.998)
    assert settings.funnel.overdispersion == "additive"
    assert settings.funnel.kind("new_claims_days") == "average"
    assert settings.funnel.kind("accuracy_pct") == "proportion"
    assert settings.alerts.severity_of("red") == "high"
    framework = load_framework(PARAMETERS / "framework.yaml")
    named = [
        *settings.interdependence.indicators,
        *settings.funnel.proportions,
        *dict(settings.funnel.averages),
        *(p.leader for p in settings.leading.pairs),
        *(p.follower for p in settings.leading.pairs),
        *dict(settings.interdependence.phrases),
    ]
    assert set(named) <= set(framework.ids)


def test_the_project_initiatives_file_loads_against_the_framework():
    framework = load_framework(PARAMETERS / "framework.yaml")
    initiatives = load_initiatives(PARAMETERS, framework)
    assert initiatives and all(set(i.indicators) <= set(framework.ids) for i in initiatives)


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


def test_the_site_config_takes_quartos_defaults_for_what_it_leaves_out(tmp_path):
    (tmp_path / "_quarto.yml").write_text(
        "website: {title: T, navbar: null, page-footer: {left: A, right: B}}\nformat: {typst: {margin: {x: 1cm}}}\n"
    )
    config = load_site_config(tmp_path)
    assert (config.title, config.footer, config.output_dir, config.navbar) == (
        "T",
        "A B",
        tmp_path / "reports" / "site",
        (),
    )
    assert (config.typst.margin_x, config.typst.margin_y, config.typst.pdf_standards) == (
        "1cm",
        "2.4cm",
        ("a-2a", "ua-1"),
    )


def test_no_initiatives_file_means_no_initiatives(tmp_path):
    shutil.copy(PARAMETERS / "consortium.yaml", tmp_path / "consortium.yaml")
    assert load_initiatives(tmp_path) == ()


def test_every_key_says_what_it_is_for():
    from perfcore.config.initiatives import INITIATIVES
    from perfcore.config.parameters import _framework_table

    for table in (CONSORTIUM_FILE, _framework_table(), THRESHOLDS, PEER_GROUPS, INITIATIVES, QUARTO):
        rows = reader.help_lines(table)
        assert rows and all(help_text and allowed for _, allowed, _, help_text in rows), table


# --------------------------------------------------------------------------- broken copies

BROKEN = [
    # consortium.yaml
    (
        "consortium.yaml",
        "complete_after_days",
        ...,
        "complete_after_days",
        "missing; allowed: a whole number, at least 0",
    ),
    ("consortium.yaml", "complete_after_days", -1, "complete_after_days", "-1 is too small"),
    ("consortium.yaml", "complete_after_days", True, "complete_after_days", "True is not a whole number"),
    (
        "consortium.yaml",
        "members[2].approx_caseload",
        "many",
        "members[2].approx_caseload",
        "'many' is not a whole number",
    ),
    ("consortium.yaml", "members[2].phone", "01382", "members[2].phone", "unknown key; allowed: code, name"),
    (
        "consortium.yaml",
        "members[1].code",
        "X12",
        "members[1].code",
        "'X12' is not allowed; allowed: a 9-character GSS code",
    ),
    ("consortium.yaml", "members[3].code", "S12000042", "members[3].code", "'S12000042' is listed twice"),
    ("consortium.yaml", "members", [], "members", "has 0 items; allowed: a non-empty list"),
    # framework.yaml
    ("framework.yaml", "version", ..., "version", "missing"),
    ("framework.yaml", "indicators[1].better", "sideways", "indicators[1].better", "allowed: null, lower or higher"),
    (
        "framework.yaml",
        "indicators[2].numerator",
        ["claims_dayz"],
        "indicators[2].numerator[1]",
        "'claims_dayz' is not allowed",
    ),
    ("framework.yaml", "indicators[2].window", "year", "indicators[2].window", "allowed: month or fytd"),
    ("framework.yaml", "indicators[2].colour", "red", "indicators[2].colour", "unknown key"),
    (
        "framework.yaml",
        "indicators[1].thresholds",
        {"green": 1, "amber": 2},
        "indicators[1].thresholds",
        "thresholds need a direction",
    ),
    (
        "framework.yaml",
        "indicators[2].thresholds",
        {"green": 25, "amber": 20},
        "indicators[2].thresholds",
        "point the wrong way",
    ),
    (
        "framework.yaml",
        "indicators[2].thresholds.green",
        "twenty",
        "indicators[2].thresholds.green",
        "'twenty' is not a number",
    ),
    ("framework.yaml", "indicators[3].id", "new_claims_days", "indicators[3].id", "is listed twice"),
    # thresholds.yaml
    ("thresholds.yaml", "forecast.seed", ..., "forecast.seed", "missing; allowed: a whole number, at least 0"),
    (
        "thresholds.yaml",
        "spc.baseline_pts",
        15,
        "spc.baseline_pts",
        "unknown key; allowed: baseline_points, min_points",
    ),
    ("thresholds.yaml", "spc.baseline_points", "twelve", "spc.baseline_points", "'twelve' is not a whole number"),
    (
        "thresholds.yaml",
        "spc.baseline_points",
        1,
        "spc.baseline_points",
        "1 is too small; allowed: a whole number, at least 2",
    ),
    (
        "thresholds.yaml",
        "funnel.overdispersion",
        "lots",
        "funnel.overdispersion",
        "allowed: none, multiplicative or additive",
    ),
    ("thresholds.yaml", "funnel.averages.new_claims_days", -1, "funnel.averages.new_claims_days", "-1 is too small"),
    ("thresholds.yaml", "alerts.severity.red", "urgent", "alerts.severity.red", "allowed: high, medium or low"),
    ("thresholds.yaml", "alerts.severity.leading_signal", ..., "alerts.severity.leading_signal", "missing"),
    ("thresholds.yaml", "alerts.severity.reds", "high", "alerts.severity.reds", "'reds' is not allowed"),
    ("thresholds.yaml", "impact.errors", "robust", "impact.errors", "allowed: ar1 or hac"),
    ("thresholds.yaml", "leading.pairs[1].follower", ..., "leading.pairs[1].follower", "missing"),
    ("thresholds.yaml", "forecast.window", 4, "forecast.window", "4 is shorter than min_points (6)"),
    ("thresholds.yaml", "spotlight.min_months", 13, "spotlight.min_months", "13 is more than window (12)"),
    ("thresholds.yaml", "speed", {"x": 1}, "speed", "unknown key; allowed: version, spc, forecast"),
    ("thresholds.yaml", "spc", None, "spc", "None is not a mapping"),
    # peer_groups.yaml
    ("peer_groups.yaml", "groups.large.members", ["X12"], "groups.large.members[1]", "'X12' is not allowed"),
    (
        "peer_groups.yaml",
        "groups.large.members",
        ["S12000999"],
        "groups.large.members",
        "['S12000999'] are not members in consortium.yaml",
    ),
    ("peer_groups.yaml", "groups.large.members", ["S12000042", "S12000042"], "groups.large.members[2]", "listed twice"),
    (
        "peer_groups.yaml",
        "groups.large.members",
        ...,
        "groups.large.members",
        "missing; allowed: all or a non-empty list",
    ),
    ("peer_groups.yaml", "groups", [], "groups", "[] is not a mapping"),
    ("peer_groups.yaml", "groups.large.size", "big", "groups.large.size", "unknown key"),
    # initiatives.yaml
    ("initiatives.yaml", "initiatives[1].start", "2025-13", "initiatives[1].start", "'2025-13' is not a month"),
    (
        "initiatives.yaml",
        "initiatives[1].council",
        "S12000999",
        "initiatives[1].council",
        "['S12000999'] are not members",
    ),
    (
        "initiatives.yaml",
        "initiatives[1].indicators",
        [],
        "initiatives[1].indicators",
        "has 0 items; allowed: a non-empty list",
    ),
    (
        "initiatives.yaml",
        "initiatives[1].indicators",
        ["change_days"],
        "initiatives[1].indicators",
        "unknown ['change_days']",
    ),
    ("initiatives.yaml", "initiatives[1].title", ..., "initiatives[1].title", "missing"),
    ("initiatives.yaml", "initiatives[1].owner", "me", "initiatives[1].owner", "unknown key"),
    # _quarto.yml (keys perfcore does not read are Quarto's business and left alone)
    ("_quarto.yml", "project.type", "book", "project.type", "'book' is not allowed; allowed: website"),
    (
        "_quarto.yml",
        "website.navbar.left[1].href",
        "/etc/passwd",
        "website.navbar.left[1].href",
        "must be a path inside the site",
    ),
    ("_quarto.yml", "format.typst.pdf-standard", ["a-9z"], "format.typst.pdf-standard[1]", "'a-9z' is not allowed"),
    ("_quarto.yml", "format.html.toc-depth", "two", "format.html.toc-depth", "'two' is not a whole number"),
    ("_quarto.yml", "website.search", "yes", "website.search", "allowed: true or false"),
]


@pytest.mark.parametrize(("name", "dotted", "value", "key", "message"), BROKEN, ids=[f"{b[0]}:{b[1]}" for b in BROKEN])
def test_a_broken_copy_names_the_file_and_the_key(tmp_path, name, dotted, value, key, message):
    folder = _copy(tmp_path)
    _edit(folder / name, dotted, value)
    with pytest.raises(ConfigError) as caught:
        _load(folder, name)
    error = caught.value
    assert isinstance(error, PerfcoreError)
    assert (Path(error.file).name, error.key) == (name, key)
    assert str(error).startswith(f"{folder / name}: {key}: ")
    assert message in str(error)


def test_unknown_quarto_keys_are_left_to_quarto(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder / "_quarto.yml", "format.html.theme", "cosmo")
    _edit(folder / "_quarto.yml", "execute", {"freeze": "auto"})
    assert load_site_config(folder) == replace(load_site_config(ROOT), output_dir=folder / "reports" / "site")


@pytest.mark.parametrize("name", [*FILES[:4], "_quarto.yml"])
def test_a_missing_or_unreadable_file_names_the_file(tmp_path, name):
    folder = _copy(tmp_path)
    (folder / name).write_text("[unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{name}: not valid YAML"):
        _load(folder, name)
    (folder / name).unlink()
    with pytest.raises(ConfigError, match=f"{name}: file not found"):
        _load(folder, name)


def test_tests_can_vary_the_real_settings():
    shipped = load_settings(PARAMETERS)
    varied = replace(shipped, funnel=replace(shipped.funnel, months=1))
    assert varied.funnel.months == 1 and varied.funnel.levels == shipped.funnel.levels


# --------------------------------------------------------------------------- one home for the GSS pattern


def test_the_gss_pattern_agrees_with_the_hbpe_schema():
    from lxml import etree

    xsd = resources.files("perfcore.intake").joinpath("schema/hbpe-1.0.xsd").read_bytes()
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    (pattern,) = etree.fromstring(xsd).xpath("//xs:simpleType[@name='Gss']//xs:pattern/@value", namespaces=ns)
    assert pattern == GSS_PATTERN


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("S12000042", True),
        ("E06000001", True),
        ("W06000015", True),
        ("E10000001", False),
        ("S1200004", False),
        ("S120000420", False),
        ("S12000042\n", False),
        ("S12٠٠٠٠٤٢", False),
        (12000042, False),
    ],
)
def test_gss_codes(code, valid):
    assert is_gss_code(code) is valid
