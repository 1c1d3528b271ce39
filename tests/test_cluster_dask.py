"""Sharded indexes on a Dask LocalCluster (issue 16): searches held in actors answer as one
index, distributed builds equal one process's, and lost workers fail cleanly."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.cluster import layout
from newsindex.cluster.build import _running_keys
from tests.cluster_helpers import (
    assert_same_answers,
    assert_same_duplicates,
    assert_same_results,
    batches,
    build,
    copies_of,
    searches,
)

ROOT = Path(newsindex.__file__).resolve().parents[1]
FEW = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="session")
def client():
    """One LocalCluster of two worker processes for the session. A task on a lost worker is
    not retried (allowed-failures 0), so a killed worker fails what it was running."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
            try:
                cluster.close()
            except KeyError as exc:
                # dask/distributed#5407: the cluster's watcher may read the scheduler's
                # record of a worker a test killed after the scheduler dropped it. The
                # cluster is closed by then; what the tests asserted stands.
                if not str(exc).startswith("'tcp://"):
                    raise


@pytest.fixture(scope="session")
def scheduled(client):
    """A second client of the same cluster that sends every message through the scheduler
    (``direct_to_workers=False``): a sharded index then takes Dask's messages, not ports."""
    import distributed

    c = distributed.Client(client.scheduler.address, direct_to_workers=False)
    try:
        yield c
    finally:
        c.close()


def _kill_a_worker(client, busy: bool = False) -> None:
    """SIGKILL one worker process (with ``busy``, one running a task, waited for)."""
    deadline = time.monotonic() + 60
    while True:
        processing = {a: k for a, k in client.processing().items() if k}
        if not busy or processing or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    pids = client.run(os.getpid)
    addr = next(iter(processing)) if processing else sorted(pids)[0]
    os.kill(pids[addr], signal.SIGKILL)


def _restore(client) -> None:
    client.wait_for_workers(2, timeout=120)


@pytest.mark.parametrize("route", ["ports", "dask"])
@FEW
@given(ops=batches, search_list=st.lists(searches, min_size=1, max_size=5))
def test_cluster_answers_equal_one_index(
    tmp_path_factory, client, scheduled, route, ops, search_list
):
    """Differential, over both ways a round travels: the shard groups' own ports (a client
    that may reach the workers) and Dask's messages through the scheduler."""
    if route == "dask":
        client = scheduled
    folder = tmp_path_factory.mktemp("dask-eq")
    one = newsindex.Index.create(folder / "one")
    build(one, ops)
    sharded = newsindex.ShardedIndex.create(folder / "sh", shards=3)
    build(sharded, ops)
    sharded.close()
    with newsindex.Index.open(folder / "sh", scheduler=client) as remote:
        assert isinstance(remote, newsindex.ShardedIndex)
        direct = remote._cur().shards._direct  # type: ignore[union-attr]
        assert all(d is not None for d in direct) == (route == "ports")
        for search in search_list:
            try:
                one.search(**search)
            except newsindex.NewsIndexError as exc:
                with pytest.raises(type(exc)):
                    remote.search(**search)
                continue
            assert_same_answers(one, remote, search)
        for art_id in ("0", "1", "7"):
            assert remote.get(art_id) == one.get(art_id)
        hit = next(iter(remote.search("oil OR gas OR price").hits), None)
        if hit is not None:
            assert hit.article == one.get(hit.id)
            assert str(remote.explain("oil OR gas OR price", hit.id)) == str(
                one.explain("oil OR gas OR price", hit.id)
            )
    one.close()


def _corpus(path: Path, docs: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d) + "\n")


def _docs(sample_docs: list[dict]) -> list[dict]:
    """The sample, then new versions of some of its ids (later lines replace earlier ones,
    across partitions too)."""
    later = [{**d, "title": f"revised {d['title']}"} for d in sample_docs[:1000:7]]
    return list(sample_docs[:1000]) + later


