"""The demo site behind `perfcore serve`: every role against every partition, no leak, a real browser.

Slow: it needs the whole demo site (conftest's ``demo_site``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from perfcore.access import policy
from perfcore.access import users as users_file
from perfcore.config.parameters import load_consortium
from test_browser import chromium
from test_serve import PASSWORD, Server, get

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CONSORTIUM = load_consortium(ROOT / "parameters")
TEXT_KINDS = (".html", ".json", ".csv", ".svg", ".txt", ".xml")


def demo_users() -> tuple[users_file.User, ...]:
    councils = tuple(users_file.User(f"{c.slug}.officer", "council", (c.code,)) for c in CONSORTIUM.members)
    return (*councils, users_file.User("analyst", "consortium"), users_file.User("dwp.reader", "dwp"))


@pytest.fixture(scope="module")
def served(demo_site):
    summary, built, _ = demo_site
    base = Path(tempfile.mkdtemp(prefix="perfcore-demo-serve-"))
    os.chmod(base, 0o755)
    site = base / "site"
    shutil.copytree(built, site, ignore=shutil.ignore_patterns(".staging"))
    for folder, _dirs, files in os.walk(base):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    workdir = base / "run"
    workdir.mkdir(mode=0o755)
    server = Server(site, workdir, users=demo_users())
    yield server, site, summary.period
    server.stop()
    shutil.rmtree(base)


def grants() -> dict[str, policy.Grant]:
    return {u.name: policy.grant_for(u, CONSORTIUM) for u in demo_users()}


def sample(site: Path) -> list[str]:
    """Up to three files of every kind in every partition (councils counted one by one)."""
    by_kind: dict[tuple[str, str], list[str]] = {}
    for path in sorted(site.rglob("*")):
        if not path.is_file() or ".staging" in path.parts:
            continue
        relative = path.relative_to(site)
        partition = "/".join(relative.parts[:2]) if relative.parts[0] == "councils" else relative.parts[0]
        by_kind.setdefault((partition, path.suffix), []).append("/" + relative.as_posix())
    return [p for paths in by_kind.values() for p in paths[:3]]


def test_every_role_against_every_partition(served):
    server, site, _ = served
    paths = sample(site)
    kinds = {Path(p).suffix for p in paths}
    assert {".html", ".pdf", ".json", ".svg", ".csv"} <= kinds, kinds
    assert any(p.startswith("/analysts/") for p in paths) and any(p.startswith("/dwp/") for p in paths)
    wrong = []
    for name, grant in grants().items():
        for path in paths:
            status = get(server.port, quote(path), name)[0]
            want = 200 if grant.allows(path) else 403
            if status != want:
                wrong.append((name, path, status, want))
    for path in paths[::7]:
        if get(server.port, quote(path))[0] != 401:
            wrong.append((None, path))
    assert not wrong, wrong[:20]
    log = [json.loads(line) for line in server.access_log.read_text().splitlines()]
    denied = [e for e in log if e["status"] == 403]
    assert denied and all(e["user"] for e in denied)  # every refusal is logged with who asked


def private_markers(demo_warehouse: Path) -> dict[str, set[str]]:
    """What only one council's readers may see: its submitted file names and its rejected records' refs."""
    import duckdb

    con = duckdb.connect(str(demo_warehouse), read_only=True)
    files = con.execute("select authority, file_name from submissions where authority is not null").fetchall()
    refs = con.execute(
        "select s.authority, r.ref from rejections r join submissions s on s.id = r.submission_id "
        "where r.level = 'record' and r.ref is not null and s.authority is not null"
    ).fetchall()
    con.close()
    owners: dict[str, set[str]] = {}
    for authority, ref in refs:
        owners.setdefault(ref, set()).add(authority)
    markers: dict[str, set[str]] = {c.code: set() for c in CONSORTIUM.members}
    for authority, name in files:
        markers[authority].add(name)
    for ref, who in owners.items():
        if len(who) == 1 and len(ref) >= 6:
            markers[next(iter(who))].add(ref)
    return markers


def readable_text(path: Path) -> str:
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    if path.suffix in TEXT_KINDS:
        return path.read_text(encoding="utf-8", errors="replace")
    return ""


def test_a_council_reader_reaches_no_other_councils_private_detail(served, demo_warehouse):
    _, site, _ = served
    markers = private_markers(demo_warehouse)
    assert sum(len(m) for m in markers.values()) > 20  # the demo plants rejected records in every council
    texts = {"/" + p.relative_to(site).as_posix(): readable_text(p) for p in site.rglob("*") if p.is_file()}
    leaks = []
    for council in CONSORTIUM.members:
        grant = policy.grant_for(users_file.User("x", "council", (council.code,)), CONSORTIUM)
        others = set().union(*(m for code, m in markers.items() if code != council.code))
        for path, text in texts.items():
            if grant.allows(path):
                leaks += [(council.slug, path, m) for m in others if m in text]
    assert not leaks, leaks[:10]
    # and the markers do show where they belong, so the check can fail
    dundee = next(c for c in CONSORTIUM.members if c.slug == "dundee-city")
    own = [t for p, t in texts.items() if p.startswith("/councils/dundee-city/")]
    assert any(m in t for m in markers[dundee.code] for t in own)


def browser(url: str) -> BeautifulSoup:
    result = chromium("--virtual-time-budget=15000", "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    return BeautifulSoup(result.stdout, "html.parser")


def visible_links(dom: BeautifulSoup) -> list[str]:
    return [
        a["href"]
        for a in dom.find_all("a", href=True)
        if not a.find_parent(attrs={"hidden": True}) and not a.has_attr("hidden")
    ]


def test_a_council_officer_signs_in_lands_home_and_searches_only_what_they_may(served):
    server, site, period = served
    login = f"http://dundee-city.officer:{quote(PASSWORD)}@127.0.0.1:{server.port}"
    home = browser(login + "/")
    assert "Dundee City" in home.get_text(" ") and home.html.get("data-perfcore-user") == "dundee-city.officer"
    page = browser(f"{login}/councils/dundee-city/{period}/report.html?q=work+on+hand")
    results = page.find(id="search-results")
    assert results is not None and not results.has_attr("hidden")
    found = [a["href"] for a in results.find_all("a", href=True)]
    assert found and all("dundee-city/" in h or "consortium/" in h for h in found), found
    text = page.get_text(" ")
    for other in CONSORTIUM.members:
        if other.slug != "dundee-city":
            assert f"councils/{other.slug}/" not in " ".join(visible_links(page))
    assert "Midlothian" not in results.get_text(" ")
    _ = text


def test_dwp_signs_in_and_sees_only_the_dwp_folder(served):
    server, _, _ = served
    dom = browser(f"http://dwp.reader:{quote(PASSWORD)}@127.0.0.1:{server.port}/")
    assert dom.html.get("data-perfcore-user") == "dwp.reader"
    links = visible_links(dom)
    assert links and all(
        not h.startswith(("../councils", "../consortium", "/councils", "/consortium", "councils", "consortium"))
        for h in links
        if not h.startswith("#")
    ), links
