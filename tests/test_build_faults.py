"""The build under faults: disk full, a concurrent ingest, a failing notebook, killed or stopped builds,
an incomplete month, and where --reports puts the site (issue 7).

Each test builds a tiny project (one member council, three months, one or two reports) in a temporary
folder and runs the real ``perfcore`` command in a subprocess, so it takes seconds, not minutes; still, each
is a build from end to end, so they are marked slow (``.ci/run`` runs them, ``-m "not slow"`` leaves them out).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import Harness, change, claim, extract_xml, item, write

ROOT = Path(__file__).resolve().parents[1]
TODAY = "2026-11-26"
MONTHS = ("2026-08", "2026-09", "2026-10")
DUNDEE = "S12000042"
DEADLINE = 90.0  # seconds: generous, for a busy two-core machine


# -- a tiny project -------------------------------------------------------------------------------


def small_project(folder: Path) -> Path:
    """notebooks/, _quarto.yml and parameters/ with one member (Dundee City), and a warehouse with three months."""
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    shutil.copy(ROOT / "_quarto.yml", folder / "_quarto.yml")
    shutil.copytree(ROOT / "parameters", folder / "parameters")
    consortium = folder / "parameters" / "consortium.yaml"
    consortium.write_text(consortium.read_text(encoding="utf-8").split("  - code: S12000008")[0], encoding="utf-8")
    (folder / "parameters" / "peer_groups.yaml").write_text(
        "groups:\n  consortium:\n    name: All members\n    description: Every council.\n    members: all\n",
        encoding="utf-8",
    )
    (folder / "parameters" / "initiatives.yaml").write_text("initiatives: []\n", encoding="utf-8")
    harness = Harness(folder / "data", today=TODAY)
    for period in MONTHS:
        result = harness.ingest(dundee_extract(period))
        assert result.outcome == "accepted", result.reason
    harness.con.close()
    return folder


def dundee_extract(period: str, sequence: int = 1) -> str:
    # days 10..28 over and over: a slow build sees dozens of resubmissions and each must stay a valid date
    records = [claim(f"C{n}", f"{period}-02", f"{period}-{10 + n % 19:02d}") for n in range(sequence)]
    return extract_xml(
        DUNDEE,
        period,
        [*records, change("X1", f"{period}-03", f"{period}-05"), item("W1", f"{period}-04")],
        sequence=sequence,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return small_project(tmp_path / "project")


def environment(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFCORE_")}
    return env | {"PERFCORE_TODAY": TODAY, "PERFCORE_WAREHOUSE": str(project / "data" / "warehouse.duckdb")} | extra


def perfcore(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfcore.cli", *args],
        cwd=project,
        env=env or environment(project),
        capture_output=True,
        text=True,
        timeout=600,
    )


def start_perfcore(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perfcore.cli", *args],
        cwd=project,
        env=env or environment(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("perfcore: error: ") and "Traceback" not in stderr, stderr
    return lines[0]


# -- 16: --reports moves the site -------------------------------------------------------------------


@pytest.mark.slow  # a real build in a subprocess
def test_reports_option_and_variable_move_the_site(project: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    done = perfcore(project, "build", "--report", "report", "--workers", "1", "--reports", str(elsewhere))
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "site" / "councils" / "dundee-city" / "2026-10" / "report.html").exists()
    assert (elsewhere / "site" / "index.html").exists() and (elsewhere / "executed").is_dir()
    assert not (project / "reports").exists()

    by_variable = tmp_path / "by-variable"
    done = perfcore(
        project,
        "build",
        "--report",
        "report",
        "--workers",
        "1",
        env=environment(project, PERFCORE_REPORTS=str(by_variable)),
    )
    assert done.returncode == 0, done.stderr
    assert (by_variable / "site" / "councils" / "dundee-city" / "2026-10" / "report.html").exists()
    assert not (project / "reports").exists()


# -- 3: disk full ----------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs of 8 MB, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> None:
    """Take every free block of the file system (a file that grows until ENOSPC)."""
    with (disk / "filler").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


@pytest.mark.slow  # a real build in a subprocess
def test_disk_full_while_writing_the_site_is_one_line_and_leaves_every_file_whole(
    project: Path, small_disk: Path, tmp_path: Path
):
    site = small_disk / "site"
    first = perfcore(
        project,
        "build",
        "--report",
        "report",
        "--workers",
        "1",
        "--out",
        str(site),
        "--reports",
        str(tmp_path / "reports"),
    )
    assert first.returncode == 0, first.stderr
    before = files_under(site)
    assert "dwp/2026-10/sop-return-2026-10.csv" in before

    # The pages are frozen and a rebuild with nothing changed writes nothing: two index pages someone deleted
    # must be drawn again, onto a full disk.
    deleted = ["councils/dundee-city/index.html", "dwp/2026-10/index.html"]
    for path in deleted:
        (site / path).unlink()
        del before[path]
    fill(small_disk)
    second = perfcore(
        project,
        "build",
        "--report",
        "report",
        "--workers",
        "1",
        "--out",
        str(site),
        "--reports",
        str(tmp_path / "reports"),
    )
    assert second.returncode == 2
    line = assert_one_clear_line(second.stderr)
    assert "full" in line
    assert files_under(site) == before  # every file as it was: nothing half-written, no temporary file left


@pytest.mark.slow  # a real build in a subprocess
def test_disk_full_for_the_reports_folder_is_one_line_and_leaves_nothing_half_written(project: Path, small_disk: Path):
    fill(small_disk)
    # Room for the warehouse snapshot and the executed notebook, not for the whole page: the build runs out midway.
    leave = (project / "data" / "warehouse.duckdb").stat().st_size + 400 * 1024
    with (small_disk / "filler").open("r+b") as filler:
        filler.truncate((small_disk / "filler").stat().st_size - leave)
    done = perfcore(project, "build", "--report", "report", "--workers", "1", "--reports", str(small_disk / "reports"))
    assert done.returncode == 2
    assert "full" in assert_one_clear_line(done.stderr)
    for path in (small_disk / "reports").rglob("*"):
        if path.is_file():
            assert path.suffix == ".log" or path.stat().st_size > 0, path  # a kernel may log nothing
            assert not path.name.startswith(".") and ".tmp" not in path.name, path
            if path.suffix in (".html", ".json", ".ipynb"):
                text = path.read_text(encoding="utf-8")
                assert text.rstrip().endswith("</html>") if path.suffix == ".html" else json.loads(text) is not None


# -- 8: concurrent ingest, failed pages --------------------------------------------------------------


@pytest.mark.slow  # a real build in a subprocess
def test_an_ingest_during_a_build_neither_fails_nor_breaks_a_page(project: Path, tmp_path: Path):
    build = start_perfcore(
        project, "build", "--report", "report", "--report", "benchmarks", "--report", "data-quality", "--workers", "1"
    )
    ingests = []
    sequence = 1
    while build.poll() is None:
        sequence += 1
        path = write(tmp_path / "in" / f"dundee-{sequence}.xml", dundee_extract("2026-10", sequence))
        ingests.append(perfcore(project, "ingest", str(path)))
    out, err = build.communicate()
    assert len(ingests) >= 2
    for done in ingests:
        assert done.returncode == 0 and done.stdout.startswith("ACCEPTED"), done.stdout + done.stderr
    assert build.returncode == 0, out + err
    assert "FAILED" not in out


def break_notebook(project: Path, name: str, source: str) -> None:
    """Insert a cell after the cell that loads the data (or at the end of a notebook without one)."""
    path = project / "notebooks" / name
    book = json.loads(path.read_text(encoding="utf-8"))
    loads = [n for n, cell in enumerate(book["cells"]) if "report.load(" in "".join(cell["source"])]
    at = loads[0] + 1 if loads else len(book["cells"])
    book["cells"].insert(
        at,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": uuid.uuid4().hex[:8],
            "metadata": {},
            "outputs": [],
            "source": source,
        },
    )
    path.write_text(json.dumps(book, indent=1), encoding="utf-8")


LEAKY_FAILURE = (
    "import os, sys\nraise RuntimeError(f'cannot read {warehouse} with {sys.executable} (PID {os.getpid()})')\n"
)


@pytest.mark.slow  # a real build in a subprocess
def test_a_failing_notebook_keeps_the_last_good_page_and_its_dwp_copy(project: Path):
    site = project / "reports" / "site"
    good = perfcore(project, "build", "--report", "report", "--workers", "1")
    assert good.returncode == 0, good.stderr
    page = site / "councils" / "dundee-city" / "2026-10"
    published = {
        p: p.read_bytes()
        for p in (
            page / "report.html",
            page / "dundee-city-2026-10-report.pdf",
            site / "dwp" / "2026-10" / "dundee-city-2026-10-report.pdf",
        )
    }

    break_notebook(project, "council.ipynb", LEAKY_FAILURE)
    failed = perfcore(project, "build", "--report", "report", "--workers", "1")
    assert failed.returncode == 1
    assert "FAILED" in failed.stdout and "cannot read" in failed.stdout  # the analyst's build log has the cause
    for path, content in published.items():
        assert path.read_bytes() == content, path
    assert "report.html" in (site / "councils" / "dundee-city" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow  # a real build in a subprocess
def test_a_page_that_never_built_says_what_failed_in_words_without_paths_or_tracebacks(project: Path):
    break_notebook(project, "council.ipynb", LEAKY_FAILURE)
    failed = perfcore(project, "build", "--report", "report", "--workers", "1")
    assert failed.returncode == 1
    site = project / "reports" / "site"
    notice = (site / "councils" / "dundee-city" / "2026-10" / "report.html").read_text(encoding="utf-8")
    assert "could not be built" in notice
    for leak in (
        str(project),
        "/tmp",
        sys.executable,
        "python",
        "PID",
        "Traceback",
        "RuntimeError",
        "warehouse.duckdb",
    ):
        assert leak not in notice, leak
    assert not list((site / "dwp").rglob("*.pdf"))  # a notice is never sent to DWP
    assert not list((site / "councils").rglob("*.pdf"))


# -- 14: workers die with the build ---------------------------------------------------------------------


def processes_with(marker: str) -> list[int]:
    """Processes whose environment carries the marker: the build's workers and their kernels."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if f"PERFCORE_TEST_RUN={marker}".encode() in environ.split(b"\0") and state != "Z":
                found.append(int(entry.name))
    return found


