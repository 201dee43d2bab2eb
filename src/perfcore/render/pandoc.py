"""Running pandoc: one place that finds it, calls it and turns its failures into BuildError."""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfcore.exceptions import BuildError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LUA_FILTER = TEMPLATES / "perfcore.lua"
WRITERS = TEMPLATES / "writers.lua"  # one pandoc process, several formats: see write_formats
# Pipe tables whose source lines are wider than --columns get relative column
# widths from their dashes; a wide setting keeps every table "auto" width in
# both formats, so columns fit their content. (For the PDF, perfcore.lua then
# gives columns of long text the remaining width, see Table there.)
READER_ARGS = ("--from", "markdown", "--columns", "10000")


@dataclass(frozen=True)
class PandocResult:
    output: str
    warnings: tuple[str, ...]


@functools.cache
def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc-binary (no system pandoc needed)."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise BuildError("pandoc not found: install the pypandoc-binary package") from exc


def run_pandoc(
    source: str, *, to: str, args: Sequence[str] = (), what: str, reader: Sequence[str] = READER_ARGS
) -> PandocResult:
    """Convert ``source`` with pandoc; ``what`` names the page in any error."""
    command = [pandoc_path(), *reader, "--to", to, *args]
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, check=False)
    except OSError as exc:
        raise BuildError(f"{what}: could not run pandoc: {exc}") from exc
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        # pandoc puts the where on one line and the what on the next: keep both on one line
        first = " ".join(stderr.splitlines()[:3]) if stderr else f"exit status {done.returncode}"
        raise BuildError(f"{what}: pandoc could not convert to {to}: {first}") from subprocess.CalledProcessError(
            done.returncode, command, stderr=stderr
        )
    warnings = tuple(line for line in stderr.splitlines() if line.strip())
    return PandocResult(done.stdout.decode("utf-8"), warnings)


@dataclass(frozen=True)
class WriterRun:
    """One output format and what ``pandoc --to FORMAT`` would be given for it: template, Lua filters,
    ``--metadata``, ``-V`` variables, ``--toc``/``--toc-depth``, ``--section-divs``."""

    to: str
    template: Path | None = None
    filters: tuple[Path, ...] = (LUA_FILTER,)
    metadata: tuple[tuple[str, str], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    toc: bool = False
    toc_depth: int | None = None
    section_divs: bool = False

    def to_json(self) -> dict:
        """For ``writers.lua``: what is not set is left out (JSON's null is not Lua's nil)."""
        fields = {
            "format": self.to,
            "template": str(self.template) if self.template else None,
            "filters": [str(f) for f in self.filters],
            "metadata": dict(self.metadata),
            "variables": dict(self.variables),
            "toc": self.toc,
            "toc_depth": self.toc_depth,
            "section_divs": self.section_divs,
        }
        return {key: value for key, value in fields.items() if value is not None}


def write_formats(markdown: str, runs: Sequence[WriterRun], *, what: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The markdown read once and written in each run's format, all in one pandoc process
    (``templates/writers.lua``); returns (the outputs in the runs' order, pandoc's warnings).

    Reading the markdown is the largest part of a pandoc run: a page read once and written twice (HTML
    and Typst) costs about a fifth less than a run per format, and two fewer processes."""
    separator = f"\n<!--{secrets.token_hex(16)}-->\n"  # chosen per call: no text on the page can forge it
    plan = json.dumps({"separator": separator, "runs": [run.to_json() for run in runs]})
    command = [pandoc_path(), *READER_ARGS, "--to", str(WRITERS)]
    try:
        done = subprocess.run(
            command,
            input=markdown.encode("utf-8"),
            capture_output=True,
            check=False,
            env={**os.environ, "PERFCORE_PANDOC_RUNS": plan},
        )
    except OSError as exc:
        raise BuildError(f"{what}: could not run pandoc: {exc}") from exc
    formats = " and ".join(run.to for run in runs)
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        first = " ".join(stderr.splitlines()[:3]) if stderr else f"exit status {done.returncode}"
        raise BuildError(f"{what}: pandoc could not convert to {formats}: {first}") from subprocess.CalledProcessError(
            done.returncode, command, stderr=stderr
        )
    outputs = tuple(done.stdout.decode("utf-8").split(separator))
    if len(outputs) != len(runs):
        raise BuildError(f"{what}: pandoc gave {len(outputs)} outputs for {len(runs)} formats ({formats})")
    return outputs, tuple(line for line in stderr.splitlines() if line.strip())
