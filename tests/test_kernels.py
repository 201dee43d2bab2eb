"""Warm kernels (build.kernels) with a real Jupyter kernel: reused across pages, yet no page sees another's
variables, cells are numbered from 1, an edited notebook shows on its next page, and a failed page or a dead
kernel never reaches the next page."""

from __future__ import annotations

import json
import os
import signal

import nbformat
import pytest

from perfcore.build import kernels

# Real kernels running notebooks through papermill: end-to-end, like the other tests that run whole notebooks.
slow = pytest.mark.slow


def notebook(path, *cells: str):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    book.cells[0].metadata["tags"] = ["parameters"]
    book.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path.write_text(nbformat.writes(book), encoding="utf-8")
    return path


def outputs(path) -> list[str]:
    book = json.loads(path.read_text(encoding="utf-8"))
    cells = book["cells"]
    return ["".join(o.get("text", "")) for c in cells for o in c.get("outputs", []) if o.get("name") == "stdout"]


def counts(path) -> list[int]:
    book = json.loads(path.read_text(encoding="utf-8"))
    return [c["execution_count"] for c in book["cells"] if c["cell_type"] == "code"]


@pytest.fixture
def run(tmp_path):
    """run(notebook, **parameters) → (error, output path), in this test process's warm kernel."""
    made = []

    def run_one(book, **parameters):
        out = tmp_path / f"out-{len(made)}.ipynb"
        made.append(out)
        return kernels.run_notebook(book, out, parameters, cwd=tmp_path, log=tmp_path / "kernels.log"), out

    yield run_one
    if kernels._kernel is not None:
        kernels._kernel.stop()
        kernels._kernel = None


def kernel_pid() -> int:
    return kernels._kernel.km.provisioner.pid


@slow
def test_pages_share_a_kernel_but_not_its_variables(tmp_path, run):
    first = notebook(tmp_path / "a.ipynb", "x = 1", "import os\nleak = 'secret'\nprint(os.getpid())")
    second = notebook(tmp_path / "b.ipynb", "x = 2", "import os\nprint(os.getpid(), 'leak' in dir(), x)")
    error, out1 = run(first, x=10)
    assert error is None
    pid = kernel_pid()
    error, out2 = run(second, x=20)
    assert error is None
    assert outputs(out1)[0].split()[0] == outputs(out2)[0].split()[0] == str(pid)  # the same kernel process
    assert outputs(out2)[0].split()[1:] == ["False", "20"]  # nothing of page one; its own parameter
    assert counts(out2) == [1, 2, 3]  # numbered as from a fresh kernel (the injected parameters cell included)


@slow
def test_an_edited_notebook_shows_on_its_next_page(tmp_path, run):
    book = notebook(tmp_path / "a.ipynb", "x = 1", "print('before', x)")
    assert run(book)[0] is None
    notebook(book, "x = 1", "print('after', x)")
    error, out = run(book, x=3)
    assert error is None and outputs(out) == ["after 3\n"]


@slow
def test_a_failed_page_gets_a_new_kernel_and_the_next_page_builds(tmp_path, run):
    show = "import os, string\nprint(os.getpid(), x, hasattr(string, 'leak'))"
    good = notebook(tmp_path / "good.ipynb", "x = 1", show)
    # a module changed, then an error: a namespace reset would not undo the change, a new kernel does
    bad = notebook(tmp_path / "bad.ipynb", "x = 1", "import string\nstring.leak = 1\nraise ValueError('bad data')")
    assert run(good)[0] is None
    first_pid = kernel_pid()
    error, out = run(bad)
    assert error.startswith("ValueError: bad data")
    assert kernels._kernel.km is None  # stopped: whatever the failed page changed goes with it
    error, out = run(good, x=5)
    assert error is None
    pid, x, leaked = outputs(out)[0].split()
    assert int(pid) != first_pid and x == "5" and leaked == "False"


