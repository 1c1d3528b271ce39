"""Loops compiled by numba, loaded on first use, with the numpy path as their fallback.

A kernel is written once as a plain Python function over numpy arrays and wrapped with
:func:`kernel`; callers ask :meth:`Kernel.get` for the compiled function and take their numpy
path when it returns None. numba (and LLVM behind it) is imported only when a search first
needs a kernel, so ``import newsindex``, small searches and the command line's start never pay
for it. Compiled code is cached beside the package's modules (numba's ``cache=True``; a
read-only install caches under the user's cache folder): a fresh process loads it instead of
compiling again.

Compiled code does not check array bounds, so a kernel must itself check every index it takes
from an index file (a doc number, an offset) before using it, and report a bad one to its
caller, which raises :class:`~newsindex.errors.IndexCorruptError`: checksums say the bytes are
the ones written, not that what was written is sound.

``NEWSINDEX_COMPILED=0`` in the environment turns every kernel off (the numpy path answers);
the tests use :func:`disabled` to hold both paths to the same results. ``=large`` loads them
only for a query large enough to repay the load by itself (a process answering one query).
"""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_state = {"available": None, "off": False, "loaded": False}
#: Helpers compiled so far (shared by the kernels that call them).
_helpers: dict[Callable[..., Any], Any] = {}


def available() -> bool:
    """Whether numba can be imported (and kernels are not turned off)."""
    if _state["off"] or os.environ.get("NEWSINDEX_COMPILED", "1") == "0":
        return False
    if _state["available"] is None:
        with _lock:
            if _state["available"] is None:
                try:
                    import numba  # noqa: F401
                except ImportError:  # no wheel for this Python: the numpy path answers
                    _state["available"] = False
                else:
                    _state["available"] = True
    return bool(_state["available"])


def loaded(on: bool | None = None) -> bool:
    """Whether a kernel was asked for in this process (and kernels are on): numba's import
    and LLVM, most of a first kernel's cost, are paid, so a caller that keeps small work on
    its numpy path until then may now compile it too. ``on``: :func:`available`'s answer,
    if the caller has it (reading the environment is a cost on every search)."""
    return bool(_state["loaded"]) and (available() if on is None else on)


def one_query_only() -> bool:
    """Whether the process answers one query (``NEWSINDEX_COMPILED=large``, as the command
    line's search sets it): a caller then loads a kernel only for work large enough to repay
    numba's import and load in that query; one already loaded is used as always."""
    return os.environ.get("NEWSINDEX_COMPILED") == "large"


@contextmanager
def disabled() -> Iterator[None]:
    """Every kernel off inside the block (process-wide): the numpy path answers."""
    before = _state["off"]
    _state["off"] = True
    try:
        yield
    finally:
        _state["off"] = before


class Kernel:
    """A Python function compiled with numba on its first :meth:`get`, with the functions it
    ``calls`` (module-level functions of its own module, compiled first and inlined).

    ``using`` makes a variant: a copy of ``fn`` named ``name`` (numba caches it apart) that
    calls the helper given for a name instead of the module's one of that name. A loop
    that would pick between two ways on every element (a branch numba compiles into a far
    slower loop once both ways are inlined) is compiled once for each way."""

    def __init__(
        self,
        fn: Callable[..., Any],
        calls: tuple[Callable[..., Any], ...] = (),
        name: str | None = None,
        using: dict[str, Callable[..., Any]] | None = None,
    ):
        self.calls = {helper.__name__: helper for helper in calls}
        if using:
            # (Its own globals, so that its helpers' compiled versions are its own.)
            variant = types.FunctionType(fn.__code__, dict(fn.__globals__), name or fn.__name__)
            variant.__qualname__ = variant.__name__
            variant.__module__ = fn.__module__
            variant.__doc__ = fn.__doc__
            fn = variant
            self.calls.update(using)
        self.fn = fn
        self._compiled: Callable[..., Any] | None = None

    def loaded(self) -> bool:
        """Whether :meth:`get` compiled (or loaded) it already: using it costs no more."""
        return self._compiled is not None

    def get(self, on: bool | None = None) -> Callable[..., Any] | None:
        """The compiled function, or None when kernels are unavailable or off (``on``:
        :func:`available`'s answer, if the caller has it)."""
        if not (available() if on is None else on):
            return None
        if self._compiled is None:
            with _lock:
                if self._compiled is None:
                    import numba

                    # A kernel's helpers are looked up by name in its module when it compiles:
                    # their compiled versions take their names there (no Python caller uses
                    # them). Inlined, so a helper in a loop costs what its lines do.
                    for called, helper in self.calls.items():
                        found = _helpers.get(helper)
                        if found is None:
                            found = _helpers[helper] = numba.njit(
                                cache=True, nogil=True, inline="always"
                            )(helper)
                        self.fn.__globals__[called] = found
                    # nogil: threads sharing an Index run kernels side by side; no fastmath,
                    # so floating-point operations happen in the written order and results
                    # equal the numpy path's to the bit.
                    self._compiled = numba.njit(cache=True, nogil=True)(self.fn)
                    _state["loaded"] = True
        return self._compiled


def kernel(
    fn: Callable[..., Any],
    calls: tuple[Callable[..., Any], ...] = (),
    name: str | None = None,
    using: dict[str, Callable[..., Any]] | None = None,
) -> Kernel:
    """``fn`` as a :class:`Kernel` (compiled on first use), calling the helpers ``calls``
    (a variant named ``name`` calling the helpers ``using`` in place of those names)."""
    return Kernel(fn, calls, name, using)
