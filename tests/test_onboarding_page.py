"""The analysts' page "Onboarding and feeds" (issue 10, item 6): the real notebook run in an IPython shell on a
small warehouse, rendered with real pandoc; its place in the build (audience, users file, fingerprint)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import Harness, claim, extract_xml, manual_csv
from test_pages_hostile import execute_in_shell, render, shell  # noqa: F401 (shell is a fixture)
from test_reporting_commentary import commentary_csv

ROOT = Path(__file__).resolve().parents[1]
DUNDEE, MIDLOTHIAN = "S12000042", "S12000019"
HOSTILE_OWNER = "<script>alert(1)</script> *Head* [x](javascript:alert(1))"


def write_users(path: Path, *councils: tuple[str, str]) -> None:
    """Single sign-on users (an e-mail, no password): ``(name, council code)``."""
    from perfcore.access import users
    from perfcore.config.parameters import load_consortium

    codes = load_consortium(ROOT / "parameters").codes
    entries = tuple(users.User(name, "council", (code,), email=f"{name}@example.gov.uk") for name, code in councils)
    users.save(users.Users(entries), path, codes)


@pytest.fixture
def warehouse(tmp_path) -> Path:
    harness = Harness(tmp_path)
    for period in ("2026-09", "2026-10"):
        extract = extract_xml(DUNDEE, period, [claim(f"D{period}", f"{period}-01", f"{period}-03")])
        assert harness.ingest(extract).outcome == "accepted"
    assert harness.ingest(manual_csv([(DUNDEE, "2026-10", "calls_offered", "10")]), suffix=".csv").outcome == "accepted"
    assert (
        harness.ingest(
            commentary_csv(
                [(MIDLOTHIAN, "2026-09", "new_claims_days", "Sick leave.", "Recruit", HOSTILE_OWNER, "2026-09-30")]
            ),
            suffix=".csv",
        ).outcome
        == "accepted"
    )
    # September's extract on time (within 15 days of the month's end), October's late
    harness.con.execute("update submissions set received_at = timestamp '2026-10-05 09:00' where period = '2026-09'")
    harness.con.execute("update submissions set received_at = timestamp '2026-11-20 09:00' where period = '2026-10'")
    harness.con.close()
    write_users(tmp_path / "users.yaml", ("dundee.one", DUNDEE), ("dundee.two", DUNDEE))
    return tmp_path / "warehouse.duckdb"


def test_the_page_is_the_analysts_and_reads_the_users_file():
    from perfcore.build.runner import REPORTS

    [page] = [r for r in REPORTS if r.name == "onboarding"]
    assert (page.notebook, page.audience, page.depends, page.users) == ("onboarding.ipynb", "analysts", "data", True)


def test_the_page_shows_steps_feeds_and_overdue_actions(shell, warehouse, tmp_path):  # noqa: F811
    from bs4 import BeautifulSoup

    params = {"period": "2026-10", "warehouse": str(warehouse), "parameters": str(ROOT / "parameters"), "users": None}
    notebook, error = execute_in_shell(shell, ROOT / "notebooks" / "onboarding.ipynb", params)
    assert error is None, error
    page = render(notebook, tmp_path / "out", audience="analysts", report="onboarding", pdf=False)
    assert page.ok, page.errors
    soup = BeautifulSoup(page.html.read_text(encoding="utf-8"), "html.parser")

    def rows(table_id: str) -> dict[str, list[str]]:
        table = soup.find(id=f"tbl-{table_id}")  # display.table(id="steps") is the table tbl-steps
        return {
            tr.find_all("td")[0].get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")[1:]]
            for tr in table.find("tbody").find_all("tr")
        }

    steps = rows("steps")
    # extract configured, first valid extract, updater, manual return, commentary, users (found beside the warehouse)
    assert steps["Dundee City"] == [
        "✔ 5 Oct 2026",
        "✔ 5 Oct 2026",
        "✔ done",
        "✔ 20 Nov 2026",
        "✖ outstanding",
        "✔ 2 user(s)",
    ]
    assert steps["Midlothian"][4] == "✔ 5 Oct 2026" and steps["Midlothian"][5] == "✖ outstanding"
    extracts = rows("feed-extract")
    assert extracts["Dundee City"][-2:] == ["✔ on time", "⚠ late"] and extracts["Dundee City"][0] == "✖ missing"
    assert len(extracts["Dundee City"]) == 6  # the last six months
    overdue = soup.find(id="tbl-actions-overdue")
    assert overdue is not None and "Midlothian" in overdue.get_text() and "⚠ Overdue" in overdue.get_text()
    assert HOSTILE_OWNER in overdue.get_text()  # as text, not markup
    main = soup.find("main")
    assert not main.find_all("script") and not [a for a in main.find_all("a") if "javascript" in (a.get("href") or "")]
    assert "No users file was found" not in page.text


def test_a_users_file_that_cannot_be_read_is_said_not_a_failed_page(shell, warehouse, tmp_path):  # noqa: F811
    (tmp_path / "users.yaml").write_text("users: [not, valid", encoding="utf-8")
    params = {"period": "2026-10", "warehouse": str(warehouse), "parameters": str(ROOT / "parameters"), "users": None}
    notebook, error = execute_in_shell(shell, ROOT / "notebooks" / "onboarding.ipynb", params)
    assert error is None, error
    page = render(notebook, tmp_path / "out", audience="analysts", report="onboarding", pdf=False)
    assert "The users file could not be read" in page.text and "Overdue actions" in page.text


def test_the_fingerprint_follows_the_user_counts_not_the_rest_of_the_users_file(warehouse, tmp_path):
    from perfcore.build.runner import plan
    from perfcore.render import load_site_config
    from perfcore.reporting import report

    users = tmp_path / "users.yaml"
    data = report.load("2026-10", warehouse=warehouse, parameters=ROOT / "parameters", today="2026-11-26")

    def job():
        [found] = plan(
            data,
            load_site_config(ROOT),
            root=ROOT,
            reports_dir=tmp_path / "reports",
            site=tmp_path / "site",
            only=("onboarding",),
            users=users,
        )
        return found

    first = job()
    assert first.parameters["users"] == str(users)
    assert first.context.page_path == Path("analysts/2026-10/onboarding.html")
    write_users(users, ("dundee.one", DUNDEE), ("dundee.three", DUNDEE))  # another user, the same count
    assert job().fingerprint == first.fingerprint
    write_users(users, ("dundee.one", DUNDEE), ("dundee.two", DUNDEE), ("midlothian.one", MIDLOTHIAN))
    assert job().fingerprint != first.fingerprint
    users.write_text("users: [not, valid", encoding="utf-8")  # broken: the page will say so; the plan still stands
    assert job().fingerprint != first.fingerprint
