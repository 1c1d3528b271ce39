"""Creating index files without ever writing through a link someone planted."""

from __future__ import annotations

import os
from pathlib import Path

_NEW = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def create_new(path: Path, mode: int = 0o644) -> int:
    """A write descriptor on a file just created at ``path``.

    ``O_EXCL`` never opens an existing file and never follows a symbolic link (dangling or not),
    so a link planted at ``path`` cannot redirect the write to its target. Whatever is already
    there (a file a killed commit left, or a link) is removed first: the link itself, never
    its target. If something appears again in between, the create fails rather than follow it.
    """
    try:
        return os.open(path, _NEW, mode)
    except FileExistsError:
        os.unlink(path)
        return os.open(path, _NEW, mode)


def create_scratch(path: Path) -> int:
    """A read-write descriptor on a file just created at ``path``, with :func:`create_new`'s
    care: for scratch data a writer writes and reads back itself."""
    flags = (_NEW & ~os.O_WRONLY) | os.O_RDWR
    try:
        return os.open(path, flags, 0o600)
    except FileExistsError:
        os.unlink(path)
        return os.open(path, flags, 0o600)
