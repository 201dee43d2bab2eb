"""Writing files so that no reader ever sees half of one.

Every file the build publishes is written to a temporary file in the same
folder and then moved over the old one with ``os.replace`` (atomic on POSIX):
a reader sees the old file or the new one, and a write that fails (disk full,
the build stopped) leaves the old file as it was and no temporary file behind.
A full disk or quota (ENOSPC, EDQUOT) becomes ``StorageFull``: one line for the
user instead of a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from perfcore.exceptions import StorageFull

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
TEMPORARY_SUFFIX = ".tmp"


def is_disk_full(error: BaseException | None) -> bool:
    """A full disk or quota, also when a library wrapped the OSError in its own exception."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def storage_full(path: Path, error: BaseException) -> StorageFull:
    code = getattr(error, "errno", None)
    return StorageFull(
        f"{path}: no space left on the disk or quota ({errno.errorcode.get(code, 'ENOSPC')}); "
        "free some space and run again (files already there were left as they were)"
    )


@contextlib.contextmanager
def disk_full_is_one_line(path: Path) -> Iterator[None]:
    """Turn a full disk while writing ``path`` (or a folder) into ``StorageFull``."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            raise storage_full(path, error) from error
        raise


def make_folder(path: Path) -> Path:
    with disk_full_is_one_line(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def temporary_beside(path: Path) -> Path:
    """A hidden, unused name in the same folder (so the final rename stays on one file system),
    keeping the suffix (papermill, for one, wants .ipynb)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}{path.suffix}")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write; on success it replaces ``path``, on any failure it is removed."""
    make_folder(path.parent)
    temporary = temporary_beside(path)
    try:
        with disk_full_is_one_line(path):
            yield temporary
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def open_replacing(path: Path, mode: str = "w", **options) -> Iterator[IO]:
    """``open`` for writing, atomically: the file appears whole when the block ends without error."""
    with replacing(path) as temporary, temporary.open(mode, **options) as handle:
        yield handle


def write_bytes(path: Path, data: bytes) -> Path:
    with open_replacing(path, "wb") as handle:
        handle.write(data)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it (a rebuild with nothing changed writes nothing,
    so freeze and the site's own state see no change); True when it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass  # not there yet (or unreadable): write it
    write_bytes(path, data)
    return True


def copy_file(source: Path, target: Path) -> Path:
    with replacing(target) as temporary:
        shutil.copyfile(source, temporary)
    return target


def copy_if_changed(source: Path, target: Path) -> Path:
    """``copy_file``, unless ``target`` is already a copy made after ``source`` last changed (same size,
    written later): a rebuild with nothing changed copies nothing (DWP's PDFs were most of its time)."""
    if not is_copy_of(target, source):
        copy_file(source, target)
    return target


def is_copy_of(target: Path, source: Path) -> bool:
    """``target`` is there with ``source``'s size and was written after ``source`` last changed."""
    try:
        have, want = target.stat(), source.stat()
    except FileNotFoundError:
        return False
    return have.st_size == want.st_size and have.st_mtime_ns >= want.st_mtime_ns


def remove_leftovers(folder: Path, *also: str) -> None:
    """Temporary files and folders a killed process could not remove (SIGKILL runs no cleanup);
    ``also``: names of further scratch folders directly under ``folder``."""
    if not folder.exists():
        return
    for leftover in [*_temporaries(str(folder)), *(folder / name for name in also)]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _temporaries(folder: str) -> Iterator[Path]:
    """``temporary_beside``'s names anywhere under ``folder`` (os.scandir: a site holds tens of thousands of
    files, and pathlib's rglob took a tenth of a no-change rebuild)."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name.startswith(".") and TEMPORARY_SUFFIX in entry.name:
            yield Path(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            yield from _temporaries(entry.path)