def test_distributed_build_equals_one_process(tmp_path, client, sample_docs):
    docs = _docs(sample_docs)
    _corpus(tmp_path / "in.jsonl.gz", docs)
    one = newsindex.Index.create(tmp_path / "one")
    with one.writer() as w:
        for d in docs:
            w.add(d)
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=3)
    report = sharded.build([tmp_path / "in.jsonl.gz"], scheduler=client, partitions=4)
    assert report["partitions"] == 4 and report["records"] == len(docs)
    assert len(sharded) == len(one) == 1000
    assert sharded.check() == []
    assert [n for n in os.listdir(tmp_path / "sh") if n.startswith(".staging")] == []
    for search in (
        {"query": "revised", "limit": 200},
        {"query": "oil prices", "limit": 20, "facets": True},
        {"query": "opec date:1987-03", "sort": "date", "limit": 30},
    ):
        assert_same_answers(one, sharded, search)
    assert sharded.count("revised") == one.count("revised") > len(docs) - 1000
    # Every stage of a search, and related stories, on the cluster's actors.
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:
        for search in (
            {"query": "oil prices", "scoring": newsindex.Scoring(feedback=True)},
            {"query": "crude oil prices", "scoring": newsindex.Scoring(proximity=1.0)},
            {"query": "opec", "scoring": newsindex.Scoring(proximity=1.0, feedback=True)},
            {"query": "oil OR revised", "collapse": True, "limit": 30, "facets": True},
        ):
            assert_same_answers(one, remote, search)
        for story in [docs[0]["id"], docs[500]["id"]]:
            a, b = one.more_like_this(story, limit=20), remote.more_like_this(story, limit=20)
            whole = one.more_like_this(story, limit=max(1, a.total))
            assert_same_results(a, b, whole, {})
            assert str(remote.explain("oil prices", b.hits[0].id)) == str(
                one.explain("oil prices", b.hits[0].id)
            )


@pytest.mark.parametrize("table_terms", [0, 10**9])
def test_with_or_without_a_term_table_the_cluster_answers_as_one_index(
    tmp_path, client, sample_docs, monkeypatch, table_terms
):
    """A coordinator fetches every term's statistics when a commit opens, unless the shards
    hold more than TABLE_TERMS terms: then it asks for a query's new words. Either way the
    answers are one index's."""
    from newsindex.cluster import sharded as sharded_module

    monkeypatch.setattr(sharded_module, "TABLE_TERMS", table_terms)
    one = newsindex.Index.create(tmp_path / "one")
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=3)
    for ix in (one, sharded):
        with ix.writer() as w:
            for d in sample_docs[:400]:
                w.add(d)
        with ix.writer() as w:
            for d in sample_docs[400:600]:
                w.add(d)
            for d in sample_docs[:400:9]:
                w.delete(d["id"])
    sharded.close()
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:
        assert (remote._cur().table is None) == (table_terms == 0)
        for query in ["oil prices", "title:bank rates", '"crude oil" -opec', "talks", "tradi*"]:
            for sort in newsindex.SORTS:
                assert_same_answers(one, remote, {"query": query, "sort": sort, "facets": True})
    one.close()


def test_duplicates_on_the_cluster_equal_one_index(tmp_path, client, sample_docs):
    """Differential, as in process (tests/test_cluster.py): near-duplicates found over the
    shards held on the workers, whose copies sit in other shards."""
    docs = copies_of(sample_docs)
    one = newsindex.Index.create(tmp_path / "one")
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=3)
    for ix in (one, sharded):
        with ix.writer() as w:
            for d in docs:
                w.add(d)
    sharded.close()
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:
        assert one.duplicates()
        for threshold in (0.5, 0.9):
            assert_same_duplicates(one, remote, threshold)
    one.close()


def test_worker_lost_during_search_names_the_shard(tmp_path, client, sample_docs):
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=4)
    with sharded.writer() as w:
        for d in sample_docs[:200]:
            w.add(d)
    remote = newsindex.Index.open(tmp_path / "sh", scheduler=client)
    assert remote.search("oil").total == sharded.search("oil").total
    _kill_a_worker(client)
    try:
        with pytest.raises(newsindex.ClusterError, match=r"shard shard-00\d"):
            for _ in range(50):  # until the scheduler notices the loss
                remote.search("oil")
                time.sleep(0.1)
    finally:
        _restore(client)
    again = newsindex.Index.open(tmp_path / "sh", scheduler=client)
    assert again.search("oil").total == sharded.search("oil").total


