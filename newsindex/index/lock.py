"""The single-writer lock: an advisory ``flock`` on the index folder and on ``write.lock``.

The kernel drops a ``flock`` when its process dies, so a lock left by a killed writer is never
stale: the next writer simply gets it. The folder itself is locked because a careless
``rm write.lock`` while a writer works would otherwise let a second writer lock a fresh file
and both would commit (the folder cannot be removed while it holds an index). ``write.lock``
is still locked too, so writers of older versions, which lock only that file, are excluded as
well, and it records the holder's pid for error messages. It is opened without following a
symbolic link: a link planted there is replaced, its target never written.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from pathlib import Path

from ..errors import LockError
from .files import create_new

LOCK_NAME = "write.lock"

# Lock descriptors held by this process. A forked child (an analysis worker) must not keep
# the lock alive after its parent dies, so children close them (close, not unlock: unlocking
# would release the parent's lock too).
_HELD: set[int] = set()


def _close_inherited() -> None:
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class WriteLock:
    def __init__(self, folder: Path, timeout: float = 0.0):
        self.path = folder / LOCK_NAME
        self._folder_fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
        self._fd = -1
        try:
            self._acquire(self._folder_fd, folder, timeout)
            self._fd = self._open_lock_file()
            self._acquire(self._fd, folder, timeout)
        except BaseException:
            self.release()
            raise
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def _acquire(self, fd: int, folder: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _HELD.add(fd)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    raise LockError(
                        f"{folder}: another writer holds the index lock"
                        + (f" (pid {holder})" if holder else "")
                        + (f"; waited {timeout:g}s" if timeout else "")
                    ) from None
                time.sleep(0.05)

    def _open_lock_file(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            # A symbolic link: we hold the folder lock, so replacing it races no writer of
            # this version; the link's target is never opened.
            os.close(create_new(self.path))
            fd = os.open(self.path, os.O_RDWR | _NOFOLLOW | _CLOEXEC)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LockError(f"{self.path}: not a regular file; remove it")
        return fd

    def _holder(self) -> str:
        try:
            with open(self.path, "rb", opener=_nofollow) as fh:
                return fh.read(32).decode().strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def release(self) -> None:
        for attr in ("_fd", "_folder_fd"):
            fd = getattr(self, attr)
            if fd >= 0:
                _HELD.discard(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)
                setattr(self, attr, -1)


def _nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | _NOFOLLOW | _CLOEXEC)
