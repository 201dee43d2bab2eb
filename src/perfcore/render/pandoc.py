"""Running pandoc: one place that finds it, calls it and turns its failures into BuildError."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfcore.exceptions import BuildError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LUA_FILTER = TEMPLATES / "perfcore.lua"
# Pipe tables whose source lines are wider than --columns get relative column
# widths from their dashes; a wide setting keeps every table "auto" width in
# both formats, so columns fit their content. (For the PDF, perfcore.lua then
# gives columns of long text the remaining width, see Table there.)
READER_ARGS = ("--from", "markdown", "--columns", "10000")
# A page's markdown is read once into pandoc's document (``read_markdown``), then written twice (HTML, Typst)
# from that: reading the markdown is most of a pandoc run's time, reading its JSON a small part.
AST_READER = ("--from", "json", "--columns", "10000")  # the same line width as READER_ARGS for the writers


def read_markdown(markdown: str, *, what: str) -> PandocResult:
    """The markdown as pandoc's JSON document, for ``run_pandoc(..., reader=AST_READER)``."""
    return run_pandoc(markdown, to="json", what=what)


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
