"""Writing a sharded index: one IndexWriter per shard, committed in two phases."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..article import Article
from ..config import IndexSettings
from ..errors import WriterClosedError, check_int, check_number, check_type
from ..index.lock import WriteLock
from ..index.writer import DEFAULT_MEMORY_BUDGET, IndexWriter
from . import layout


class ShardedWriter:
    """The single writer of a sharded index (``ShardedIndex.writer()``): ``add``, ``delete``,
    ``commit``, ``rollback``, a context manager, as :class:`IndexWriter`.

    Each article goes to the shard its id hashes to. The commit is two-phase: every shard
    commits a generation no reader looks at yet, then one atomic write of the cluster manifest
    names them all. The writer holds the sharded index's lock and every shard's.
    """

    def __init__(
        self,
        folder: Path,
        settings: IndexSettings,
        *,
        on_commit: Callable[[], object] | None = None,
        timeout: float = 0.0,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ):
        timeout = check_number("timeout", timeout, 0, finite=False)
        memory_budget = check_int("memory_budget", memory_budget, 1)
        self._folder = folder
        self._on_commit = on_commit
        self._lock = WriteLock(folder, timeout)
        self._writers: list[IndexWriter] = []
        self._closed = False
        try:
            self._base = layout.read_latest(folder)
            layout.remove_stale_staging(folder)
            # Shard commits of a write that crashed before its cluster manifest: never seen
            # by a reader, and not to be built upon.
            for ref in self._base.shards:
                layout.roll_back_shard(folder / ref.name, ref.generation)
            budget = max(1, memory_budget // len(self._base.shards))
            for ref in self._base.shards:
                self._writers.append(
                    IndexWriter(folder / ref.name, settings, timeout=timeout, memory_budget=budget)
                )
        except BaseException:
            self._release()
            raise

    @property
    def shards(self) -> int:
        return len(self._base.shards)

    @property
    def added(self) -> int:
        return sum(w.added for w in self._writers)

    @property
    def replaced(self) -> int:
        return sum(w.replaced for w in self._writers)

    def add(self, article: Article | Mapping[str, Any]) -> None:
        """Add an article (an :class:`Article` or a dict); an existing id is replaced."""
        self._check_open()
        art = Article.from_dict(article)
        self._writers[layout.shard_of(art.id, len(self._writers))].add(art)

    def delete(self, article_id: str) -> None:
        """Delete the article with this id (no error if there is none)."""
        self._check_open()
        check_type("article_id", article_id, str, "a string")
        self._writers[layout.shard_of(article_id, len(self._writers))].delete(article_id)

    def adopt(self, staged: Path) -> int:
        """Add the articles of a staged partition (``staged/shard-NNN``, one committed index
        per shard, as a distributed build's workers write them) in their order; see
        :meth:`IndexWriter.adopt`. Returns how many articles were adopted."""
        self._check_open()
        return sum(
            w.adopt(Path(staged) / layout.shard_name(i)) for i, w in enumerate(self._writers)
        )

    def commit(self) -> None:
        """Make every change visible atomically (on all shards at once), then release the locks."""
        self._check_open()
        try:
            refs = []
            for ref, w in zip(self._base.shards, self._writers):
                w.commit()  # phase 1: a shard generation no cluster manifest names yet
                refs.append(layout.ShardRef(ref.name, ref.generation + 1))
            # phase 2: the commit point.
            layout.write(
                self._folder, layout.ClusterManifest(self._base.generation + 1, tuple(refs))
            )
        except BaseException:
            self._rollback_quietly()
            raise
        try:
            layout.collect_garbage(self._folder)
        finally:
            self._release()
        if self._on_commit is not None:
            self._on_commit()

    def rollback(self) -> None:
        """Discard every change since the writer opened and release the locks."""
        if self._closed:
            return
        self._rollback_quietly()

    def _rollback_quietly(self) -> None:
        try:
            for w in self._writers:
                w.rollback()
        finally:
            self._release()

    def _release(self) -> None:
        self._closed = True
        self._lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise WriterClosedError("this writer was already committed or rolled back")

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
