"""Users and roles as data: `perfcore users`, the users file and the access policy (no server here)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from perfcore import cli
from perfcore.access import policy
from perfcore.access import users as users_file
from perfcore.config.parameters import load_consortium

ROOT = Path(__file__).resolve().parents[1]
STRONG = "correct horse battery staple"
DUNDEE, MIDLOTHIAN = "S12000042", "S12000019"


@pytest.fixture
def users_yaml(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PERFCORE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PERFCORE_PARAMETERS", str(ROOT / "parameters"))
    monkeypatch.delenv("PERFCORE_USERS", raising=False)
    return tmp_path / "users.yaml"


def run(argv: list[str], monkeypatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(argv)


def add(monkeypatch, name: str, *options: str, password: str = STRONG) -> int:
    return run(["users", "add", name, *options], monkeypatch, stdin=password + "\n")


def test_users_add_list_passwd_remove(users_yaml, monkeypatch, capsys):
    assert add(monkeypatch, "dundee.officer", "--role", "council", "--council", DUNDEE) == 0
    assert add(monkeypatch, "shared.service", "--role", "council", "--council", DUNDEE, "--council", MIDLOTHIAN) == 0
    assert add(monkeypatch, "analyst", "--role", "consortium") == 0
    assert add(monkeypatch, "dwp.reader", "--role", "dwp") == 0
    text = users_yaml.read_text()
    assert STRONG not in text and text.count("$2b$10$") == 4
    assert stat.S_IMODE(users_yaml.stat().st_mode) == 0o600
    capsys.readouterr()
    assert run(["users", "list"], monkeypatch) == 0
    listing = capsys.readouterr().out
    assert (
        "shared.service" in listing and "Dundee City" in listing and "Midlothian" in listing and "$2b$" not in listing
    )

    before = users_file.load(users_yaml, [DUNDEE, MIDLOTHIAN]).get("analyst").password_hash
    assert run(["users", "passwd", "analyst"], monkeypatch, stdin="another long passphrase here\n") == 0
    after = users_file.load(users_yaml, [DUNDEE, MIDLOTHIAN]).get("analyst").password_hash
    assert after != before and users_file.verify_password("another long passphrase here", after)

    assert run(["users", "remove", "dwp.reader"], monkeypatch) == 0
    assert "dwp.reader" not in users_yaml.read_text()


@pytest.mark.parametrize(
    ("argv", "password", "message"),
    [
        (["users", "add", "x", "--role", "council", "--council", "S12999999"], STRONG, "not a consortium member"),
        (["users", "add", "x", "--role", "chief"], STRONG, None),  # argparse refuses the choice
        (["users", "add", "x", "--role", "council"], STRONG, "needs at least one --council"),
        (["users", "add", "x", "--role", "dwp", "--council", DUNDEE], STRONG, "only the council role"),
        (["users", "add", "x", "--role", "dwp"], "", "empty"),
        (["users", "add", "x", "--role", "dwp"], "short", "too short"),
        (["users", "add", "x", "--role", "dwp"], "aaaaaaaaaaaaaaaa", "too easy"),
        (["users", "add", "existing", "--role", "dwp"], STRONG, "already exists"),
        (["users", "add", "Bad:Name", "--role", "dwp"], STRONG, "user name"),
        (["users", "add", "x\nroot", "--role", "dwp"], STRONG, "user name"),
        (["users", "add", "x", "--role", "dwp", "--email", "not-an-address"], STRONG, "not an e-mail"),
        (["users", "remove", "nobody"], "", "no user"),
        (["users", "passwd", "nobody"], STRONG, "no user"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(users_yaml, monkeypatch, capsys, argv, password, message):
    assert add(monkeypatch, "existing", "--role", "consortium") == 0
    before = users_yaml.read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) if message is None else _no_exit():
        assert run(argv, monkeypatch, stdin=password + "\n") == 2
    err = capsys.readouterr().err
    if message:
        assert err.startswith("perfcore: error: ") and message in err and err.count("\n") == 1, err
        assert "Traceback" not in err
    assert users_yaml.read_bytes() == before


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_hand_broken_users_file_is_refused_with_its_name(users_yaml, monkeypatch, capsys):
    users_yaml.write_text(
        "users:\n  - name: x\n    role: council\n    councils: [S12000042]\n    password: plain-text\n"
    )
    assert run(["users", "list"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert str(users_yaml) in err and "not a bcrypt hash" in err


def test_policy_by_role():
    consortium = load_consortium(ROOT / "parameters")
    hash_ = "$2b$12$" + "a" * 53
    council = policy.grant_for(users_file.User("o", "council", (DUNDEE,), password_hash=hash_), consortium)
    shared = policy.grant_for(users_file.User("s", "council", (DUNDEE, MIDLOTHIAN), password_hash=hash_), consortium)
    analyst = policy.grant_for(users_file.User("a", "consortium", password_hash=hash_), consortium)
    dwp = policy.grant_for(users_file.User("d", "dwp", password_hash=hash_), consortium)
    own, other = "/councils/dundee-city/2026-10/report.html", "/councils/midlothian/2026-10/report.html"
    assert council.allows(own) and not council.allows(other) and council.allows("/consortium/2026-10/benchmarks.html")
    assert shared.allows(own) and shared.allows(other)
    assert not council.allows("/dwp/index.html") and not council.allows("/analysts/2026-10/data-quality.html")
    assert (
        dwp.allows("/dwp/2026-10/sop-return-2026-10.csv")
        and not dwp.allows(own)
        and not dwp.allows("/consortium/index.html")
    )
    assert all(g.allows("/assets/perfcore.css") and g.allows("/index.html") for g in (council, dwp, analyst))
    assert analyst.allows(other) and analyst.allows("/dwp/index.html")
    for grant in (council, analyst, dwp):
        assert not grant.allows("/councils/dundee-city/.hidden") and not grant.allows("relative/path")
    assert council.home == "/councils/dundee-city/index.html" and dwp.home == "/dwp/index.html"


def test_demo_users_one_per_role_with_fresh_passwords(users_yaml, monkeypatch):
    from perfcore.access import demo

    consortium = load_consortium(ROOT / "parameters")
    codes = [c.code for c in consortium.members]
    assert add(monkeypatch, "real.person", "--role", "consortium") == 0
    first = demo.ensure_demo_users(users_yaml, consortium)
    assert {login.role for login in first} == {"council", "consortium", "dwp"}
    stored = users_file.load(users_yaml, codes)
    for login in first:
        assert users_file.verify_password(login.password, stored.get(login.name).password_hash)
    second = demo.ensure_demo_users(users_yaml, consortium)
    assert [login.name for login in second] == [login.name for login in first]
    assert all(a.password != b.password for a, b in zip(first, second))  # a printed password never lasts
    again = users_file.load(users_yaml, codes)
    assert len(again.users) == 4 and again.get("real.person") == stored.get("real.person")


def test_a_tls_deployment_on_443_redirects_plain_http():
    from pathlib import Path as P

    from perfcore.access import nginx

    options = nginx.ServerOptions(
        site=P("/srv/site"),
        runtime=P("/run/perfcore"),
        password_file=P("/etc/p"),
        host="0.0.0.0",
        port=443,
        server_name="hb.example.gov.uk",
        tls_certificate=P("/etc/ssl/hb.pem"),
        tls_key=P("/etc/ssl/hb.key"),
    )
    config = nginx.render(options, (), {})
    assert "listen 0.0.0.0:443 ssl;" in config and "Strict-Transport-Security" in config
    assert "listen 0.0.0.0:80;" in config and "return 301 https://$host$request_uri;" in config
    plain = nginx.render(nginx.ServerOptions(site=P("/s"), runtime=P("/r"), password_file=P("/p")), (), {})
    assert "return 301" not in plain and "Strict-Transport-Security" not in plain