def test_worker_killed_during_build_commits_nothing_and_a_rerun_works(
    tmp_path, client, sample_docs
):
    docs = _docs(sample_docs)
    _corpus(tmp_path / "in.jsonl.gz", docs)
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=2)
    with sharded.writer() as w:
        w.add({"id": "before", "title": "before the build"})
    generation = sharded.generation
    failure: list[BaseException] = []

    def run() -> None:
        try:
            sharded.build([tmp_path / "in.jsonl.gz"], scheduler=client, partitions=6)
        except BaseException as exc:
            failure.append(exc)

    t = threading.Thread(target=run)
    t.start()
    _kill_a_worker(client, busy=True)
    t.join(300)
    _restore(client)
    # The kill landed on a running partition: the build failed, and nothing is visible.
    assert len(failure) == 1 and isinstance(failure[0], newsindex.ClusterError), failure
    assert "partition" in str(failure[0])
    reopened = newsindex.Index.open(tmp_path / "sh")
    assert reopened.generation == generation and len(reopened) == 1
    assert reopened.count("revised") == 0
    # No task of the failed build still runs (it would write into a removed staging
    # folder), and none was left behind.
    assert not any(client.run(_running_keys, prefix="newsindex-build-").values())
    assert [n for n in os.listdir(tmp_path / "sh") if n.startswith(".staging")] == []
    sharded.build([tmp_path / "in.jsonl.gz"], scheduler=client, partitions=3)
    one = newsindex.Index.create(tmp_path / "one")
    with one.writer() as w:
        for d in docs:
            w.add(d)
    assert len(sharded) == 1001 and sharded.count("revised") == one.count("revised")
    assert sharded.check() == []


def test_cli_index_and_search_on_the_cluster(tmp_path, client, sample_docs):
    _corpus(tmp_path / "in.jsonl.gz", sample_docs[:300])
    address = client.scheduler.address
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "newsindex", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    said = cli(
        "index",
        str(tmp_path / "sh"),
        str(tmp_path / "in.jsonl.gz"),
        "--shards",
        "3",
        "--scheduler",
        address,
    )
    assert "indexed 300 articles" in said and "3 shards" in said
    cli("index", str(tmp_path / "one"), str(tmp_path / "in.jsonl.gz"))
    for query in ("oil prices", "opec -iran", "section:crude"):
        one = json.loads(cli("search", str(tmp_path / "one"), query, "--json", "--facets"))
        remote = json.loads(
            cli("search", str(tmp_path / "sh"), query, "--json", "--facets", "--scheduler", address)
        )
        assert remote["total"] == one["total"]
        assert [round(h["score"], 6) for h in remote["hits"]] == [
            round(h["score"], 6) for h in one["hits"]
        ]
    assert layout.is_sharded(tmp_path / "sh")


def test_a_build_cluster_leaves_workers_cpu_to_the_build(monkeypatch):
    """The LocalCluster ``build(workers=N)`` starts keeps glibc's adaptive allocator (no
    MALLOC_TRIM_THRESHOLD_) and runs no stack-sampling profiler on its workers; Dask's
    defaults set both, and they cost a partition task a share of its CPU."""
    pytest.importorskip("distributed")
    from newsindex.cluster.sharded import _local_cluster

    # A default cluster started earlier in this process (the session's) leaves its
    # pre-spawn variables in os.environ, which every later worker inherits.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)

    client, cluster = _local_cluster(1)
    try:

        def worker_settings() -> tuple:
            import dask

            return (
                os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                dask.config.get("distributed.worker.profile.enabled"),
                os.environ.get("OMP_NUM_THREADS"),
            )

        assert list(client.run(worker_settings).values()) == [(None, False, "1")]
    finally:
        client.close()
        cluster.close()


def _lost_with_its_worker() -> None:
    raise OSError("the worker holding this actor was lost")


def test_an_actor_lost_while_placed_is_placed_again(tmp_path, client, sample_docs, monkeypatch):
    """A shard group whose first placement fails (its worker died with the actor, while the
    scheduler still listed it) is placed again on any worker, and the index answers."""
    from newsindex.cluster import sharded as sharded_module

    original = sharded_module._DaskShards._place
    failed: list[int] = []

    def place(self, shards, worker, attempt):
        if attempt == 0 and not failed:
            failed.append(shards[0][0])
            key = f"lost-{shards[0][0]}-{id(self)}"
            return (
                key,
                [i for i, _, _ in shards],
                self._client.submit(_lost_with_its_worker, key=key),
            )
        return original(self, shards, worker, attempt)

    monkeypatch.setattr(sharded_module._DaskShards, "_place", place)
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=2)
    with sharded.writer() as w:
        for d in sample_docs[:100]:
            w.add(d)
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:
        assert failed
        assert remote.search("oil").total == sharded.search("oil").total


