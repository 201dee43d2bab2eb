"""Every error perfcore raises on purpose, under one base.

The hierarchy::

    PerfcoreError                 anything perfcore reports to a user (the CLI prints one line)
    ├── ConfigError               a parameters file (consortium, framework, thresholds, ...) is wrong
    ├── SubmissionError           a submitted file cannot be accepted as a whole
    │   ├── FileRejected          file-level rule broken: not well-formed, not valid, DTD,
    │   │                         not a member, period in the future, bad CSV header
    │   └── ConflictingSubmission same or lower Sequence with different content
    ├── WarehouseError            the DuckDB warehouse cannot be opened, read or written
    ├── IndicatorError            an indicator was asked for something it cannot compute
    ├── AnalyticsError            a statistical method was asked for what the data cannot give
    │   └── InsufficientData      too few months before/after, too few councils, ...
    ├── BuildError                a notebook or render step failed (the build records it and goes on)
    │   └── BuildStopped          the build was stopped (SIGTERM, Ctrl-C): finished pages stay published
    ├── MailError                 e-mail intake: a held message that is not held, a relay that refuses a receipt
    ├── AccessError               a user, role or access-control request is wrong (unknown council, weak password, ...)
    └── StorageFull               the disk or quota is full: the write was abandoned, nothing half-written

Errors from lxml, DuckDB, papermill or pandoc are turned into these at the
boundary with ``raise ... from``, so the cause is kept for debugging while the
message says what happened, where, and what to do.
"""

from __future__ import annotations

import os


class PerfcoreError(Exception):
    """Base of every error perfcore reports. Its ``str`` is one line for a person."""


class ConfigError(PerfcoreError):
    """A configuration file (``parameters/``, ``_quarto.yml``) is missing, malformed or inconsistent.

    ``file`` and ``key`` (a dotted path such as ``spc.baseline_points``) say
    where, when the error is about a file; the message starts with them.
    """

    def __init__(self, message: str, *, file: str | os.PathLike[str] | None = None, key: str | None = None) -> None:
        self.file = str(file) if file is not None else None
        self.key = key or None
        where = ": ".join(part for part in (self.file, self.key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class SubmissionError(PerfcoreError):
    """A submitted file cannot be accepted. Carries where the problem is."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        # What was known of the submission when it failed (authority, period, sequence),
        # so the rejection can still be filed under its council and month.
        self.context: dict[str, object] = {}
        super().__init__(self.describe())

    def describe(self, *, with_file: bool = True) -> str:
        """'file, line 12, field Claim@decided: what is wrong (what to do)'."""
        parts = [self.file or "<input>"] if with_file else []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field {self.field}")
        text = f"{', '.join(parts)}: {self.reason}" if parts else self.reason
        if self.hint:
            text += f" ({self.hint})"
        return text


class FileRejected(SubmissionError):
    """A file-level rule was broken: nothing of the file is loaded."""


class ConflictingSubmission(SubmissionError):
    """Same or lower Sequence than an accepted submission, with different content."""


class WarehouseError(PerfcoreError):
    """The warehouse could not be opened, read or written."""


class IndicatorError(PerfcoreError):
    """An indicator was requested that the framework or the data cannot give."""


class AnalyticsError(PerfcoreError):
    """A statistical method cannot give a sound answer for this request."""


class InsufficientData(AnalyticsError):
    """Too few observations (months, councils) for the method to be honest."""


class BuildError(PerfcoreError):
    """A notebook or a render step failed."""


class BuildStopped(BuildError):
    """The build was stopped by a signal before it finished."""


class StorageFull(PerfcoreError):
    """No space left on the disk (or the quota is used up) while writing a file."""


class AccessError(PerfcoreError):
    """Users, roles or the web server's access control: bad input changes nothing."""


class MailError(PerfcoreError):
    """E-mail intake could not do what was asked; what was received is still kept."""
