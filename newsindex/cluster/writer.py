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


class SharedBudget:
    """One memory budget shared by the writers of a sharded write, by need.

    Each shard's writer may buffer up to the whole budget; when their buffers together
    reach it, the largest is written out. A budget split into 1/S per shard would write
    every segment at 1/S of one writer's size; this way segments come out about 2/(S+1)
    of it (what the steady state of writing out the largest of S evenly fed buffers
    gives), and the buffers never hold more than one writer would. The writers also share
    one cache of analyzed words, so each word is analyzed once, not once per shard.
    """

    def __init__(self, writers: list[IndexWriter], budget: int):
        for w in writers[1:]:
            w.share_vocabulary(writers[0])
        self._writers = writers
        self._budget = budget
        self._costs = [w.buffered_bytes for w in writers]
        self._total = sum(self._costs)

    def add(self, shard: int, article: Article) -> None:
        w = self._writers[shard]
        w.add(article)  # (which writes out its own buffer if that alone reaches the budget)
        self.changed(shard)
        costs = self._costs
        while self._total >= self._budget:
            largest = max(range(len(costs)), key=costs.__getitem__)
            self._writers[largest].flush()
            self.changed(largest)

    def changed(self, shard: int) -> None:
        """Take note of a change to ``shard``'s buffer made past :meth:`add`."""
        cost = self._writers[shard].buffered_bytes
        self._total += cost - self._costs[shard]
        self._costs[shard] = cost


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
            for ref in self._base.shards:
                self._writers.append(
                    IndexWriter(
                        folder / ref.name, settings, timeout=timeout, memory_budget=memory_budget
                    )
                )
            self._budget = SharedBudget(self._writers, memory_budget)
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

    @property
    def buffered_bytes(self) -> int:
        """Estimated peak bytes of writing out every shard's buffer: stays under the
        writer's ``memory_budget``, which the shards share by need (:class:`SharedBudget`)."""
        return sum(w.buffered_bytes for w in self._writers)

    def add(self, article: Article | Mapping[str, Any]) -> None:
        """Add an article (an :class:`Article` or a dict); an existing id is replaced."""
        self._check_open()
        art = Article.from_dict(article)
        self._budget.add(layout.shard_of(art.id, len(self._writers)), art)

    def delete(self, article_id: str) -> None:
        """Delete the article with this id (no error if there is none)."""
        self._check_open()
        check_type("article_id", article_id, str, "a string")
        shard = layout.shard_of(article_id, len(self._writers))
        self._writers[shard].delete(article_id)
        self._budget.changed(shard)

    def flush(self) -> None:
        """Write every shard's buffered articles out as segments (invisible until commit)."""
        self._check_open()
        for i, w in enumerate(self._writers):
            w.flush()
            self._budget.changed(i)

    def adopt(self, staged: Path) -> int:
        """Add the articles of a staged partition (``staged/shard-NNN``, one committed index
        per shard, as a distributed build's workers write them) in their order; see
        :meth:`IndexWriter.adopt`. Returns how many articles were adopted."""
        self._check_open()
        adopted = 0
        for i, w in enumerate(self._writers):
            adopted += w.adopt(Path(staged) / layout.shard_name(i))
            self._budget.changed(i)
        return adopted

    def optimize(self) -> None:
        """Merge each shard into one segment when this writer commits."""
        self._check_open()
        for w in self._writers:
            w.optimize()

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