def _listeners(client) -> int:
    """The shard groups' listening threads on every worker."""
    count = client.run(lambda: sum(t.name == "newsindex-listener" for t in threading.enumerate()))
    return sum(count.values())


def _settled_listeners(client) -> int:
    """:func:`_listeners` once the count stops changing: an index an earlier test closed
    stops its groups' listeners on the workers a moment later."""
    deadline = time.monotonic() + 60
    count = _listeners(client)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _listeners(client)
        if now == count:
            break
        count = now
    return count


def test_a_port_serves_only_its_token_and_stops_with_the_index(tmp_path, client, sample_docs):
    """A connection to a shard group's port that does not send the group's token is closed
    unanswered and the port goes on serving; closing the index stops every listener."""
    import pickle
    import socket

    from newsindex.cluster.channel import TOKEN_BYTES, recv_frame, send_frame

    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=4)
    with sharded.writer() as w:
        for d in sample_docs[:200]:
            w.add(d)
    before = _settled_listeners(client)
    remote = newsindex.Index.open(tmp_path / "sh", scheduler=client)
    assert _listeners(client) == before + 2
    for direct in remote._cur().shards._direct:
        host, port = direct._where
        # (one byte off for sure: a last byte set to 0 would be the token 1 time in 256)
        for token in (b"\0" * TOKEN_BYTES, direct._token[:-1] + bytes([direct._token[-1] ^ 1])):
            assert token != direct._token
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(token)
                send_frame(sock, pickle.dumps([(0, "corpus", ())]))
                with pytest.raises(ConnectionError):
                    recv_frame(sock)
    assert remote.search("oil").total == sharded.search("oil").total
    remote.close()
    deadline = time.monotonic() + 60
    while _listeners(client) > before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _listeners(client) <= before


def test_a_shard_error_crosses_either_way_as_in_process(tmp_path, client, scheduled, sample_docs):
    """An exception a shard raises reaches the coordinator as the same exception, over the
    groups' ports and over Dask's messages."""
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=2)
    with sharded.writer() as w:
        for d in sample_docs[:50]:
            w.add(d)
    with pytest.raises(Exception) as local:
        sharded._cur().shards.call(0, "article", 10**6, 0)
    for c in (client, scheduled):
        with newsindex.Index.open(tmp_path / "sh", scheduler=c) as remote:
            with pytest.raises(type(local.value)) as far:
                remote._cur().shards.call(0, "article", 10**6, 0)
            assert str(far.value) == str(local.value)
            assert remote.search("oil").total == sharded.search("oil").total


def test_a_port_out_of_reach_leaves_the_rounds_to_dask(tmp_path, client, sample_docs, monkeypatch):
    """Where the coordinator cannot connect to the groups' ports (a firewall), the index
    opens all the same and its rounds take Dask's messages, with the same answers."""
    from newsindex.cluster import channel

    def refuse(self):
        raise ConnectionRefusedError("refused")

    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=3)
    with sharded.writer() as w:
        for d in sample_docs[:150]:
            w.add(d)
    monkeypatch.setattr(channel.Connections, "take", refuse)
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:
        assert remote._cur().shards._direct == [None, None]
        for query in ("oil", "bank rates", "title:prices"):
            assert_same_answers(sharded, remote, {"query": query, "facets": True})


def test_threads_searching_at_once_each_get_their_own_answer(tmp_path, client, sample_docs):
    """Threads sharing one index on the cluster search at the same time: each round takes a
    connection no other round holds, so every thread gets its own query's answer (the
    in-process sharded index's, which holds the same shards)."""
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=4)
    with sharded.writer() as w:
        for d in sample_docs[:300]:
            w.add(d)
    queries = ["oil", "bank rates", "prices", "talks", "title:trade", "wheat OR coffee"]
    expected = {q: [(h.id, h.score) for h in sharded.search(q, limit=20).hits] for q in queries}
    errors: list[BaseException] = []
    with newsindex.Index.open(tmp_path / "sh", scheduler=client) as remote:

        def hammer(offset: int) -> None:
            try:
                for n in range(30):
                    q = queries[(offset + n) % len(queries)]
                    got = [(h.id, h.score) for h in remote.search(q, limit=20).hits]
                    assert got == expected[q], q
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]
