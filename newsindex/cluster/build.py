"""A distributed build: Dask workers index partitions of the inputs, the caller commits.

The inputs are split into partitions that name what to read (a file, or a range of lines of
a JSON Lines file), never the data: each worker reads its partition itself. A partition
task indexes its articles into a staging sharded layout of its own (one small index per
shard, under the index's ``.staging-*`` folder) and commits it there. When every partition
is done, the caller's :class:`ShardedWriter` adopts the staged segments shard by shard, in
partition order (so a later version of an id replaces an earlier one, as in one process),
linking their files instead of building them again, and commits all shards at once. A lost
worker or a failed partition fails the build before that commit: nothing is visible, and
the staging folder is removed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import IndexSettings
from ..errors import ClusterError, NewsIndexError
from ..handle import Index
from ..ingest import Problem, Record, count_hint, iter_records
from ..ingest.jsonl import read_jsonl
from . import layout
from .writer import SharedBudget

#: Names of files split into line ranges (JSON Lines, one article a line).
_SPLITTABLE = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
#: Problems a build reports in full (the rest are counted).
_PROBLEMS_SHOWN = 20
#: How long a failed build waits for its still-running tasks, and how often it asks.
_SETTLE_SECONDS = 600.0
_SETTLE_POLL = 0.1
#: Largest record read, as ``iter_records``'s default.
_MAX_RECORD_BYTES = 10_000_000


@dataclass(frozen=True)
class Partition:
    """What one task reads: ``path`` whole, or its lines ``[first, stop)`` (stop None: to
    the end) when ``first`` is not None."""

    path: str
    first: int | None = None
    stop: int | None = None

    def __str__(self) -> str:
        if self.first is None:
            return self.path
        return f"{self.path} lines {self.first}..{self.stop or 'end'}"


def partitions(paths: Iterable[str | os.PathLike[str]], wanted: int) -> list[Partition]:
    """About ``wanted`` partitions of ``paths``, in input order. Each input is read whole
    when there are at least ``wanted`` of them: a worker then reads only its own files.
    With fewer, a JSON Lines file is split into line ranges (sized by an estimate of its
    records; the last runs to the end, so the ranges cover the file whatever the estimate):
    a range of a compressed file still decompresses what precedes it, so ranges are cut
    only to keep every worker busy. Anything else (a folder, another format) is one
    partition."""
    items = [str(p) for p in paths]
    per_file = -(-wanted // max(1, len(items)))
    out = []
    for path in items:
        lines = 0
        if per_file > 1 and path.endswith(_SPLITTABLE) and os.path.isfile(path):
            lines = count_hint([path]) or 0
        if lines > 1:
            step = -(-lines // per_file)
            starts = [1 + i * step for i in range(per_file) if i * step < lines]
            for i, first in enumerate(starts):
                stop = starts[i + 1] if i + 1 < len(starts) else None
                out.append(Partition(path, first, stop))
        else:
            out.append(Partition(path))
    return out


def _records(part: Partition) -> Iterator[Record | Problem]:
    if part.first is None:
        yield from iter_records([part.path], on_error="skip")
        return
    first, stop = part.first, part.stop
    for item in read_jsonl(
        part.path,
        mapping=None,
        max_record_bytes=_MAX_RECORD_BYTES,
        lines=lambda n: first <= n,
    ):
        if stop is not None and item.line >= stop:
            return  # the next range's: reading on would only decompress what others read
        yield item


def build_partition(
    staging: str, part: Partition, shards: int, settings: dict, memory_budget: int
) -> dict[str, Any]:
    """Index ``part`` into ``staging`` (one committed index per shard); runs on a worker.
    Returns its counts and problems."""
    out = Path(staging)
    if out.exists():  # a retried task: what a lost attempt wrote is not to be kept
        shutil.rmtree(out)
    # Not ``parents=True``: a task that starts after a failed build removed the staging
    # folder must fail, not create that folder again behind the caller's back.
    out.mkdir()
    stored = IndexSettings.from_stored(settings)
    indexes = [Index.create(out / layout.shard_name(s), stored) for s in range(shards)]
    writers = [ix.writer(memory_budget=memory_budget) for ix in indexes]
    budget = SharedBudget(writers, memory_budget)
    records = 0
    problems: list[str] = []
    nproblems = 0
    try:
        for item in _records(part):
            if isinstance(item, Problem):
                nproblems += 1
                if len(problems) < _PROBLEMS_SHOWN:
                    problems.append(str(item))
                continue
            records += 1
            art = item.article
            budget.add(layout.shard_of(art.id, shards), art)
        for w in writers:
            w.commit()
    finally:
        for w in writers:
            w.rollback()
        for ix in indexes:
            ix.close()
    return {"records": records, "problems": problems, "problem_count": nproblems}


def run_partitions(
    client: Any,
    staging: Path,
    parts: list[Partition],
    shards: int,
    settings: dict,
    memory_budget: int,
) -> list[dict[str, Any]]:
    """Run every partition on the cluster; ClusterError naming the partition if one fails."""
    futures = [
        client.submit(
            build_partition,
            str(staging / f"p{i:05d}"),
            part,
            shards,
            settings,
            memory_budget,
            key=f"newsindex-build-{staging.name}-{i}",
            pure=False,
        )
        for i, part in enumerate(parts)
    ]
    from distributed import as_completed

    index = {future.key: i for i, future in enumerate(futures)}
    results: list[dict[str, Any]] = [{} for _ in futures]
    try:
        # In the order they finish, so the first failure stops the build at once.
        for future in as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except NewsIndexError:
                raise
            except Exception as exc:
                raise ClusterError(
                    f"build of partition {i} ({parts[i]}) failed on the cluster: {exc!r}; "
                    "nothing was committed, run the build again"
                ) from exc
    except BaseException:
        _stop(client, futures, f"newsindex-build-{staging.name}-")
        raise
    return results


def _stop(client: Any, futures: list[Any], prefix: str) -> None:
    """Cancel a failed build's tasks and wait until none still runs.

    Cancelling a task that already runs does not stop its thread: it would go on writing
    into the staging folder after the caller removed it. So the caller waits (bounded)
    until no worker executes a task of this build any more.
    """
    client.cancel(futures)
    deadline = time.monotonic() + _SETTLE_SECONDS
    while time.monotonic() < deadline:
        try:
            running = client.run(_running_keys, prefix=prefix)
        except Exception:  # a worker lost meanwhile: ask the ones left
            time.sleep(_SETTLE_POLL)
            continue
        if not any(running.values()):
            return
        time.sleep(_SETTLE_POLL)


def _running_keys(dask_worker: Any, prefix: str) -> list[str]:
    """Keys of this build's tasks the worker still executes (cancelled ones included)."""
    state = dask_worker.state
    tasks = (*state.executing, *state.long_running)
    return [str(ts.key) for ts in tasks if str(ts.key).startswith(prefix)]
