"""The single-writer lock: an advisory ``flock`` on ``write.lock``.

The kernel drops a ``flock`` when its process dies, so a lock left by a killed writer is never
stale: the next writer simply gets it. The file records the holder's pid for error messages.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..errors import LockError

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


class WriteLock:
    def __init__(self, folder: Path, timeout: float = 0.0):
        self.path = folder / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    os.close(self._fd)
                    self._fd = -1
                    raise LockError(
                        f"{folder}: another writer holds the index lock"
                        + (f" (pid {holder})" if holder else "")
                        + (f"; waited {timeout:g}s" if timeout else "")
                    ) from None
                time.sleep(0.05)
        _HELD.add(self._fd)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def _holder(self) -> str:
        try:
            return os.pread(self._fd, 32, 0).decode().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd >= 0:
            _HELD.discard(self._fd)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
