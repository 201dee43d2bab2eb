"""The built site in a real browser: headless Chromium against a real HTTP server on loopback."""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import DEMO_TODAY, ROOT
from perfcore.config.parameters import load_consortium

pytestmark = pytest.mark.slow
CONSORTIUM = load_consortium(ROOT / "parameters")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


@pytest.fixture(scope="module")
def served_site(demo_site):
    _, site, _ = demo_site
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", demo_site[0].period
    server.shutdown()
    server.server_close()


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Headless Chromium run to its end; a crash or a refused flag fails the test here, with Chromium's own words.

    Chromium exits 0 even when a page fails to load, so the callers still check what it dumped or drew.
    """
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Chromium is needed for the browser tests: scripts/test installs it"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, f"Chromium exited with {result.returncode}: {result.stderr[-2000:]}"
    return result


def test_search_finds_pages_in_the_browser(served_site):
    base, period = served_site
    url = f"{base}/councils/midlothian/{period}/report.html?q=work+on+hand"
    result = chromium("--virtual-time-budget=10000", "--dump-dom", url)
    dom = BeautifulSoup(result.stdout, "html.parser")
    results = dom.find(id="search-results")
    assert results is not None and not results.has_attr("hidden"), result.stdout[-2000:]
    links = [a["href"] for a in results.find_all("a", href=True)]
    assert any("report.html" in link for link in links), links


def test_council_page_renders_to_a_screenshot(served_site, tmp_path):
    base, period = served_site
    shot = tmp_path / "council.png"
    page = f"{base}/councils/midlothian/{period}/report.html"
    # the page Chromium draws is the report, not an error page: the same address, dumped, has the report's heading
    assert BeautifulSoup(chromium("--dump-dom", page).stdout, "html.parser").find("h1") is not None
    chromium("--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", page)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100_000  # a real, non-blank page


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): Chromium reads
    commands on its fd 3 and answers on fd 4, each message JSON ended by a NUL. No port, no websocket."""

    def __init__(self, profile: str) -> None:
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary, "Chromium is needed for the browser tests: scripts/test installs it"
        to_chromium, self._commands = os.pipe()
        self._answers, from_chromium = os.pipe()

        def onto_3_and_4() -> None:  # in the child, before exec: the pipe's ends become fds 3 and 4
            read, write = fcntl.fcntl(to_chromium, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chromium, fcntl.F_DUPFD, 10)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=onto_3_and_4,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chromium)
        os.close(from_chromium)
        self._next, self._buffer, self.session = 0, b"", None

    def send(self, method: str, **params) -> dict:
        """One command; its result (events that arrive meanwhile are passed over)."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                assert "error" not in answer, answer
                return answer["result"]

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._answers, 1 << 16)
            assert chunk, "Chromium closed the DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.wait_for(lambda href: href == url)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, arrived, seconds: float = 30) -> str:
        """Until the page at ``location.href`` satisfies ``arrived`` and has loaded; its address."""
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            href, state = self.evaluate("[location.href, document.readyState]")
            if arrived(href) and state == "complete":
                return href
            time.sleep(0.1)
        raise AssertionError(f"the page did not arrive: still at {href}")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) in the middle of the element."""
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except AssertionError:
            pass
        os.close(self._commands)
        os.close(self._answers)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def perfcore_json(warehouse: Path, *args: str):
    """A perfcore command's JSON, run as an analyst runs it."""
    env = {**os.environ, "PERFCORE_TODAY": DEMO_TODAY}
    result = subprocess.run(
        [sys.executable, "-m", "perfcore.cli", *args, "--warehouse", str(warehouse), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_headline_figure_clicks_through_to_where_it_comes_from(served_site, demo_warehouse):
    base, period = served_site
    council, indicator = CONSORTIUM.council("S12000019"), "new_claims_days"  # Midlothian
    report = f"{base}/councils/{council.slug}/{period}/report.html"
    with tempfile.TemporaryDirectory() as profile:
        browser = DevTools(profile)
        try:
            browser.open(report)
            browser.click(f'.tile-value a[href$="#{indicator}"]')
            landed = browser.wait_for(lambda href: href != report)
            found = browser.evaluate(
                f"""(() => {{ const s = document.getElementById({json.dumps(indicator)});
                    return {{ numerator: s.querySelector('data.numerator').value,
                              denominator: s.querySelector('data.denominator').value,
                              shown: s.querySelector('.explain-value').textContent,
                              text: s.innerText,
                              sha256: [...s.querySelectorAll('.sha256')].map(e => e.textContent) }}; }})()"""
            )
        finally:
            browser.close()
    assert landed == f"{base}/councils/{council.slug}/{period}/figures.html#{indicator}"
    explained = perfcore_json(
        demo_warehouse, "explain", "--council", council.code, "--period", period, "--indicator", indicator
    )
    assert (float(found["numerator"]), float(found["denominator"])) == (
        explained["numerator"],
        explained["denominator"],
    )
    assert found["shown"] == explained["shown"]
    numerator, denominator = f"{explained['numerator']:,.0f} days", f"{explained['denominator']:,.0f} claims"
    assert numerator in found["text"] and denominator in found["text"]  # 7,115 days over 295 claims
    listed = {
        row["sha256"]
        for row in perfcore_json(demo_warehouse, "submissions")
        if (row["authority"], row["period"]) == (council.code, period)
    }
    assert found["sha256"] and set(found["sha256"]) <= listed
