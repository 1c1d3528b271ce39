"""The small interface every engine adapter implements, and shared helpers."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable
from pathlib import Path

from ..corpus import dir_size


class EngineUnavailable(RuntimeError):
    """The engine's package is missing, or the corpus is outside what the engine can handle."""


class Unsupported(RuntimeError):
    """The engine cannot run this kind of query (e.g. phrases in a bag-of-words engine)."""


class Engine:
    """One search engine behind a common interface.

    Adapters are deliberately thin: they configure the engine as close to newsindex's analysis
    as it allows (Lucene's 33 stop words, English stemming, title + body) and translate the
    harness's plain query string into the engine's own query, nothing more. No adapter caches
    results: every call goes to the engine.
    """

    name = "base"
    #: Importable modules the adapter needs; a missing one skips the engine with a message.
    requires: tuple[str, ...] = ()
    #: What a search process imports up front (None: ``requires``), when it needs less.
    search_requires: tuple[str, ...] | None = None
    #: Largest corpus the engine is run on (None: no limit).
    max_docs: int | None = None
    supports_phrase = False
    #: Built for its size only: the harness does not time searches on it.
    size_only = False

    def __init__(self, k1: float = 1.2, b: float = 0.75, title_weight: float = 1.0):
        # Every peer gets the same BM25 parameters where it lets us set them; 1.2/0.75 is what
        # tantivy and FTS5 hard-code, so this keeps all of them on one setting.
        self.k1, self.b, self.title_weight = k1, b, title_weight
        self.workdir: Path | None = None

    # -- availability -------------------------------------------------------------------------
    @classmethod
    def missing(cls, phase: str = "build") -> str | None:
        """Why the engine cannot run here, or None if it can (``phase``: "build" or "search",
        which imports ``search_requires`` when the engine sets it)."""
        modules = (
            cls.search_requires
            if phase == "search" and cls.search_requires is not None
            else cls.requires
        )
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                return f"{cls.name}: package {module!r} is not installed ({exc})"
        return None

    def check_corpus(self, n_docs: int) -> None:
        """Raise :class:`EngineUnavailable` when the corpus is too large for this engine."""
        if self.max_docs is not None and n_docs > self.max_docs:
            raise EngineUnavailable(
                f"{self.name}: skipped, corpus has {n_docs:,} docs > limit {self.max_docs:,} "
                "(it scores every document per query)"
            )

    # -- the interface ------------------------------------------------------------------------
    def describe(self) -> dict:
        """What the engine is and how it was configured (version, analysis, scoring, storage)."""
        raise NotImplementedError

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        """Index ``docs`` into ``workdir`` (created empty by the caller); returns stats."""
        raise NotImplementedError

    def open(self, workdir: Path) -> None:
        """Open a built index for searching."""
        raise NotImplementedError

    def search(self, query: str, k: int) -> list[str]:
        """Top-``k`` doc ids for a plain query (space-separated words, any may match)."""
        raise NotImplementedError

    def search_filtered(
        self,
        query: str,
        k: int,
        date_from: dt.date | None,
        date_to: dt.date | None,
        section: str | None,
    ) -> list[str]:
        """Like :meth:`search`, restricted to ``date_from <= day <= date_to`` and ``section``."""
        raise NotImplementedError

    def search_phrase(self, query: str, k: int) -> list[str]:
        """Top-``k`` doc ids containing the words of ``query`` as an exact phrase."""
        raise Unsupported(f"{self.name} has no phrase queries")

    def size_bytes(self) -> int:
        """Bytes on disk of the built index."""
        return dir_size(self.workdir) if self.workdir else 0

    def close(self) -> None:
        """Release files and memory (the harness calls this before deleting the index)."""


def version_of(dist: str) -> str:
    """Installed version of a distribution, or '?'."""
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001 - any failure just means "unknown"
        return "?"


def day_ordinal(day: dt.date | None, missing: int = -1) -> int:
    """A date as an int (proleptic ordinal) for numpy masks; ``missing`` for None."""
    return day.toordinal() if day else missing
