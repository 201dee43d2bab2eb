"""Warm kernels: one Jupyter kernel per build worker, reused page after page.

Why: a fresh kernel per page paid the interpreter's start, the imports (pandas,
Altair, statsmodels, SciPy) and vl-convert's JavaScript runtime: about half of
a page's time (bench/PROFILE.md). Reusing the kernel removes that cost from
every page but the worker's first, and lets a module-level cache (the indicator
table of a warehouse file, ``reporting.data``) serve every page of a build.

What stays as it was: papermill executes the notebook file the analyst edits,
with its parameters injected, cell by cell, and saves the executed notebook;
only the kernel it talks to is reused. Between pages

* the kernel's namespace is cleared (``%reset -f``) and its execution counter
  starts again at 1, so no page reads another's variables and the executed
  notebook is the one a fresh kernel would give;
* a page that failed, or a kernel that died or stopped answering, is replaced
  by a new kernel before the next page, so one page's failure (and whatever
  state it left behind) never reaches another page;
* after ``PAGES_PER_KERNEL`` pages the kernel is replaced too, so memory stays
  bounded in a long build.

Modules stay imported across pages, so a change to perfcore's own code shows
from the next build (a new process), while a change to a notebook shows on its
next page.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from perfcore import files

PAGES_PER_KERNEL = 200
RESET_TIMEOUT = 60  # seconds for the namespace reset: a kernel that takes longer is replaced
START_TIMEOUT = 60
# A cell still running after this many seconds fails its page (and its kernel is replaced): a notebook that
# hangs (a lock, an endless loop) must not hang the build. The heaviest cell of any report takes seconds.
CELL_TIMEOUT = 900
ENGINE = "perfcore-warm"

# The namespace cleared and a new session begun, so cells are numbered from 1 as in a fresh kernel. What
# notebooks set at module level (pandas display options, the Altair theme) is the same on every page.
# The first time (after the warm-up's imports, or a new kernel's first page) what survives is moved out of the
# cyclic garbage collector's sight (gc.freeze): modules, classes and functions, about 160,000 objects that every
# full collection walked again: at each reset and during each page's pandas work (a tenth of a page's CPU).
# Only once: objects frozen later and dropped from a cache would never be collected if they were in a cycle.
_RESET_CODE = (
    "get_ipython().reset(new_session=True)\nif not __import__('gc').get_freeze_count(): __import__('gc').freeze()"
)
# No input history on disk: every kernel of every worker would write the same SQLite file, and a page's
# cells are in its executed notebook anyway.
_KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]

# jupyter_client picks the kernel's ports free, closes them, and the kernel binds them a moment later: two
# workers starting kernels at once can pick the same port, and the loser dies before it says hello. No cell
# has run then, so starting it again is safe; a notebook's own failure is never retried.
KERNEL_START_ATTEMPTS = 3


class WarmKernel:
    """A kernel kept running between pages (see the module's docstring)."""

    def __init__(self, cwd: Path, log: Path) -> None:
        self.cwd, self.log = cwd, log
        self.km: Any = None
        self.kc: Any = None
        self.pages = 0
        self.environment: dict[str, str] = {}  # what the kernel was started with

    # -- the kernel's life ------------------------------------------------------------------------

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def ready(self) -> None:
        """A running kernel with a clean namespace: the one we have, or a new one."""
        stale = self.pages >= PAGES_PER_KERNEL or self.environment != dict(os.environ)  # PERFCORE_TODAY, say
        if self.km is not None and (stale or not self.alive()):
            self.stop()
        if self.km is None:
            self._start()

    def _start(self) -> None:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                self._start_once()
                return
            except RuntimeError as exc:  # "Kernel died before replying to kernel_info"
                self.stop()
                if attempt == KERNEL_START_ATTEMPTS:
                    raise
                print(f"kernel did not start ({exc}; attempt {attempt}); starting it again", file=sys.stderr)
                time.sleep(0.2 * attempt)

    def _start_once(self) -> None:
        # Asynchronous, as nbclient expects: it polls the kernel's life while it waits for output, which is
        # how a kernel that dies in the middle of a page fails that page instead of hanging the build.
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        from perfcore.reporting.data import KEEP_OPEN

        files.make_folder(self.log.parent)
        self.environment = dict(os.environ)
        km = AsyncKernelManager(kernel_name="python3")
        with self.log.open("ab") as log:  # the kernel's own stderr (start-up chatter), not the cells' output
            run_sync(km.start_kernel)(
                cwd=str(self.cwd), stderr=log, env={**os.environ, KEEP_OPEN: "1"}, extra_arguments=_KERNEL_ARGUMENTS
            )
        self.km = km
        kc = km.client()
        kc.start_channels()
        self.kc = kc
        run_sync(kc.wait_for_ready)(timeout=START_TIMEOUT)
        self.pages = 0

    def stop(self) -> None:
        from jupyter_core.utils import run_sync

        kc, km, self.kc, self.km = self.kc, self.km, None, None
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is not None:
            with contextlib.suppress(Exception):
                run_sync(km.shutdown_kernel)(now=True)

    # -- pages -------------------------------------------------------------------------------------

    def finished_page(self, *, ok: bool) -> None:
        """After a page: clear the namespace for the next one, or replace the kernel after a failure."""
        self.pages += 1
        if not ok or not self._reset():
            self.stop()

    def _reset(self) -> bool:
        from jupyter_core.utils import run_sync

        if self.kc is None or not self.alive():
            return False
        try:
            reply = run_sync(self.kc.execute_interactive)(
                _RESET_CODE, silent=True, store_history=False, timeout=RESET_TIMEOUT, output_hook=lambda msg: None
            )
        except Exception:  # TimeoutError, a dead kernel: a new one next time
            return False
        return reply.get("content", {}).get("status") == "ok"


# What every page imports, and vl-convert's JavaScript runtime started by one tiny chart: paid by each kernel
# once, while the build is still planning (``warm_up``), instead of by its first page. Not Altair: the report
# charts are Vega-Lite dicts (``reporting.vegalite``), so no page needs it.
_WARM_UP_CODE = """
import pandas, vl_convert
import perfcore.reporting.report, perfcore.reporting.charts, perfcore.reporting.display
vl_convert.vegalite_to_svg({"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x"}}})
"""


def warm_up(cwd: Path, log: Path) -> None:
    """Start this process's kernel and import what pages need, so the first page does not wait for it.

    A warm-up that fails costs nothing but the time: the first page then starts a kernel as usual."""
    from jupyter_core.utils import run_sync

    try:
        kernel = worker_kernel(cwd, log)
        run_sync(kernel.kc.execute_interactive)(
            _WARM_UP_CODE, silent=True, store_history=False, timeout=RESET_TIMEOUT, output_hook=lambda msg: None
        )
        if not kernel._reset():  # the first page starts from an empty namespace like every other
            kernel.stop()
    except Exception:
        if _kernel is not None:
            _kernel.stop()


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any], *, cwd: Path, log: Path) -> str | None:
    """papermill runs ``notebook`` into ``output`` in this process's warm kernel; the error in one line, or None.

    A failed page (its own error, a kernel that died or would not start) replaces the kernel for the next
    page. A full disk is the caller's to handle: the exception is raised as it came."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    error = None
    try:
        kernel = worker_kernel(cwd, log)
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            engine_name=ENGINE,
            warm_kernel=kernel,
            execution_timeout=CELL_TIMEOUT,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
        )
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
    except Exception as exc:  # kernel died or would not start, a cell timed out, ...: reported, not raised
        if files.is_disk_full(exc):
            raise
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    if _kernel is not None:
        _kernel.finished_page(ok=error is None)
    return error


_kernel: WarmKernel | None = None


def worker_kernel(cwd: Path, log: Path) -> WarmKernel:
    """This process's warm kernel, made ready for a page (started on first use, stopped at exit)."""
    global _kernel
    if _kernel is None or _kernel.cwd != cwd:
        if _kernel is not None:
            _kernel.stop()
        _kernel = WarmKernel(cwd, log)
        atexit.register(_kernel.stop)
        _register_engine()
    _kernel.ready()
    return _kernel


def _register_engine() -> None:
    """papermill's nbclient engine, handed our running kernel and its client instead of starting one."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man, kernel_name, warm_kernel=None, start_timeout=60, execution_timeout=None, **kwargs
        ):
            client = PapermillNotebookClient(
                nb_man,
                km=warm_kernel.km,
                kernel_name=kernel_name,
                log=logger,
                log_output=False,
                startup_timeout=start_timeout,
                timeout=execution_timeout,
            )
            client.kc = warm_kernel.kc  # with a client already there, nbclient neither starts nor stops one
            return client.execute()

    papermill_engines.register(ENGINE, WarmEngine)
