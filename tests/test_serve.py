"""`perfcore serve`: a real nginx with the generated configuration, walked with real HTTP requests.

A small site with every partition's kinds of files (pages, PDFs, search
indexes, SVGs, CSVs) is enough to exercise the policy; the demo site's full
matrix, the leak check and the browser are in test_serve_site.py (slow).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perfcore.access import policy
from perfcore.access import users as users_file
from perfcore.config.parameters import load_consortium

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
DUNDEE, MIDLOTHIAN = "S12000042", "S12000019"
USERS = (
    users_file.User("dundee.officer", "council", (DUNDEE,), email="Officer@DundeeCity.gov.uk"),
    users_file.User("shared.service", "council", (DUNDEE, MIDLOTHIAN)),
    users_file.User("analyst", "consortium", email="analyst@consortium.example"),
    users_file.User("dwp.reader", "dwp"),
)
SITE_FILES = (
    "index.html",
    "favicon.ico",
    "assets/perfcore.css",
    "assets/search.js",
    "assets/favicon.svg",
    "consortium/index.html",
    "consortium/search.json",
    "consortium/2026-10/benchmarks.html",
    "consortium/2026-10/benchmarks_files/league.svg",
    "consortium/2026-10/consortium-2026-10-benchmarks.pdf",
    "analysts/index.html",
    "analysts/search.json",
    "analysts/2026-10/data-quality.html",
    "councils/dundee-city/index.html",
    "councils/dundee-city/search.json",
    "councils/dundee-city/2026-10/report.html",
    "councils/dundee-city/2026-10/report_files/trend.svg",
    "councils/dundee-city/2026-10/report_files/trend.csv",
    "councils/dundee-city/2026-10/dundee-city-2026-10-report.pdf",
    "councils/midlothian/index.html",
    "councils/midlothian/search.json",
    "councils/midlothian/2026-10/report.html",
    "councils/midlothian/2026-10/report_files/trend.svg",
    "councils/midlothian/2026-10/midlothian-2026-10-report.pdf",
    "councils/east-lothian/2026-10/report.html",
    "dwp/index.html",
    "dwp/search.json",
    "dwp/2026-10/sop-return-2026-10.csv",
    "dwp/2026-10/midlothian-2026-10-report.pdf",
)
MISSING = (
    "/councils/dundee-city/2026-09/report.html",
    "/consortium/2026-09/benchmarks.html",
    "/dwp/2026-09/x.pdf",
    "/nope.html",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site() -> Path:
    """World-readable (nginx's workers run as nobody), with a secret file outside it and traps inside."""
    base = Path(tempfile.mkdtemp(prefix="perfcore-serve-"))
    os.chmod(base, 0o755)
    root = base / "site"
    for name in SITE_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {name}\n")
    (base / "outside-secret.txt").write_text("SECRET OUTSIDE THE SITE\n")
    (root / "councils/dundee-city/2026-10/escape.html").symlink_to(base / "outside-secret.txt")
    (root / "councils/dundee-city/neighbour").symlink_to(root / "councils/midlothian")
    (root / "councils/dundee-city/.hidden.html").write_text("hidden\n")
    (root / "councils/dundee-city/2026-08").mkdir()  # a folder without index.html: never listed
    (root / "councils/dundee-city/2026-08/left-over.pdf").write_text("pdf\n")
    for folder, _dirs, files in os.walk(base):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    yield root
    shutil.rmtree(base)


def write_users(path: Path, users: tuple[users_file.User, ...] = USERS) -> None:
    """``users`` with PASSWORD, hashed at bcrypt's cheapest cost: these servers answer thousands of requests."""
    consortium = load_consortium(ROOT / "parameters")
    hashed = users_file.hash_password(PASSWORD, cost=4)
    entries = users_file.Users(tuple(users_file.User(u.name, u.role, u.councils, u.email, hashed) for u in users))
    users_file.save(entries, path, [c.code for c in consortium.members])


class Server:
    def __init__(self, site: Path, workdir: Path, *extra: str, users: tuple[users_file.User, ...] = USERS) -> None:
        self.port = free_port()
        self.reports = workdir / "reports"
        self.users = workdir / "users.yaml"
        write_users(self.users, users)
        env = {
            **os.environ,
            "PERFCORE_PARAMETERS": str(ROOT / "parameters"),
            "PERFCORE_USERS": str(self.users),
            "PERFCORE_REPORTS": str(self.reports),
            "PERFCORE_WAREHOUSE": str(workdir / "w.duckdb"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "perfcore", "serve", "--site", str(site), "--port", str(self.port), *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.wait_until_listening()

    def wait_until_listening(self) -> None:
        """Until OUR nginx listens: its pid file exists (nginx writes it only after binding) and the port answers.

        The port alone is not proof: another test run on the machine may have been given the same free port.
        """
        pid_file = self.reports / "server" / "nginx.pid"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"perfcore serve exited: {self.process.communicate()}")
            try:
                if pid_file.exists() and Path(f"/proc/{int(pid_file.read_text())}").exists():
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise AssertionError("nginx did not start listening")

    @property
    def access_log(self) -> Path:
        return self.reports / "server" / "logs" / "access.log"

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


def get(
    port: int,
    path: str,
    user: str | None = None,
    password: str = PASSWORD,
    headers: dict | None = None,
    https: bool = False,
) -> tuple[int, dict, bytes]:
    if https:
        import ssl

        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=30, context=ssl._create_unverified_context()
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = dict(headers or {})
    if user is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    connection.request("GET", path, headers=sent)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def workdir() -> Path:
    """A folder nginx's workers (nobody) can enter: pytest's own temporary folders are private."""
    folder = Path(tempfile.mkdtemp(prefix="perfcore-serve-run-"))
    os.chmod(folder, 0o755)
    return folder


@pytest.fixture
def run_folder() -> Iterator[Path]:
    """``workdir()`` for one test, removed afterwards."""
    folder = workdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(site):
    folder = workdir()
    running = Server(site, folder)
    yield running
    code, out, err = running.stop()
    shutil.rmtree(folder, ignore_errors=True)
    assert code == 0, (out, err)


def grants() -> dict[str, policy.Grant]:
    consortium = load_consortium(ROOT / "parameters")
    return {u.name: policy.grant_for(u, consortium) for u in USERS}


def expected(grant: policy.Grant, path: str, site: Path) -> int:
    if not grant.allows(path):
        return 403
    return 200 if (site / path.lstrip("/")).is_file() else 404


@pytest.mark.slow  # a real nginx
def test_the_access_matrix(server, site):
    """Every role x every file of every partition, plus missing files: 401, 403, 404 and 200 as the policy says."""
    paths = ["/" + name for name in SITE_FILES] + list(MISSING)
    wrong = []
    for path in paths:
        for user, password in ((None, PASSWORD), ("analyst", "wrong password"), ("nobody.at.all", PASSWORD)):
            status, headers, _ = get(server.port, path, user, password)
            if status != 401 or "basic" not in headers.get("www-authenticate", "").lower():
                wrong.append((user, path, status))
        for name, grant in grants().items():
            status, _, body = get(server.port, path, name)
            want = expected(grant, path, site)
            if status != want or (status == 200 and body != f"content of {path.lstrip('/')}\n".encode()):
                wrong.append((name, path, status, want))
    assert not wrong


TRICKS = (
    "/councils/dundee-city/../midlothian/2026-10/report.html",
    "/councils/dundee-city/%2e%2e/midlothian/2026-10/report.html",
    "/councils/dundee-city/%2E%2E%2Fmidlothian/2026-10/report.html",
    "/councils%2fmidlothian/2026-10/report.html",
    "/councils/dundee-city/..%2fmidlothian/2026-10/report.html",
    "//councils//midlothian//2026-10//report.html",
    "/councils/./midlothian/2026-10/report.html",
    "/Councils/midlothian/2026-10/report.html",
    "/councils/MIDLOTHIAN/2026-10/report.html",
    "/councils/midlothian./2026-10/report.html",
    "/councils/midlothian/2026-10/report.html.",
    "/councils/midlothian/2026-10/report.html%00.css",
    "/councils/dundee-city/neighbour/2026-10/report.html",
    "/councils/dundee-city/2026-10/escape.html",
    "/councils/dundee-city/.hidden.html",
    "/councils/dundee-city/2026-08/",
    "/dwp/../councils/midlothian/2026-10/report.html",
    "/assets/../councils/midlothian/2026-10/report.html",
    "/assets/..%2f..%2fcouncils/midlothian/2026-10/report.html",
)


@pytest.mark.slow  # a real nginx
@pytest.mark.parametrize("path", TRICKS)
def test_path_tricks_give_nothing_away(server, path):
    status, _, body = get(server.port, path, "dundee.officer")
    assert status in (400, 403, 404), (path, status)
    assert b"midlothian" not in body and b"SECRET" not in body and b"hidden" not in body and b"Index of" not in body
    status, _, body = get(server.port, path, "analyst")  # even with every right: no symlink, no listing, no hidden file
    assert b"SECRET" not in body and b"Index of" not in body and b"hidden" not in body
    assert status != 200 or "midlothian" in path.lower() and "neighbour" not in path


@pytest.mark.slow  # a real nginx
def test_home_follows_the_role(server):
    homes = {
        "dundee.officer": "/councils/dundee-city/index.html",
        "shared.service": "/councils/dundee-city/index.html",
        "analyst": "/index.html",
        "dwp.reader": "/dwp/index.html",
    }
    for user, home in homes.items():
        status, headers, _ = get(server.port, "/", user)
        assert status == 302 and headers["location"] == home, (user, status, headers.get("location"))
        me = json.loads(get(server.port, "/_perfcore/me.json", user)[2])
        assert me["user"] == user and me["home"] == home
    assert get(server.port, "/", None)[0] == 401


@pytest.mark.slow  # a real nginx
def test_security_headers(server):
    status, headers, _ = get(server.port, "/councils/dundee-city/2026-10/report.html", "dundee.officer")
    assert status == 200
    csp = headers["content-security-policy"]
    script = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'self'" in script and "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "no-store" in headers["cache-control"] and "private" in headers["cache-control"]
    assert headers["server"] == "nginx"  # no version
    assert "strict-transport-security" not in headers  # HSTS only over TLS
    for status_path in ("/councils/midlothian/2026-10/report.html", "/nope.html"):
        status, headers, body = get(server.port, status_path, "dundee.officer")
        assert "content-security-policy" in headers and b"nginx/" not in body


@pytest.mark.slow  # a real nginx
def test_every_decision_is_logged_and_summarised(server, tmp_path):
    marker = f"/councils/midlothian/2026-10/report.html?probe={random.randrange(10**9)}"
    get(server.port, marker, "dundee.officer")
    get(server.port, "/councils/dundee-city/2026-10/report.html", "dundee.officer")
    get(server.port, "/dwp/index.html", None)
    time.sleep(0.2)
    entries = [json.loads(line) for line in server.access_log.read_text().splitlines()]
    assert {"time", "user", "method", "path", "status", "client"} <= entries[-1].keys()
    assert any(
        e["user"] == "dundee.officer" and e["path"] == "/councils/midlothian/2026-10/report.html" and e["status"] == 403
        for e in entries
    )
    assert any(e["status"] == 401 and e["path"] == "/dwp/index.html" for e in entries)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfcore",
            "access-log",
            "--log",
            str(server.access_log),
            "--user",
            "dundee.officer",
            "--denied",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PERFCORE_PARAMETERS": str(ROOT / "parameters")},
    )
    denied = json.loads(result.stdout)
    assert denied and all(row["user"] == "dundee.officer" and row["status"] in (401, 403) for row in denied)
    summary = subprocess.run(
        [sys.executable, "-m", "perfcore", "access-log", "--log", str(server.access_log)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert summary.returncode == 0 and "dundee.officer" in summary.stdout and "denied" in summary.stdout


@pytest.mark.slow  # a real nginx
def test_policy_holds_under_load(server, site):
    """Thousands of requests from 50 concurrent clients, mixed users and paths: not one wrong answer."""
    rng = random.Random(7)
    table = grants()
    paths = ["/" + name for name in SITE_FILES] + list(MISSING) + list(TRICKS[:6])
    cases = [(rng.choice([*table, None]), rng.choice(paths)) for _ in range(3000)]

    def one(case):
        user, path = case
        status = get(server.port, path, user)[0]
        want = (
            401
            if user is None
            else expected(table[user], path, site)
            if path in paths[: len(SITE_FILES) + len(MISSING)]
            else None
        )
        return (
            want is not None
            and status != want
            or (want is None and status == 200 and "midlothian" in path and user == "dundee.officer")
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        wrong = sum(pool.map(one, cases))
    elapsed = time.monotonic() - started
    print(f"load: {len(cases)} requests, concurrency 50, {len(cases) / elapsed:.0f} requests/s, {wrong} wrong")
    assert wrong == 0


class _StandInSSO(http.server.BaseHTTPRequestHandler):
    """oauth2-proxy's contract, in miniature: /oauth2/auth says who the cookie belongs to."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        cookie = self.headers.get("Cookie", "")
        email = cookie.split("sso=", 1)[1].split(";")[0] if "sso=" in cookie else None
        if self.path.startswith("/oauth2/auth"):
            self.send_response(202 if email else 401)
            if email:
                self.send_header("X-Auth-Request-Email", email)
        elif self.path.startswith("/oauth2/start"):
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.slow  # a real nginx
def test_single_sign_on_maps_the_signed_in_email_to_a_user(site, run_folder):
    sso = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandInSSO)
    threading.Thread(target=sso.serve_forever, daemon=True).start()
    running = Server(site, run_folder, "--sso", f"127.0.0.1:{sso.server_address[1]}")
    try:
        port = running.port
        status, headers, _ = get(port, "/councils/dundee-city/2026-10/report.html")
        assert status == 302 and headers["location"].startswith("/oauth2/start?rd=")
        officer = {"Cookie": "sso=officer@dundeecity.gov.uk"}  # case differs from the users file: still the same person
        assert get(port, "/councils/dundee-city/2026-10/report.html", headers=officer)[0] == 200
        assert get(port, "/councils/midlothian/2026-10/report.html", headers=officer)[0] == 403
        assert get(port, "/", headers=officer)[1]["location"] == "/councils/dundee-city/index.html"
        analyst = {"Cookie": "sso=analyst@consortium.example"}
        assert get(port, "/councils/midlothian/2026-10/report.html", headers=analyst)[0] == 200
        stranger = {"Cookie": "sso=someone@elsewhere.example"}  # signed in, but not a user of perfcore
        assert get(port, "/councils/dundee-city/2026-10/report.html", headers=stranger)[0] == 403
        assert get(port, "/index.html", headers=stranger)[0] == 403
        # a password is no way round single sign-on
        assert get(port, "/councils/dundee-city/2026-10/report.html", "dundee.officer")[0] == 302
        time.sleep(0.2)
        log = [json.loads(line) for line in running.access_log.read_text().splitlines()]
        assert any(e["user"] == "dundee.officer" and e["status"] == 403 for e in log)
    finally:
        code, out, err = running.stop()
        sso.shutdown()
    assert code == 0, err


@pytest.mark.slow  # a real nginx
def test_tls_with_hsts(site, tmp_path, run_folder):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(key, 0o600)
    running = Server(site, run_folder, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        status, headers, _ = get(
            running.port, "/councils/dundee-city/2026-10/report.html", "dundee.officer", https=True
        )
        assert status == 200 and headers["strict-transport-security"].startswith("max-age=")
        assert get(running.port, "/councils/midlothian/2026-10/report.html", "dundee.officer", https=True)[0] == 403
    finally:
        code, _, err = running.stop()
    assert code == 0, err


@pytest.mark.slow  # a real nginx
def test_serve_stops_cleanly_on_ctrl_c_and_leaves_no_nginx(site, run_folder):
    running = Server(site, run_folder)
    pid_file = running.reports / "server" / "nginx.pid"
    master = int(pid_file.read_text())
    code, out, err = running.stop()
    assert code == 0 and "stopped" in out and "Traceback" not in err
    deadline = time.monotonic() + 10
    while Path(f"/proc/{master}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{master}").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=1)


def test_print_config_writes_what_it_deploys(site, tmp_path, monkeypatch):
    write_users(tmp_path / "users.yaml")
    out = tmp_path / "deploy"
    env = {
        **os.environ,
        "PERFCORE_PARAMETERS": str(ROOT / "parameters"),
        "PERFCORE_USERS": str(tmp_path / "users.yaml"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfcore",
            "serve",
            "--site",
            str(site),
            "--print-config",
            "--out",
            str(out),
            "--server-name",
            "hb.example.gov.uk",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    conf = (out / "nginx.conf").read_text()
    assert "user www-data;" in conf and "server_name hb.example.gov.uk;" in conf and "auth_basic_user_file" in conf
    assert "/var/log/nginx/perfcore/access.log" in conf
    hashes = (out / "perfcore.htpasswd").read_text().splitlines()
    assert len(hashes) == len(USERS) and all(line.split(":", 1)[1].startswith("$2b$") for line in hashes)
    assert PASSWORD not in conf and PASSWORD not in "".join(hashes)