def kernels_with(marker: str) -> list[int]:
    kernels = []
    for pid in processes_with(marker):
        try:
            if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                kernels.append(pid)
        except OSError:
            continue
    return kernels


def wait_for(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def slow_build(project: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A two-worker build whose pages take ten minutes each: started, with both kernels running."""
    break_notebook(project, "guide.ipynb", "import time\ntime.sleep(600)\n")
    marker = uuid.uuid4().hex
    build = start_perfcore(
        project, "build", "--report", "guide", "--workers", "2", env=environment(project, PERFCORE_TEST_RUN=marker)
    )
    try:
        wait_for(lambda: len(kernels_with(marker)) == 2, "two kernels")
        yield build, marker
    finally:
        if build.poll() is None:
            build.kill()
        # Never leave our own processes behind, even when the test fails (orphans would also hold
        # the build's output pipes open, so they go before reading them).
        for pid in processes_with(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        build.communicate()


@pytest.mark.slow  # a real build in a subprocess
def test_killing_the_build_kills_its_workers_and_their_kernels(slow_build):
    build, marker = slow_build
    build.kill()
    build.wait()
    wait_for(lambda: not processes_with(marker), "the workers and kernels to end")


@pytest.mark.slow  # a real build in a subprocess
def test_sigterm_stops_the_build_with_one_line_and_no_orphans(slow_build, project: Path):
    build, marker = slow_build
    build.send_signal(signal.SIGTERM)
    out, err = build.communicate(timeout=DEADLINE)
    assert build.returncode not in (0, None) and build.returncode > 0
    line = assert_one_clear_line(err)
    assert "stopped" in line
    wait_for(lambda: not processes_with(marker), "the workers and kernels to end")
    leftovers = [p for p in (project / "reports").rglob("*") if p.name.startswith(".")]
    assert not leftovers  # no staging folder, temporary file or warehouse snapshot left behind


# -- 10: the default month is a complete one -----------------------------------------------------------------


def test_default_month_is_the_last_complete_one_and_a_month_in_progress_is_provisional(tmp_path: Path, capsys):
    from perfcore.cli import main
    from perfcore.config.parameters import load_consortium

    members = load_consortium(ROOT / "parameters").members
    harness = Harness(tmp_path, today="2026-11-05")
    for council in members:
        harness.ingest(extract_xml(council.code, "2026-09", [claim("C1", "2026-09-02", "2026-09-10")]))
    harness.ingest(extract_xml(DUNDEE, "2026-10", [claim("C1", "2026-10-02", "2026-10-10")]))  # early, one member
    harness.con.close()
    common = ["--warehouse", str(tmp_path / "warehouse.duckdb"), "--parameters", str(ROOT / "parameters")]

    assert main(["indicators", "--council", "consortium", *common, "--today", "2026-11-05"]) == 0
    out = capsys.readouterr().out
    assert "2026-09" in out.splitlines()[0] and "provisional" not in out
    assert main(["alerts", *common, "--today", "2026-11-05"]) == 0
    assert "as at 2026-09" in capsys.readouterr().out

    assert main(["indicators", "--council", "consortium", "--period", "2026-10", *common, "--today", "2026-11-05"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "2026-10" in first and "provisional" in first and "1 of 10" in first

    # Past the cut-off day the month counts as complete, whoever is missing.
    assert main(["indicators", "--council", "consortium", *common, "--today", "2026-11-30"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "2026-10" in first and "provisional" not in first


@pytest.mark.slow  # a real build in a subprocess
def test_a_provisional_month_is_marked_on_its_pages(project: Path):
    # A second member with no extract for October: on 2 November (before the cut-off) October is provisional.
    consortium = project / "parameters" / "consortium.yaml"
    second = (ROOT / "parameters" / "consortium.yaml").read_text(encoding="utf-8").split("  - code: S12000008")[1]
    consortium.write_text(
        consortium.read_text(encoding="utf-8") + "  - code: S12000008" + second.split("  - code:")[0], encoding="utf-8"
    )
    done = perfcore(
        project,
        "build",
        "--report",
        "indicators",
        "--report",
        "benchmarks",
        "--workers",
        "1",
        "--period",
        "2026-10",
        env=environment(project, PERFCORE_TODAY="2026-11-02"),
    )
    assert done.returncode == 0, done.stderr
    assert "provisional" in done.stdout
    page = (project / "reports" / "site" / "consortium" / "2026-10" / "indicators.html").read_text(encoding="utf-8")
    assert "Provisional" in page
    from pypdf import PdfReader

    pdf = project / "reports" / "site" / "consortium" / "2026-10" / "consortium-2026-10-benchmarks.pdf"
    assert "Provisional" in PdfReader(pdf).pages[0].extract_text()  # the PDF's cover says so too


def test_what_a_killed_build_left_is_removed_wherever_it_is_and_nothing_else(tmp_path: Path):
    """``files.remove_leftovers``: temporary files and folders at any depth (a page's own files too), the
    staging folder; published files, and hidden files that are not temporaries, stay."""
    from perfcore import files

    site = tmp_path / "site"
    kept = [site / "index.html", site / "councils/dundee-city/2026-10/report_files/page.json", site / ".keep"]
    left = [
        files.temporary_beside(site / "councils/dundee-city/2026-10/report_files/chart.svg"),
        files.temporary_beside(site / "consortium/search.json"),
        files.temporary_beside(site / "councils/dundee-city/2026-10/report_files"),  # a retired folder
    ]
    for path in [*kept, *left[:2]]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (left[2] / "inside").mkdir(parents=True)
    (site / ".staging" / "123-abc").mkdir(parents=True)
    files.remove_leftovers(site, ".staging")
    assert all(path.exists() for path in kept)
    assert not any(path.exists() for path in [*left, site / ".staging"])