@slow
def test_a_kernel_killed_between_pages_is_replaced(tmp_path, run):
    book = notebook(tmp_path / "a.ipynb", "x = 1", "print(x)")
    assert run(book)[0] is None
    pid = kernel_pid()
    os.kill(pid, signal.SIGKILL)
    kernels._kernel.km.provisioner.process.wait()
    error, out = run(book, x=7)
    assert error is None and outputs(out) == ["7\n"] and kernel_pid() != pid


@slow
def test_a_kernel_dying_during_a_page_fails_that_page_alone(tmp_path, run):
    dies = notebook(tmp_path / "dies.ipynb", "x = 1", "import os\nos._exit(3)")
    good = notebook(tmp_path / "good.ipynb", "x = 1", "print(x)")
    error, _ = run(dies)
    assert error is not None and "DeadKernelError" in error
    error, out = run(good, x=2)
    assert error is None and outputs(out) == ["2\n"]


@slow
def test_a_hung_cell_fails_its_page_after_the_timeout_and_the_next_page_builds(tmp_path, run, monkeypatch):
    monkeypatch.setattr(kernels, "CELL_TIMEOUT", 2)
    hangs = notebook(tmp_path / "hangs.ipynb", "x = 1", "import threading\nthreading.Event().wait()")
    good = notebook(tmp_path / "good.ipynb", "x = 1", "import os\nprint(os.getpid(), x)")
    error, out = run(hangs)
    hung_pid = None if kernels._kernel.km is None else kernel_pid()
    assert error is not None and "timed out" in error and "\n" not in error
    assert hung_pid is None  # the kernel still running the hung cell is stopped, not reused
    error, out = run(good, x=4)
    assert error is None and outputs(out)[0].split()[1] == "4"


@slow
def test_the_kernel_is_replaced_after_its_page_budget(tmp_path, run, monkeypatch):
    monkeypatch.setattr(kernels, "PAGES_PER_KERNEL", 2)
    book = notebook(tmp_path / "a.ipynb", "x = 1", "import os\nprint(os.getpid())")
    pids = [int(outputs(run(book)[1])[0]) for _ in range(3)]
    assert pids[0] == pids[1] != pids[2]


def test_a_kernel_that_did_not_start_is_started_again_but_not_forever(tmp_path, monkeypatch):
    """Two workers can be handed the same free port for their kernels; the loser dies before any cell runs
    (seen in CI: 'Address already in use', then 'Kernel died before replying to kernel_info')."""
    monkeypatch.setattr(kernels.time, "sleep", lambda seconds: None)
    attempts = []
    kernel = kernels.WarmKernel(tmp_path, tmp_path / "kernels.log")

    def dies_once():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        kernel.km = "running"

    monkeypatch.setattr(kernel, "_start_once", dies_once)
    kernel._start()
    assert len(attempts) == 2 and kernel.km == "running"
    kernel.km, attempts[:] = None, []

    def always_dies():
        attempts.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(kernel, "_start_once", always_dies)
    with pytest.raises(RuntimeError, match="Kernel died"):
        kernel._start()
    assert len(attempts) == kernels.KERNEL_START_ATTEMPTS


@slow
def test_a_changed_environment_gets_a_new_kernel(tmp_path, run, monkeypatch):
    """Pages read settings such as PERFCORE_TODAY from the environment the kernel started with."""
    book = notebook(tmp_path / "a.ipynb", "x = 1", "import os\nprint(os.environ.get('PERFCORE_TODAY'))")
    monkeypatch.setenv("PERFCORE_TODAY", "2026-11-01")
    assert outputs(run(book)[1]) == ["2026-11-01\n"]
    monkeypatch.setenv("PERFCORE_TODAY", "2026-12-01")
    assert outputs(run(book)[1]) == ["2026-12-01\n"]


@slow
def test_warm_up_leaves_an_empty_namespace_and_a_running_kernel(tmp_path, run):
    kernels.warm_up(tmp_path, tmp_path / "kernels.log")
    assert kernels._kernel.alive()
    book = notebook(tmp_path / "a.ipynb", "x = 1", "print(sorted(n for n in dir() if not n.startswith('_')))")
    error, out = run(book)
    assert error is None and outputs(out) == ["['In', 'Out', 'exit', 'get_ipython', 'open', 'quit', 'x']\n"]
