"""Scale out on Dask (issue 16): build and search figures of sharded indexes.

Build: one process (an ``Index`` writer fed by ``iter_records``, as ``newsindex index``)
against ``ShardedIndex.build`` on a LocalCluster of W worker processes; wall time, docs/s,
CPU-seconds per 1,000 stories (this process's CPU, with the scheduler and nannies, plus
every worker's, counted by ``getrusage`` of this process's children once the cluster is
closed; the same build of an empty file, the cluster's start-up and shutdown, subtracted)
and the segments the index holds in all::

    python3 -m benchmarks.cluster_bench build CORPUS.jsonl.gz OUT --workers 0|2|4 [--shards 4]

Search: q/s and latency percentiles of one index, the same articles in a sharded index
searched in this process, and on a LocalCluster (shards held by Dask actors), where the
same queries then run a second time (their words met before: the coordinator knows their
statistics, the workers have read their postings)::

    python3 -m benchmarks.cluster_bench search CORPUS ONE_INDEX SHARDED_INDEX [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import time
from pathlib import Path

import newsindex


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _cpu_with_children() -> float:
    """This process's CPU and its finished children's (a LocalCluster's workers, once it is
    closed: they are this process's children, reaped when it stops them)."""
    return _cpu() + _cpu(resource.RUSAGE_CHILDREN)


def _sharded_build(
    corpus: str, out: Path, workers: int, shards: int
) -> tuple[float, float, newsindex.Index]:
    """Wall, CPU (this process, the scheduler and nannies in it, every worker) and the index
    of ``ShardedIndex.build`` on the LocalCluster it starts, as ``newsindex index --workers``."""
    cpu, t = _cpu_with_children(), time.perf_counter()
    ix = newsindex.ShardedIndex.create(out, shards=shards)
    ix.build([corpus], workers=workers)
    wall, used = time.perf_counter() - t, _cpu_with_children() - cpu
    return wall, used, ix


def build(corpus: str, out: Path, workers: int, shards: int) -> dict:
    if workers == 0:
        cpu, t = _cpu(), time.perf_counter()
        ix = newsindex.Index.create(out)
        with ix.writer() as w:
            for item in newsindex.iter_records([corpus], on_error="skip"):
                if isinstance(item, newsindex.Record):
                    w.add(item.article)
        wall, used = time.perf_counter() - t, _cpu() - cpu
        idle = 0.0
    else:
        # The same build of an empty file first: the cluster's start-up and shutdown (worker
        # processes importing Python, numpy, Dask, newsindex), which is not per story.
        empty = out.with_name(out.name + "-empty.jsonl")
        empty.write_bytes(b"")
        try:
            _, idle, _ = _sharded_build(
                str(empty), out.with_name(out.name + "-empty"), workers, shards
            )
        finally:
            empty.unlink()
        wall, used, ix = _sharded_build(corpus, out, workers, shards)
        used -= idle
    docs, stats = len(ix), ix.stats()
    return {
        "workers": workers,
        "shards": shards if workers else 1,
        "docs": docs,
        "wall_s": round(wall, 1),
        "docs_per_s": round(docs / wall),
        "cpu_s": round(used, 1),
        "cpu_s_per_1000": round(used / docs * 1000, 4),
        "cluster_idle_cpu_s": round(idle, 1),
        "segments": stats["segments"],
        "load_avg": os.getloadavg()[0],
    }


def _queries(corpus: str, n: int) -> list[str]:
    """1-3 title words of random stories among the corpus's first 20,000, as people type."""
    rng = random.Random(16)
    titles = []
    for item in newsindex.iter_records([corpus], on_error="skip"):
        if isinstance(item, newsindex.Record):
            words = [w for w in item.article.title.lower().split() if w.isalpha()]
            if words:
                titles.append(words)
            if len(titles) >= 20_000:
                break
    return [" ".join(rng.sample(t, min(len(t), rng.randint(1, 3)))) for t in rng.sample(titles, n)]


def _time(ix: newsindex.Index, queries: list[str]) -> dict:
    for q in queries[:20]:
        ix.search(q)
    lat = []
    t = time.perf_counter()
    for q in queries:
        s = time.perf_counter()
        ix.search(q, limit=10)
        lat.append((time.perf_counter() - s) * 1000)
    wall = time.perf_counter() - t
    lat.sort()
    return {
        "qps": round(len(queries) / wall, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(lat[int(len(lat) * 0.95)], 2),
    }


def search(corpus: str, one_path: Path, sharded_path: Path, n: int, workers: int) -> dict:
    from distributed import Client, LocalCluster

    one = newsindex.Index.open(one_path)
    queries = _queries(corpus, n)
    local = newsindex.Index.open(sharded_path)
    out = {
        "queries": n,
        "one_index": _time(one, queries),
        "sharded_in_process": _time(local, queries),
    }
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        remote = newsindex.Index.open(sharded_path, scheduler=client)
        out["sharded_on_localcluster"] = _time(remote, queries)
        # The same queries again: every word met before, on the coordinator and the workers.
        out["sharded_on_localcluster_again"] = _time(remote, queries)
        out["shards"] = remote.shards  # type: ignore[attr-defined]
        out["workers"] = workers
        remote.close()
    finally:
        client.close()
        cluster.close()
    out["load_avg"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.cluster_bench")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("corpus")
    b.add_argument("out", type=Path)
    b.add_argument("--workers", type=int, default=0)
    b.add_argument("--shards", type=int, default=4)
    s = sub.add_parser("search")
    s.add_argument("corpus")
    s.add_argument("one", type=Path)
    s.add_argument("sharded", type=Path)
    s.add_argument("--queries", type=int, default=300)
    s.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    if a.cmd == "build":
        print(json.dumps(build(a.corpus, a.out, a.workers, a.shards)))
    else:
        print(json.dumps(search(a.corpus, a.one, a.sharded, a.queries, a.workers)))


if __name__ == "__main__":
    main()
