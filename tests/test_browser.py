"""The built site in a real browser: headless Chromium against a real HTTP server on loopback."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import tempfile
import threading

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow
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
