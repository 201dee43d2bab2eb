"""Text for an operator's terminal: nothing a submitted file holds can drive it.

File names, CSV fields and the reasons quoting them come from outside. Printed
raw, an ESC or C1 sequence could retitle or clear the terminal, a bidi override
could reorder what the operator reads, and a newline could forge a line of
output. ``safe`` shows every such character as a visible escape (``\\x1b``,
``\\u202e``); ``guarded_output`` applies the same rule, newlines kept, to
everything the CLI writes while it runs.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe(text: str) -> str:
    """``text`` as one line with every control and invisible format character escaped.

    Escaped: C0 and C1 controls, DEL, newlines and tabs, format characters (bidi
    overrides, zero-width spaces), line and paragraph separators, lone surrogates
    (file names that were not UTF-8), private-use and unassigned code points.
    Printable text, accents and spaces of every script stay as they are.
    """
    if text.isprintable():  # the common case, at C speed
        return text
    return "".join(_escape(ch) for ch in text)


def safe_lines(text: str) -> str:
    """Like ``safe`` but keeps newlines: for output already laid out in lines."""
    if text.isprintable():
        return text
    return "\n".join(safe(line) for line in text.split("\n"))


def _escape(ch: str) -> str:
    if ch.isprintable() or unicodedata.category(ch) == "Zs":
        return ch
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class SafeWriter:
    """A text stream that escapes what it is given (newlines kept) before writing it on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        # a terminal that cannot show a character gets its escape rather than a crash
        self._encoding = None if encoding in {"utf-8", "utf8"} else encoding

    def write(self, text: str) -> int:
        shown = safe_lines(text)
        if self._encoding:
            shown = shown.encode(self._encoding, "backslashreplace").decode(self._encoding)
        self._stream.write(shown)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):  # isatty, fileno, encoding, ... of the real stream
        return getattr(self._stream, name)


@contextmanager
def guarded_output() -> Iterator[None]:
    """While inside, ``sys.stdout`` and ``sys.stderr`` escape control characters."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeWriter(stdout), SafeWriter(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def table_lines(rows: list[dict], columns: list[str]) -> list[str]:
    """A plain-text table: a header and one line per row, every cell through ``safe`` (one line whatever it holds)."""
    cells = [["" if row.get(c) is None else safe(str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in [columns, *cells]]
