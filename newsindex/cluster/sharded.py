"""``ShardedIndex``: a sharded index searched as one, in this process or on a Dask cluster.

A query is planned once here (the analyzers of the index; prefixes expanded over every
shard), then scattered in two phases, like Elasticsearch's ``dfs_query_then_fetch``: each
shard reports the df of the query's terms, and with their sums (and the collection's document
count and field lengths, summed when the commit was opened) every shard scores exactly as one
index holding all the documents would, and returns its best ``offset + limit``. On a cluster
the first phase is done once per commit for every term (:class:`_TermTable`), so a query is
one round of messages. The pages are
merged here in the order :mod:`newsindex.search.topk` uses, with the shard number in place of
the segment number: equal scores and days list by shard, then segment, then document.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import pickle
import shutil
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..analysis import Analyzer
from ..article import Article
from ..bm25f import idf
from ..config import IndexSettings, Scoring
from ..errors import (
    ArgumentTypeError,
    ClusterError,
    ConfigError,
    IndexClosedError,
    IndexCorruptError,
    IndexExistsError,
    NewsIndexError,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_type,
)
from ..handle import (
    _OPEN_RETRIES,
    Index,
    _check_options,
    _check_page,
    _folder,
    _iso_day,
    _Life,
    _plan_today,
    _value_hints,
    _with_feedback,
    _with_recency,
    cache_budget,
    check_max_terms,
    collapse_note,
    like_query_of,
    plan_query,
)
from ..index.check import check_index
from ..index.segment import Segment
from ..index.writer import DEFAULT_MEMORY_BUDGET
from ..querylang import plan as P
from ..querylang.planner import DEFAULT_EXPANSION_LIMIT, DEFAULT_PREFIX_LIMIT, no_words_warning
from ..results.facets import BUCKETS, Facets, facets_from_counts
from ..results.hits import Hit, Results
from ..results.query import Query
from ..results.snippets import LazyHighlighter
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER
from ..search.collapse import (
    DEFAULT_THRESHOLD,
    MIN_THRESHOLD,
    NearIndex,
    collapse_matches,
    groups,
    signatures_of,
    threshold_of,
)
from ..search.feedback import Weights, expanded_plan, explain_expansion, relevance_model
from ..search.leaves import ALL_FIELDS
from ..search.matches import SegmentMatches
from ..search.proximity import query_words
from ..search.recency import Recency
from ..search.scoring import Explanation
from ..search.searcher import Corpus, Dfs, Searcher, scored_terms
from ..search.similar import DEFAULT_MAX_TERMS, distinctive_terms
from . import layout
from .channel import Connections, recv_frame, send_frame
from .shard import (
    DF_FIELDS,
    RawFacets,
    Shard,
    ShardGroup,
    ShardTop,
    TermTable,
    WordFacts,
    run_calls,
)
from .writer import ShardedWriter

#: Terms whose collection df a snapshot keeps (cleared when full).
_DFS_CACHE_SIZE = 100_000


#: Attempts to place a group of shards on the cluster's workers.
_PLACEMENTS = 3

#: The most terms (summed over every shard's segments) whose dfs and stems a coordinator on
#: a cluster fetches when it opens a commit; above it, a query's new words are asked for.
TABLE_TERMS = 2_000_000


class _TermTable:
    """The collection's df of every term in each of :data:`DF_FIELDS` and the stem some
    shard stored for each stemmer input, from every shard's :meth:`Shard.term_table`: with
    it a query on the cluster needs no round of statistics."""

    def __init__(self, parts: list[TermTable]):
        rows: dict[str, int] = {}
        placed = []
        for terms, dfs, _ in parts:
            at = np.fromiter((rows.setdefault(t, len(rows)) for t in terms), np.int64, len(terms))
            placed.append((at, dfs))
        self.dfs = np.zeros((len(rows), len(DF_FIELDS)), dtype=np.int64)
        for at, dfs in placed:
            self.dfs[at] += dfs
        self.rows = rows
        self.columns = {fields: c for c, fields in enumerate(DF_FIELDS)}
        #: Per field, stemmer input -> stored stem: the first shard's holding it (as asking
        #: the shards in order finds it); fields whose shards sent one answer share it.
        self.stems: dict[str, dict[str, str]] = {}
        made: dict[tuple[int, ...], dict[str, str]] = {}
        for field in TEXT_FIELDS:
            same = tuple(id(p[2][field]) for p in parts)
            if same not in made:
                made[same] = {}
                for _, _, stems in reversed(parts):
                    made[same].update(zip(*stems[field]))
            self.stems[field] = made[same]

    def df(self, term: str, fields: tuple[int, ...]) -> int | None:
        """The df of ``term`` in ``fields`` (0 for a term no shard holds; None for a set of
        fields the table does not count)."""
        c = self.columns.get(fields)
        if c is None:
            return None
        row = self.rows.get(term)
        return 0 if row is None else int(self.dfs[row, c])


class _LocalShards:
    """Shards held in this process."""

    def __init__(self, folder: Path, refs: tuple[layout.ShardRef, ...], cache_bytes: int | None):
        self.names = [r.name for r in refs]
        self._shards: list[Shard] = []
        self._together: dict = {}  # (see shard.run_calls)
        try:
            for r in refs:
                self._shards.append(Shard(str(folder / r.name), r.generation, cache_bytes))
        except BaseException:
            self.close()
            raise

    def run(self, calls: list[tuple[int, str, tuple]]) -> list[Any]:
        return run_calls(dict(enumerate(self._shards)), calls, self._together)

    def call_all(self, method: str, *args: Any) -> list[Any]:
        return self.run([(i, method, args) for i in range(len(self._shards))])

    def call(self, i: int, method: str, *args: Any) -> Any:
        return getattr(self._shards[i], method)(*args)

    def close(self) -> None:
        for s in self._shards:
            s.close()


class _DaskShards:
    """Shards held open on the workers of a Dask cluster, one actor per worker holding its
    share of them (the workers must see the index folder at the same path: a shared or
    local file system).

    A round of calls is one message per worker, all sent before any reply is awaited. Where
    a worker's Dask address is plain TCP, the messages go from the calling thread over
    connections of their own to a port its actor opens (:mod:`.channel`); otherwise (TLS,
    or that port cannot be reached) they are Dask's, sent in one coroutine on the client's
    event loop, straight to the workers as ``Client(direct_to_workers=True)`` sends them.
    A client made with ``direct_to_workers=False`` is obeyed: every message then goes
    through the scheduler, as Dask's actor proxies send them.
    """

    def __init__(
        self,
        client: Any,
        folder: Path,
        refs: tuple[layout.ShardRef, ...],
        cache_bytes: int | None,
    ):
        self.names = [r.name for r in refs]
        self._client = client
        self._folder = folder
        self._cache_bytes = cache_bytes
        workers = sorted(client.scheduler_info()["workers"]) or [None]
        placed: dict[Any, list[tuple[int, str, int]]] = {}
        for i, r in enumerate(refs):
            placed.setdefault(workers[i % len(workers)], []).append(
                (i, str(folder / r.name), r.generation)
            )
        #: Per actor: its key, its shards' numbers, its future (it keeps the actor alive).
        self._groups: list[tuple[str, list[int], Any]] = []
        self._home: dict[int, int] = {}  # shard number -> its group
        for worker, shards in placed.items():
            for i, _, _ in shards:
                self._home[i] = len(self._groups)
            self._groups.append(self._place(shards, worker, 0))
        self._addresses = [self._wait_placed(g, placed[w]) for g, w in enumerate(placed)]
        #: Per group: connections to its port, or None where rounds take Dask's messages.
        self._direct: list[Connections | None] = [None] * len(self._groups)
        if self._client.direct_to_workers is not False:
            ports = self._client.sync(self._open_ports)
            self._direct = [None if p is None else _reach(*p) for p in ports]
        weakref.finalize(self, _close_all, list(self._direct))

    def _place(
        self, shards: list[tuple[int, str, int]], worker: Any, attempt: int
    ) -> tuple[str, list[int], Any]:
        key = f"newsindex-{self._folder.name}-{shards[0][0]}-{os.getpid()}-{id(self)}-{attempt}"
        # A preference, not a pin: a worker lost since the list was made is not waited for.
        # (Dask refuses allow_other_workers without workers: a re-placement names none.)
        placement = {} if worker is None else {"workers": [worker], "allow_other_workers": True}
        future = self._client.submit(
            ShardGroup, shards, self._cache_bytes, actor=True, key=key, **placement
        )
        return key, [i for i, _, _ in shards], future

    def _wait_placed(self, g: int, shards: list[tuple[int, str, int]]) -> str:
        for attempt in range(1, _PLACEMENTS + 1):
            try:
                return cast(str, self._groups[g][2].result()._address)
            except NewsIndexError:
                raise
            except Exception as exc:
                # A worker the scheduler still listed may die with the actor on it: place
                # it again, anywhere, before saying so.
                if attempt == _PLACEMENTS:
                    raise self._lost(g, exc) from exc
                self._groups[g] = self._place(shards, None, attempt)
        raise AssertionError("unreachable")

    def _lost(self, g: int, exc: BaseException) -> ClusterError:
        names = ", ".join(self.names[i] for i in self._groups[g][1])
        return ClusterError(
            f"shard {names} of {self._folder}: its Dask worker could not answer "
            f"({type(exc).__name__}: {exc}); open the index again to place it on a live worker"
        )

    def _rpc(self, address: str) -> Any:
        if self._client.direct_to_workers is False:
            from distributed.actor import ProxyRPC

            return ProxyRPC(self._client.scheduler, address)
        return self._client.rpc(address)

    async def _open_ports(self) -> list[tuple[str, int, bytes] | None]:
        import asyncio

        return list(await asyncio.gather(*(self._open_port(g) for g in range(len(self._groups)))))

    async def _open_port(self, g: int) -> tuple[str, int, bytes] | None:
        """Host, port and token of group ``g``'s own port, if its worker's address is plain
        TCP and the group could open one (else None: its rounds take Dask's messages)."""
        from distributed.comm import parse_address, parse_host_port

        try:
            scheme, location = parse_address(self._addresses[g])
            host = parse_host_port(location)[0] if scheme == "tcp" else None
        except ValueError:
            host = None
        if host is None:
            return None
        reply = await self._execute(g, "listen", host)
        if isinstance(reply, BaseException) or reply is None:
            return None
        return host, reply[0], reply[1]

    async def _execute(self, g: int, function: str, arg: Any) -> Any:
        """``function(arg)`` of group ``g``'s actor, through Dask: its result, or the
        exception to raise."""
        try:
            reply = await self._rpc(self._addresses[g]).actor_execute(
                function=function, actor=self._groups[g][0], args=[arg], kwargs={}
            )
        except Exception as exc:  # (a lost worker: the connection fails or is closed)
            return self._lost(g, exc)
        if reply["status"] == "OK":
            return reply["result"]
        error = reply["exception"]
        if isinstance(error, KeyError) and error.args == (self._groups[g][0],):
            return self._lost(g, error)  # the worker lives, but was restarted without it
        return error

    async def _send(self, g: int, calls: list[tuple[int, str, tuple]]) -> Any:
        # (pickled here, sent as bytes: see ShardGroup.run; the trust Dask gives its own
        # messages, between the processes of one cluster: never for index files)
        payload = pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)
        reply = await self._execute(g, "run", payload)
        return reply if isinstance(reply, BaseException) else pickle.loads(reply)

    async def _round(self, messages: dict[int, list[tuple[int, str, tuple]]]) -> list[Any]:
        import asyncio

        return list(await asyncio.gather(*(self._send(g, c) for g, c in messages.items())))

    def _direct_round(self, messages: dict[int, list[tuple[int, str, tuple]]]) -> list[Any]:
        """:meth:`_round` over the groups' own ports, from this thread: every message sent,
        then every reply read (a connection whose reply was not read is closed, not reused)."""
        sent: dict[int, Any] = {}
        replies: dict[int, Any] = {}
        payloads = {
            g: pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL) for g, c in messages.items()
        }
        for g, payload in payloads.items():
            direct = cast(Connections, self._direct[g])
            try:
                sock = direct.take()
            except OSError as exc:
                replies[g] = self._lost(g, exc)
                continue
            try:
                send_frame(sock, payload)
            except OSError as exc:
                sock.close()
                replies[g] = self._lost(g, exc)
                continue
            sent[g] = sock
        for g, sock in sent.items():
            try:
                reply = recv_frame(sock)
            except OSError as exc:
                sock.close()
                replies[g] = self._lost(g, exc)
                continue
            cast(Connections, self._direct[g]).give_back(sock)
            try:
                replies[g] = pickle.loads(reply)[1]  # (ok, results) or (not ok, the exception)
            except Exception as exc:  # (an exception whose class cannot be rebuilt here)
                names = ", ".join(self.names[i] for i in self._groups[g][1])
                replies[g] = ClusterError(
                    f"shard {names} of {self._folder}: its reply could not be read "
                    f"({type(exc).__name__}: {exc})"
                )
        return [replies[g] for g in messages]

    def run(self, calls: list[tuple[int, str, tuple]]) -> list[Any]:
        messages: dict[int, list[tuple[int, str, tuple]]] = {}
        slots: list[tuple[int, int]] = []
        for call in calls:
            mine = messages.setdefault(self._home[call[0]], [])
            slots.append((self._home[call[0]], len(mine)))
            mine.append(call)
        if self._client.status in ("closing", "closed"):
            raise ClusterError(f"{self._folder}: the Dask client of this index was closed")
        if all(self._direct[g] is not None for g in messages):
            replies = dict(zip(messages, self._direct_round(messages)))
        else:
            replies = dict(zip(messages, self._client.sync(self._round, messages)))
        for reply in replies.values():
            if isinstance(reply, BaseException):
                raise reply
        return [replies[g][at] for g, at in slots]

    def call_all(self, method: str, *args: Any) -> list[Any]:
        return self.run([(i, method, args) for i in range(len(self.names))])

    def call(self, i: int, method: str, *args: Any) -> Any:
        return self.run([(i, method, args)])[0]

    def close(self) -> None:
        _close_all(self._direct)
        self._groups = []
        self._addresses = []


def _reach(host: str, port: int, token: bytes) -> Connections | None:
    """Connections to a shard group's port, if this process can reach it (workers behind a
    firewall keep Dask's messages)."""
    direct = Connections(host, port, token)
    try:
        direct.give_back(direct.take())
    except OSError:
        direct.close()
        return None
    return direct


def _close_all(direct: list[Connections | None]) -> None:
    for d in direct:
        if d is not None:
            d.close()


_Shards = _LocalShards | _DaskShards


class _ClusterSnapshot:
    """One commit of a sharded index as searches see it (never changed once made)."""

    def __init__(
        self,
        manifest: layout.ClusterManifest,
        shards: _Shards,
        settings: IndexSettings,
        corpus: Corpus,
        table: _TermTable | None = None,
    ):
        self.manifest = manifest
        #: Every term's dfs and stored stems, when fetched at open (see ``_open``).
        self.table = table
        self.generation = manifest.generation
        self.shards = shards
        self.settings = settings
        self.corpus = corpus
        #: The collection's df of the terms queries met: ``(term, field indices) -> df``.
        self.dfs: dict[tuple[str, tuple[int, ...]], int] = {}
        #: The stem some shard stored for a word, per field (None: no shard holds the word).
        self.stems: dict[tuple[str, str], str | None] = {}
        self._asked: set[tuple[str, str]] = set()
        #: Per threshold: near-duplicates over every shard's stories (see ``_near``).
        self.near: dict[float, _Near] = {}
        self._signed: tuple[list[_Signed], list[int]] | None = None
        self.analyzers: dict[str, Analyzer] = {}
        for field in TEXT_FIELDS:
            analyzer = Analyzer(settings.analyzers[field])
            spec = json.loads(json.dumps(analyzer.spec.to_dict()))
            analyzer.lexicon = partial(_stored_stem, self, field, spec)
            self.analyzers[field] = analyzer

    def learn(self, words: list[tuple[str, str]], fields: list[tuple[int, ...]]) -> None:
        """Ask every shard, in one round, what it knows of query words not met before (their
        stored stems, and the dfs of their terms), so a new query costs two rounds, not one
        per word plus one for the dfs."""
        words = [w for w in dict.fromkeys(words) if w not in self._asked]
        if not words or self.table is not None:
            return
        if len(self.dfs) > _DFS_CACHE_SIZE or len(self._asked) > _DFS_CACHE_SIZE:
            self.dfs.clear()
            self.stems.clear()
            self._asked.clear()
        parts: list[list[WordFacts | None]] = self.shards.call_all("prepare", words, fields)
        for w, (field, token) in enumerate(words):
            self._asked.add((field, token))
            facts = [p[w] for p in parts]
            if any(f is None for f in facts):
                continue  # a stop word (or too long): nothing to learn
            key = self.analyzers[field].stem_input(token)
            stored = next((f[0] for f in facts if f and f[0] is not None), None)
            if key is not None and not key.isdigit():
                self.stems[(field, key)] = stored
            terms = {f[1] for f in facts if f}
            if len(terms) != 1 or None in terms:
                continue  # the shards disagree (or drop it): the dfs round will ask
            term = cast(str, terms.pop())
            for fi, key_fields in enumerate(fields):
                self.dfs[(term, key_fields)] = sum(cast(list, f[2])[fi] for f in facts if f)


def _stored_stem(snap: _ClusterSnapshot, field: str, spec: dict, word: str) -> str | None:
    if snap.table is not None:
        return snap.table.stems[field].get(word)
    known = snap.stems.get((field, word), "")
    if known != "":
        return known
    for term in snap.shards.call_all("stem_of", field, spec, word):
        if term is not None:
            return cast(str, term)
    return None


class _KeywordValues:
    """The keyword values of every shard, where one-index code expects segments."""

    def __init__(self, shards: _Shards):
        self._shards = shards

    def keyword_values(self, kname: str) -> list[str]:
        return sorted({v for vs in self._shards.call_all("keyword_values", kname) for v in vs})


class ShardedIndex(Index):
    """A sharded index: a folder of N ordinary shard indexes and a cluster manifest
    (``ShardedIndex.create(path, shards=N)``; ``Index.open`` opens one as this class).

    It answers as an :class:`Index` holding the same articles would (the same hits, scores,
    totals and facets; ties of score and day list by shard). ``scheduler`` (a Dask scheduler
    address or a ``dask.distributed.Client``) holds each shard open in an actor on the
    cluster's workers; without it the shards are searched in this process. ``cache_mb``:
    as for :meth:`Index.open`, each shard's.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, scheduler: Any = None, cache_mb: int | None = None
    ):
        self.path = _folder(path)
        self._cache_bytes = cache_budget(cache_mb)
        self._life = _Life(self.path)
        self._swap = threading.Lock()
        self._snap = None
        self._csnap: _ClusterSnapshot | None = None
        self.prefix_limit = DEFAULT_PREFIX_LIMIT
        self.expansion_limit = DEFAULT_EXPANSION_LIMIT
        self._client: Any = None
        self._own_client = False
        if scheduler is not None:
            self._client, self._own_client = _connect(scheduler)
        try:
            self.refresh()
        except BaseException:
            self._disconnect()
            raise

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        settings: IndexSettings | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        shards: int = 2,
        exist_ok: bool = False,
    ) -> ShardedIndex:
        """Create an empty sharded index of ``shards`` shards in ``path`` and open it
        (``settings`` as for :meth:`Index.create`; every shard has them)."""
        folder = _folder(path)
        shards = check_int("shards", shards, 1, 999)
        check_bool("exist_ok", exist_ok)
        if folder.exists() and not folder.is_dir():
            raise IndexExistsError(f"{folder}: exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        if layout.generations(folder):
            if exist_ok:
                return cls(folder)
            raise IndexExistsError(f"{folder}: a sharded index already exists here")
        if any(n.startswith("manifest-") for n in os.listdir(folder)):
            raise IndexExistsError(f"{folder}: an index already exists here")
        refs = []
        for i in range(shards):
            name = layout.shard_name(i)
            # exist_ok: a create that crashed before its cluster manifest left empty shards.
            Index.create(folder / name, settings, exist_ok=True).close()
            refs.append(layout.ShardRef(name, 0))
        layout.write(folder, layout.ClusterManifest(0, tuple(refs)))
        return cls(folder)

    def refresh(self) -> bool:
        """Move to the newest commit; return whether anything changed."""
        with self._swap:
            self._check_open()
            for attempt in range(_OPEN_RETRIES):
                seen = layout.generations(self.path)
                try:
                    manifest = layout.read_latest(self.path)
                    old = self._csnap
                    if old is not None and manifest.generation == old.generation:
                        return False
                    self._csnap = self._open(manifest)
                    return True
                except IndexCorruptError:
                    # A writer committed twice meanwhile and collected the shard generations
                    # this manifest names: open the newer commit; if nothing moved, it is real.
                    if attempt + 1 == _OPEN_RETRIES or layout.generations(self.path) == seen:
                        raise
            return False  # unreachable

    def _open(self, manifest: layout.ClusterManifest) -> _ClusterSnapshot:
        shards: _Shards
        if self._client is not None:
            shards = _DaskShards(self._client, self.path, manifest.shards, self._cache_bytes)
        else:
            shards = _LocalShards(self.path, manifest.shards, self._cache_bytes)
        n = len(manifest.shards)
        try:
            first = shards.run(
                [(i, "corpus", ()) for i in range(n)]
                + [(i, "vocabulary", ()) for i in range(n)]
                + [(0, "settings", ())]
            )
            local = first[:n]
            totals = np.zeros(len(TEXT_FIELDS), dtype=np.float64)
            for c in local:
                totals += np.array(c[1], dtype=np.float64)
            corpus = Corpus(sum(int(c[0]) for c in local), tuple(float(t) for t in totals))
            # On a cluster, every term's statistics come now, in the round that hands out
            # the corpus, when there are few enough: then no query asks for any.
            fetch = isinstance(shards, _DaskShards) and sum(first[n : 2 * n]) <= TABLE_TERMS
            calls: list[tuple[int, str, tuple]] = [(i, "use_corpus", (corpus,)) for i in range(n)]
            calls += [(i, "term_table", ()) for i in range(n)] if fetch else []
            replies = shards.run(calls)
            table = _TermTable(replies[n:]) if fetch else None
            settings = IndexSettings.from_stored(first[-1])
        except BaseException:
            shards.close()
            raise
        return _ClusterSnapshot(manifest, shards, settings, corpus, table)

    def close(self) -> None:
        with self._swap:
            if self._life.closed:
                return
            self._life.closed = True
            snap, self._csnap = self._csnap, None
        if snap is not None:
            snap.shards.close()
        self._disconnect()

    def _disconnect(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
        self._client = None

    def _cur(self) -> _ClusterSnapshot:
        snap = self._csnap
        if snap is None:
            self._check_open()
            raise IndexClosedError(f"{self.path}: this Index was closed")
        return snap

    def __enter__(self) -> ShardedIndex:
        return self

    # -- properties ---------------------------------------------------------------------------
    @property
    def settings(self) -> IndexSettings:
        return self._cur().settings

    @property
    def generation(self) -> int:
        return self._cur().generation

    @property
    def shards(self) -> int:
        """How many shards the index has."""
        return len(self._cur().manifest.shards)

    @property
    def doc_count(self) -> int:
        return self._cur().corpus.doc_count

    def __repr__(self) -> str:
        snap = self._csnap
        if snap is None:
            return f"ShardedIndex({str(self.path)!r}, closed)"
        return (
            f"ShardedIndex({str(self.path)!r}, docs={snap.corpus.doc_count}, "
            f"shards={len(snap.manifest.shards)}, generation={snap.generation})"
        )

    def analyzer(self, field: str = "body") -> Analyzer:
        return self._cur().analyzers[check_choice("field", field, TEXT_FIELDS)]

    # -- writing ------------------------------------------------------------------------------
    def writer(  # type: ignore[override]
        self, *, timeout: float = 0.0, memory_budget: int = DEFAULT_MEMORY_BUDGET
    ) -> ShardedWriter:
        """The index's single writer (see :class:`ShardedWriter`); its commits refresh this
        ShardedIndex."""
        return ShardedWriter(
            self.path,
            self.settings,
            on_commit=self._after_commit,
            timeout=timeout,
            memory_budget=memory_budget,
        )

    def build(
        self,
        paths: str | os.PathLike[str] | list[str | os.PathLike[str]],
        *,
        workers: int | None = None,
        scheduler: Any = None,
        partitions: int | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        timeout: float = 0.0,
    ) -> dict[str, Any]:
        """Index the articles of ``paths`` (files and folders, as :func:`iter_records` reads
        them; bad records are skipped and reported) on a Dask cluster, committed at once.

        ``scheduler`` (an address or a ``dask.distributed.Client``; default: the one this
        index was opened with) or ``workers`` (a LocalCluster of that many processes, started
        and stopped here; default: the machine's cores). The inputs are cut into about
        ``partitions`` partitions (default: one per worker): each file or folder whole when
        there are that many, else JSON Lines files in line ranges (a range of a gzip file
        decompresses what precedes it, so several files cost less to read than one cut
        into ranges); workers read their partitions themselves, so the folders must be at
        the same paths on every worker. A failed partition or lost worker raises
        ClusterError and commits nothing. Returns ``{"records", "added", "replaced",
        "problems", "problem_count", "partitions"}``.
        """
        from . import build as b

        items = [paths] if isinstance(paths, (str, os.PathLike)) else paths
        check_type("paths", items, (list, tuple), "a path or a list of paths")
        for item in items:
            check_type("paths", item, (str, os.PathLike), "a path or a list of paths")
            if not os.path.exists(item):
                raise ConfigError(f"paths: {item}: no such file or folder")
        if workers is not None:
            workers = check_int("workers", workers, 1, 1024)
        if partitions is not None:
            partitions = check_int("partitions", partitions, 1, 100_000)
        memory_budget = check_int("memory_budget", memory_budget, 1)
        if scheduler is not None:
            check_scheduler(scheduler)
            if workers is not None:
                raise ConfigError("give workers or scheduler, not both")
        cluster = None
        client = self._client
        own = False
        if scheduler is not None:
            client, own = _connect(scheduler)
        elif client is None or workers is not None:
            client, cluster = _local_cluster(workers or os.cpu_count() or 1)
            own = True
        try:
            nworkers = len(client.scheduler_info()["workers"]) or 1
            parts = b.partitions(items, partitions or nworkers)
            with self.writer(timeout=timeout, memory_budget=memory_budget) as w:
                staging = layout.new_staging(self.path)
                staging.mkdir()
                try:
                    done = b.run_partitions(
                        client, staging, parts, w.shards, self.settings.to_dict(), memory_budget
                    )
                    for i in range(len(parts)):
                        w.adopt(staging / f"p{i:05d}")
                    w.commit()  # (the links in the shards keep the files the staging held)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        finally:
            if own:
                client.close()
            if cluster is not None:
                cluster.close()
        problems = [p for d in done for p in d["problems"]]
        return {
            "records": sum(d["records"] for d in done),
            "added": w.added,
            "replaced": w.replaced,
            "problems": problems[:20],
            "problem_count": sum(d["problem_count"] for d in done),
            "partitions": len(parts),
        }

    def _after_commit(self) -> None:
        if not self._life.closed:
            self.refresh()

    def check(self) -> list[str]:
        """Verify every shard's files (checksums, structure); the problems, by shard."""
        snap = self._cur()
        return [
            f"{ref.name}: {p}"
            for ref in snap.manifest.shards
            for p in check_index(self.path / ref.name)
        ]

    def optimize(self, *, timeout: float = 0.0) -> None:
        """Merge each shard into one segment (dropping deleted articles), committed on all
        shards at once (two phases, as every write of a sharded index)."""
        with self.writer(timeout=timeout) as w:
            w.optimize()

    # -- reading ------------------------------------------------------------------------------
    def _plan_for(
        self,
        snap: _ClusterSnapshot,
        query: str | Query,
        syntax: str,
        default_operator: str,
        scoring: Scoring | None,
        today: _dt.date | None,
    ) -> P.Node:
        limits = self._limits()
        expand = partial(_expand_prefix, snap.shards, limits[0])
        return plan_query(
            snap.analyzers, expand, query, syntax, default_operator, scoring, today, limits
        )

    def _dfs(self, snap: _ClusterSnapshot, node: P.Node) -> dict:
        """Phase one: the collection's df of every term ``node`` scores."""
        return self._gather_dfs(snap, scored_terms(node))

    def _gather_dfs(
        self, snap: _ClusterSnapshot, wanted: list[tuple[str, tuple[int, ...]]]
    ) -> dict[tuple[str, tuple[int, ...]], int]:
        """The collection's df of each ``(term, field indices)``.

        A df is a fact of the commit, so each is asked of the shards once per snapshot: a
        query of known terms goes straight to phase two (one round trip on a cluster).
        """
        known = snap.dfs
        table = snap.table
        # (get, not []: another thread may clear the cache meanwhile)
        found = {key: None if table is None else table.df(*key) for key in wanted}
        found = {key: known.get(key) if df is None else df for key, df in found.items()}
        missing = [key for key, df in found.items() if df is None]
        if missing:
            total: Counter = Counter()
            for part in snap.shards.call_all("dfs", missing):
                total.update(part)
            if len(known) > _DFS_CACHE_SIZE:
                known.clear()
            for key in missing:
                found[key] = known[key] = total[key]
        return cast(dict[tuple[str, tuple[int, ...]], int], found)

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        syntax: str = "query",
        default_operator: str = "or",
        scoring: Scoring | None = None,
        today: _dt.date | None = None,
        facets: bool = False,
        date_bucket: str | None = None,
        recency: str | _dt.timedelta | float | None = None,
        feedback: bool | None = None,
        collapse: bool | float = False,
        count: bool = True,
    ) -> Results:
        # (``count=False`` may skip counting; the shards always count, so totals stay exact.)
        started = time.perf_counter()
        _check_listing(limit, offset, sort, facets, date_bucket)
        check_bool("count", count)
        decay = None if recency is None else Recency.of(recency, today)
        threshold = None if collapse is False else threshold_of(collapse)
        snap = self._cur()
        _learn(snap, query)
        node = self._plan_for(
            snap, query, syntax, default_operator, scoring, _plan_today(query, today, decay)
        )
        node, decay = _with_recency(node, decay, recency, today)
        scoring = _with_feedback(scoring or snap.settings.scoring, feedback)
        run, expansion = self._expanded(snap, node, scoring)
        prox = sort == "relevance" and self._has_pairs(snap, node, scoring)
        k = limit + offset
        # The first stage gives its best `need`: the page, or the whole rescore window.
        need = max(k, scoring.rescore_window) if prox else k
        dfs = self._dfs(snap, run)
        if threshold is None:
            parts = snap.shards.call_all("top", run, scoring, dfs, need, sort, decay, facets)
            picked = _merge([p[0] for p in parts], need, sort)
            grouped = None
        else:
            near = self._near(snap, threshold)
            parts = snap.shards.call_all(
                "collapse_top", run, scoring, dfs, need, sort, decay, facets, threshold
            )
            grouped = near.group([p[3] for p in parts], sort)
            copies, under, _ = grouped
            picked = _merge([p[0] for p in parts], need + len(under), sort)
            picked = [p for p in picked if near.at(p) not in under][:need]
        if prox:
            picked = self._rescore(snap, node, scoring, decay, picked)
        picked = picked[: offset + limit]
        res = self._results(snap, node, picked, parts, offset, date_bucket, facets, started)
        res.expansion = expansion
        if grouped is not None:
            copies, under, id_of = grouped
            res.total -= len(under)
            for hit, p in zip(res.hits, picked[offset:]):
                hit.duplicates = tuple(id_of[c] for c in copies.get(near.at(p), ()))
        if not res.total:
            text = query.text if isinstance(query, Query) else query
            warning = no_words_warning(text, node, snap.analyzers[UNFIELDED_ANALYZER])
            res.warnings = [warning] if warning else []
        return res

    def _results(
        self,
        snap: _ClusterSnapshot,
        node: P.Node,
        picked: list[tuple[int, int, int, float, int, str]],
        parts: list[tuple[ShardTop, int, RawFacets | None]],
        offset: int,
        date_bucket: str | None,
        facets: bool,
        started: float,
    ) -> Results:
        total = sum(int(p[1]) for p in parts)
        highlighter = LazyHighlighter(node, snap.analyzers, snap.settings.store_body)
        load = partial(self._article, snap)
        hits = [
            Hit(pid, score, rank, day, partial(load, sh, si, doc), highlighter)
            for rank, (sh, si, doc, score, day, pid) in enumerate(picked[offset:], start=offset + 1)
        ]
        facet_counts = _merge_facets([p[2] for p in parts], date_bucket) if facets else None
        res = Results(
            hits=hits,
            total=total,
            took_ms=(time.perf_counter() - started) * 1000.0,
            offset=offset,
            facets=facet_counts,
        )
        if not total:
            values = cast(list[Segment], [_KeywordValues(snap.shards)])
            res.hints = _value_hints(values, node)
        return res

    # -- the opt-in stages around the first one: RM3 feedback before, proximity after --------
    def _expanded(
        self, snap: _ClusterSnapshot, node: P.Node, scoring: Scoring
    ) -> tuple[P.Node, Weights]:
        """The RM3 plan of ``node`` (with feedback on) and its terms, as one index finds
        them: from the merged best ``fb_docs`` hits and the collection's dfs."""
        if not scoring.feedback:
            return node, []
        parts = snap.shards.call_all(
            "top", node, scoring, self._dfs(snap, node), scoring.fb_docs, "relevance", None, False
        )
        best = [p for p in _merge([p[0] for p in parts], scoring.fb_docs, "relevance") if p[3] > 0]
        if not best:
            return node, []
        mine: dict[int, list[tuple[int, int]]] = {}
        for sh, si, doc, _, _, _ in best:
            mine.setdefault(sh, []).append((si, doc))
        shards = list(mine)
        replies = snap.shards.run([(sh, "doc_terms", (mine[sh],)) for sh in shards])
        terms_of = {
            (sh, si, doc): terms
            for sh, reply in zip(shards, replies)
            for (si, doc), terms in zip(mine[sh], reply)
        }
        docs = [(p[3], terms_of[p[:3]]) for p in best]
        dfs = self._gather_dfs(snap, [(t, ALL_FIELDS) for _, ts in docs for t in ts])
        model = relevance_model(
            docs, lambda t: dfs[(t, ALL_FIELDS)], snap.corpus.doc_count, scoring.fb_terms
        )
        return expanded_plan(node, model, scoring.fb_original_weight), model

    def _near(self, snap: _ClusterSnapshot, threshold: float) -> _Near:
        """Near-duplicates at ``threshold`` over every shard's stories, found once per
        commit from their signatures gathered here; each shard is told which of its
        stories have one (so a collapsed search returns only those for grouping)."""
        found = snap.near.get(threshold)
        if found is not None:
            return found
        if snap._signed is None:
            segments: list[_Signed] = []
            offsets = []
            for part in snap.shards.call_all("signatures"):
                offsets.append(len(segments))
                segments.extend(_Signed(*seg) for seg in part)
            snap._signed = segments, offsets
        segments, offsets = snap._signed
        near = _Near(segments, offsets, threshold)
        snap.shards.run(
            [(sh, "use_dupable", (threshold, near.dupable_of(sh))) for sh in range(len(offsets))]
        )
        return snap.near.setdefault(threshold, near)

    def _has_pairs(self, snap: _ClusterSnapshot, node: P.Node, scoring: Scoring) -> bool:
        """Whether the proximity rescore has work: two neighbouring query words in the index
        (as :class:`Proximity` decides it)."""
        if scoring.proximity <= 0:
            return False
        dfs = self._dfs(snap, node)
        return sum(1 for w in query_words(node) if dfs[(w.term, w.fields)] > 0) >= 2

    def _rescore(
        self,
        snap: _ClusterSnapshot,
        node: P.Node,
        scoring: Scoring,
        decay: Recency | None,
        picked: list[tuple[int, int, int, float, int, str]],
    ) -> list[tuple[int, int, int, float, int, str]]:
        """``picked`` with the proximity bonus added to its best ``rescore_window``, those
        reordered in relevance order (shard before segment), as :func:`rescore` does."""
        window = scoring.rescore_window
        head = picked[:window]
        if not head:
            return picked
        dfs = self._dfs(snap, node)
        shards = sorted({p[0] for p in head})
        calls = []
        for sh in shards:
            mine = [p for p in head if p[0] == sh]
            segs = np.array([p[1] for p in mine], dtype=np.int64)
            docs = np.array([p[2] for p in mine], dtype=np.int64)
            calls.append((sh, "bonus", (node, scoring, dfs, segs, docs)))
        bonuses = dict(zip(shards, snap.shards.run(calls)))
        seen: dict[int, int] = {}
        bonus = np.zeros(len(head), dtype=np.float64)
        for i, p in enumerate(head):
            at = seen.get(p[0], 0)
            bonus[i] = bonuses[p[0]][at]
            seen[p[0]] = at + 1
        days = np.array([p[4] for p in head], dtype=np.int64)
        if decay is not None:
            bonus *= decay.factors(days)
        scores = np.array([p[3] for p in head], dtype=np.float64) + bonus
        rows = [(score, p[4], p[0], p[1], p[2], p[5]) for p, score in zip(head, scores.tolist())]
        rows.sort(key=lambda r: r[:5], reverse=True)
        return [(sh, si, doc, sc, day, pid) for sc, day, sh, si, doc, pid in rows] + picked[window:]

    def _article(self, snap: _ClusterSnapshot, sh: int, si: int, doc: int) -> Article:
        if self._life.closed:
            raise IndexClosedError(
                f"{self.path}: the Index was closed before this article was loaded; read"
                " hit.article (or snippets) before Index.close()"
            )
        return cast(Article, snap.shards.call(sh, "article", si, doc))

    def count(
        self,
        query: str | Query,
        *,
        syntax: str = "query",
        default_operator: str = "or",
        today: _dt.date | None = None,
    ) -> int:
        snap = self._cur()
        node = self._plan_for(snap, query, syntax, default_operator, None, today)
        if isinstance(node, P.Recency):
            node = node.node  # ranking does not change what matches
        return sum(snap.shards.call_all("count", node, snap.settings.scoring))

    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        syntax: str = "query",
        default_operator: str = "or",
        scoring: Scoring | None = None,
        today: _dt.date | None = None,
        recency: str | _dt.timedelta | float | None = None,
        feedback: bool | None = None,
        collapse: bool | float = False,
    ) -> Explanation:
        decay = None if recency is None else Recency.of(recency, today)
        threshold = None if collapse is False else threshold_of(collapse)
        snap = self._cur()
        node = self._plan_for(
            snap, query, syntax, default_operator, scoring, _plan_today(query, today, decay)
        )
        node, decay = _with_recency(node, decay, recency, today)
        scoring = _with_feedback(scoring or snap.settings.scoring, feedback)
        check_type("article_id", article_id, str, "a string")
        sh = layout.shard_of(article_id, len(snap.manifest.shards))
        where = snap.shards.call(sh, "locate", article_id)
        if where is None:
            return Explanation(0.0, f"article {article_id!r} is not in the index")
        run, expansion = self._expanded(snap, node, scoring)
        why, day = snap.shards.call(sh, "explain", run, scoring, self._dfs(snap, run), *where)
        if why is None:
            return Explanation(0.0, f"article {article_id!r} does not match the query")
        if scoring.feedback:
            why = explain_expansion(why, expansion, scoring)
        if self._has_pairs(snap, node, scoring):
            why = self._explain_rescore(snap, run, node, scoring, decay, sh, where, why)
        if decay is not None:
            out = decay.explain(why, day, f"score of {article_id!r}, ")
        elif why.op == "sum" and why.details:
            out = Explanation(why.value, f"score of {article_id!r}, {why.description}", why.details)
        else:
            out = Explanation(why.value, f"score of {article_id!r}:", [why])
        if threshold is not None:
            near = self._near(snap, threshold)
            parts = snap.shards.call_all(
                "collapse_top",
                run,
                scoring,
                self._dfs(snap, run),
                0,
                "relevance",
                decay,
                False,
                threshold,
            )
            copies, under, id_of = near.group([p[3] for p in parts], "relevance")
            note = collapse_note(copies, under, near.at((sh, *where)), threshold, id_of.__getitem__)
            out = dataclasses.replace(out, description=f"{out.description} [{note}]")
        return out

    def _explain_rescore(
        self,
        snap: _ClusterSnapshot,
        run: P.Node,
        node: P.Node,
        scoring: Scoring,
        decay: Recency | None,
        sh: int,
        where: tuple[int, int],
        why: Explanation,
    ) -> Explanation:
        """``why`` plus the proximity bonus when the search would rescore the article (it is
        among the merged first stage's best ``rescore_window``), as one index says it."""
        window = scoring.rescore_window
        parts = snap.shards.call_all(
            "top", run, scoring, self._dfs(snap, run), window, "relevance", decay, False
        )
        picked = _merge([p[0] for p in parts], window, "relevance")
        if not any(p[:3] == (sh, *where) for p in picked):
            return Explanation(
                why.value,
                f"{why.description} (not among the first stage's best {window}: no proximity"
                " rescore)",
                why.details,
                why.op,
            )
        bonus = snap.shards.call(sh, "explain_bonus", node, scoring, self._dfs(snap, node), *where)
        return Explanation(
            why.value + bonus.value, "first stage plus the proximity rescore, sum of:", [why, bonus]
        )

    def parse(
        self,
        text: str,
        *,
        lenient: bool = False,
        syntax: str = "query",
        default_operator: str = "or",
        today: _dt.date | None = None,
    ) -> Query:
        check_type("text", text, str, "a string")
        check_bool("lenient", lenient)
        _check_options(syntax, default_operator, None, today)
        snap = self._cur()
        stored = snap.settings.store_body
        if lenient and syntax == "query":
            from ..querylang import compile_lenient

            prefix_limit, expansion_limit = self._limits()
            node, warnings = compile_lenient(
                text,
                analyzers=snap.analyzers,
                default_operator=default_operator,
                expand_prefix=partial(_expand_prefix, snap.shards, prefix_limit),
                prefix_limit=prefix_limit,
                today=today,
                expansion_limit=expansion_limit,
            )
            return Query(text, node, snap.analyzers, tuple(warnings), body_stored=stored)
        node = self._plan_for(snap, text, syntax, default_operator, None, today)
        return Query(text, node, snap.analyzers, body_stored=stored)

    def facets(self, *, date_bucket: str | None = None) -> Facets:
        if date_bucket is not None:
            check_choice("date_bucket", date_bucket, BUCKETS)
        snap = self._cur()
        parts = snap.shards.call_all(
            "top", P.MatchAll(), snap.settings.scoring, {}, 0, "relevance", None, True
        )
        return _merge_facets([p[2] for p in parts], date_bucket)

    def get(self, article_id: str) -> Article | None:
        check_type("article_id", article_id, str, "a string")
        snap = self._cur()
        sh = layout.shard_of(article_id, len(snap.manifest.shards))
        return cast("Article | None", snap.shards.call(sh, "get", article_id))

    def __contains__(self, article_id: str) -> bool:
        return self.get(article_id) is not None

    def stats(self) -> dict[str, Any]:
        snap = self._cur()
        parts = snap.shards.call_all("stats")
        days = [d for p in parts for d in p["days"]]
        lo = min((d[0] for d in days if d[0] is not None), default=None)
        hi = max((d[1] for d in days if d[1] is not None), default=None)
        n = max(snap.corpus.doc_count, 1)
        return {
            "path": str(self.path),
            "generation": snap.generation,
            "documents": snap.corpus.doc_count,
            "deleted": sum(p["deleted"] for p in parts),
            "segments": sum(p["segments"] for p in parts),
            "terms": sum(p["terms"] for p in parts),
            "postings": sum(p["postings"] for p in parts),
            "date_min": _iso_day(lo),
            "date_max": _iso_day(hi),
            "size_bytes": sum(p["size_bytes"] for p in parts),
            "avg_lengths": {f: t / n for f, t in zip(TEXT_FIELDS, snap.corpus.field_totals)},
            "settings": snap.settings.to_dict(),
            "shards": len(parts),
        }

    def expand_prefix(self, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS) -> list[str]:
        check_type("prefix", prefix, str, "a string")
        check_type("fields", fields, tuple, "a tuple of text fields")
        for field in fields:
            check_choice("fields", field, TEXT_FIELDS)
        return _expand_prefix(self._cur().shards, self._limits()[0], prefix, fields)

    def like_query(self, article_id: str, *, max_terms: int = DEFAULT_MAX_TERMS) -> Query:
        return self._like(self._cur(), article_id, max_terms)[2]

    def _like(
        self, snap: _ClusterSnapshot, article_id: str, max_terms: int
    ) -> tuple[int, tuple[int, int], Query]:
        """The shard and place of ``article_id`` and its MoreLikeThis query, its terms
        weighted with the collection's statistics (as one index holding every shard's
        articles weighs them)."""
        check_max_terms(max_terms)
        check_type("article_id", article_id, str, "a string")
        sh = layout.shard_of(article_id, len(snap.manifest.shards))
        found = snap.shards.call(sh, "like_terms", article_id)
        if found is None:
            raise ConfigError(f"more_like_this: no article with id {article_id!r} in the index")
        where, terms = found
        dfs = self._gather_dfs(snap, [(t, ALL_FIELDS) for t in dict.fromkeys(terms)])
        weighted = distinctive_terms(_CollectionStats(snap.corpus, dfs), terms, max_terms)
        return sh, where, like_query_of(weighted, snap.analyzers, snap.settings.store_body)

    def more_like_this(
        self,
        article_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        query: str | Query | None = None,
        syntax: str = "query",
        today: _dt.date | None = None,
        sort: str = "relevance",
        scoring: Scoring | None = None,
        facets: bool = False,
        date_bucket: str | None = None,
        max_terms: int = DEFAULT_MAX_TERMS,
        recency: str | _dt.timedelta | float | None = None,
    ) -> Results:
        started = time.perf_counter()
        _check_listing(limit, offset, sort, facets, date_bucket)
        if scoring is not None:
            check_type("scoring", scoring, Scoring, "a Scoring or None")
        decay = None if recency is None else Recency.of(recency, today)
        snap = self._cur()
        sh, where, like = self._like(snap, article_id, max_terms)
        node: P.Node = like._plan
        if query is not None:
            _learn(snap, query)
            plan_today = _plan_today(query, today, decay)
            only = self._plan_for(snap, query, syntax, "or", None, plan_today)
            only, decay = _with_recency(only, decay, recency, today)
            node = P.Bool(must=(node,), filter=(only,))
        scoring = scoring or snap.settings.scoring
        k = limit + offset
        dfs = self._dfs(snap, node)
        parts = snap.shards.run(
            [  # never the story itself
                (i, "top", (node, scoring, dfs, k, sort, decay, facets, where if i == sh else None))
                for i in range(len(snap.manifest.shards))
            ]
        )
        picked = _merge([p[0] for p in parts], k, sort)
        return self._results(snap, node, picked, parts, offset, date_bucket, facets, started)

    def duplicates(self, *, threshold: float = DEFAULT_THRESHOLD) -> list[tuple[str, ...]]:
        """As :meth:`Index.duplicates`, over every shard's stories; a group's stories of the
        same day list by shard, then segment and document."""
        limit = check_number("threshold", threshold, MIN_THRESHOLD, 1.0)
        snap = self._cur()
        near = self._near(snap, limit)
        segments = near.segments
        parts = []
        for g, seg in enumerate(segments):
            docs = np.arange(seg.ndocs) if seg.live is None else np.flatnonzero(seg.live)
            cls = near.index.cls[near.index.bases[g] + docs]
            docs = docs[cls >= 0]
            parts.append((g, docs[near.index.dupable[cls[cls >= 0]]]))
        segs = np.concatenate([np.full(len(d), g) for g, d in parts] + [np.zeros(0)])
        docs = np.concatenate([d for _, d in parts] + [np.zeros(0)]).astype(np.int64)
        days = np.concatenate([segments[g].dates[d] for g, d in parts] + [np.zeros(0)])
        order = np.lexsort((docs, segs, days))  # oldest first, then shard, segment, doc
        where = np.stack([segs[order], docs[order]], axis=1).astype(np.int64)
        _, leader = groups(signatures_of(cast(list[Segment], segments), where), limit)
        # Only the grouped stories' ids cross the network: one message per worker.
        shard_of = np.searchsorted(near.offsets, where[:, 0], side="right") - 1
        local = where[:, 0] - np.asarray(near.offsets, dtype=np.int64)[shard_of]
        shards = np.unique(shard_of).tolist()
        replies = snap.shards.run(
            [(sh, "ids_of", (local[shard_of == sh], where[shard_of == sh, 1])) for sh in shards]
        )
        ids = np.empty(len(where), dtype=object)
        for sh, reply in zip(shards, replies):
            ids[shard_of == sh] = reply
        members: dict[int, list[str]] = {}
        for pid, lead in zip(ids.tolist(), leader.tolist()):
            members.setdefault(lead, []).append(pid)
        found = [(lead, group) for lead, group in members.items() if len(group) > 1]
        found.sort(key=lambda item: (-len(item[1]), item[0]))
        return [tuple(group) for _, group in found]

    @property
    def _searcher(self) -> Any:
        raise ConfigError("a sharded index has no single searcher")

    @property
    def _analyzers(self) -> dict[str, Analyzer]:
        return self._cur().analyzers


def _learn(snap: _ClusterSnapshot, query: str | Query) -> None:
    """Learn the stems and dfs of a query text's new words in one round (see
    :meth:`_ClusterSnapshot.learn`): words of a ``title:`` clause are the title analyzer's,
    the others the unfielded one's. Words it misses are asked for when planning meets them."""
    if not isinstance(query, str) or isinstance(snap.shards, _LocalShards):
        return  # (in this process a word costs a lookup, not a round)
    lowered = query.lower()
    analyzers = [UNFIELDED_ANALYZER]
    if "title" in lowered and "title" != UNFIELDED_ANALYZER:
        analyzers.append("title")
    # The dfs asked: of unfielded words, and of a field's when the text names it.
    fields = [ALL_FIELDS]
    fields += [(fi,) for fi, f in enumerate(TEXT_FIELDS) if f in lowered]
    snap.learn([(a, t) for a in analyzers for t in snap.analyzers[a].raw_tokens(query)], fields)


class _Signed:
    """One shard segment as :class:`NearIndex` reads it: size, live docs, signatures, days."""

    def __init__(self, ndocs: int, live: np.ndarray, sigs: np.ndarray, dates: np.ndarray):
        self.ndocs = ndocs
        self.dates = dates
        self.live: np.ndarray | None = None
        if len(live) < ndocs:
            self.live = np.zeros(ndocs, dtype=bool)
            self.live[live] = True
        self._sigs = np.zeros((ndocs, sigs.shape[1] if sigs.ndim == 2 else 0), dtype=sigs.dtype)
        self._sigs[live] = sigs

    def signatures(self, docs: np.ndarray | None = None) -> np.ndarray:
        """As :meth:`Segment.signatures`."""
        return self._sigs if docs is None else self._sigs[docs]


class _Near:
    """Near-duplicates over every shard: a :class:`NearIndex` of all their segments,
    numbered shard after shard (``offsets``: each shard's first), so its order of segments
    is the coordinator's (shard, then segment)."""

    def __init__(self, segments: list[_Signed], offsets: list[int], threshold: float):
        self.segments = segments
        self.offsets = offsets
        self.index = NearIndex(cast(list[Segment], segments), threshold)

    def at(self, pick: tuple) -> tuple[int, int]:
        """The (global segment, doc) of a merged pick ``(shard, segment, doc, ...)``."""
        return self.offsets[pick[0]] + pick[1], pick[2]

    def dupable_of(self, sh: int) -> list[np.ndarray]:
        """Per segment of shard ``sh``: which docs have a near-duplicate."""
        near = self.index
        end = self.offsets[sh + 1] if sh + 1 < len(self.offsets) else len(self.segments)
        out = []
        for g in range(self.offsets[sh], end):
            cls = near.cls[near.bases[g] : near.bases[g + 1]]
            ok = cls >= 0
            ok[ok] = near.dupable[cls[ok]]
            out.append(ok)
        return out

    def group(
        self, parts: list[ShardTop], sort: str
    ) -> tuple[dict[_Where, list[_Where]], dict[_Where, _Where], dict[_Where, str]]:
        """:func:`collapse_matches` over every shard's matches with a near-duplicate: the
        copies of each kept story, the story each copy is under, and their ids."""
        rows: dict[int, list[tuple[int, float]]] = {}
        id_of: dict[_Where, str] = {}
        for sh, (segs, docs, scores, _, ids) in enumerate(parts):
            for si, doc, score, pid in zip(segs.tolist(), docs.tolist(), scores.tolist(), ids):
                g = self.offsets[sh] + si
                rows.setdefault(g, []).append((doc, score))
                id_of[(g, doc)] = pid
        matches = []
        for g in sorted(rows):
            found = sorted(rows[g])
            matches.append(
                (
                    g,
                    SegmentMatches(
                        np.array([d for d, _ in found], dtype=np.int64),
                        np.array([x for _, x in found], dtype=np.float64),
                    ),
                )
            )
        segments = cast(list[Segment], self.segments)
        copies, under = collapse_matches(self.index, matches, segments, sort)
        return copies, under, id_of


_Where = tuple[int, int]


class _CollectionStats(Searcher):
    """The statistics :func:`distinctive_terms` asks a searcher for, of a whole sharded
    collection: its document count and the dfs gathered from the shards."""

    def __init__(self, corpus: Corpus, dfs: Dfs):
        super().__init__([], corpus)
        self._dfs = dfs

    def term_stats(
        self, term: str, fields: tuple[int, ...], dfs: Dfs | None = None
    ) -> tuple[tuple, int, float]:
        df = (dfs or self._dfs)[(term, fields)]
        return (), df, idf(df, self.doc_count) if df else 0.0


def _expand_prefix(
    shards: _Shards, limit: int, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS
) -> list[str]:
    found: set[str] = set()
    for terms in shards.call_all("expand_prefix", prefix, limit, fields):
        found.update(terms)
    return sorted(found)


def _merge(parts: list[ShardTop], k: int, sort: str) -> list[tuple[int, int, int, float, int, str]]:
    """The best ``k`` of every shard's best, in topk's total order with the shard number
    before the segment number: ``(shard, segment, doc, score, day, id)``."""
    rows: list[tuple] = []
    for sh, (segs, docs, scores, days, ids) in enumerate(parts):
        picks = zip(segs.tolist(), docs.tolist(), scores.tolist(), days.tolist(), ids)
        for si, doc, score, day, pid in picks:
            if sort == "relevance":  # score, day, shard, segment, doc: all descending
                rows.append((score, day, sh, si, doc, pid))
            elif sort == "date":  # day, score, shard, segment, doc: all descending
                rows.append((day, score, sh, si, doc, pid))
            else:  # day ascending, score descending (negated), the rest ascending
                rows.append((day, -score, sh, si, doc, pid))
    rows.sort(key=lambda r: r[:5], reverse=sort != "oldest")
    rows = rows[:k]
    if sort == "relevance":
        return [(sh, si, doc, score, day, pid) for score, day, sh, si, doc, pid in rows]
    if sort == "date":
        return [(sh, si, doc, score, day, pid) for day, score, sh, si, doc, pid in rows]
    return [(sh, si, doc, -neg, day, pid) for day, neg, sh, si, doc, pid in rows]


def _merge_facets(parts: list[RawFacets | None], date_bucket: str | None) -> Facets:
    keyword: dict[str, Counter[str]] = {
        "source": Counter(),
        "section": Counter(),
        "author": Counter(),
    }
    days = []
    for part in parts:
        if part is None:
            continue
        for kname, counter in part[0].items():
            keyword[kname].update(counter)
        days.append(np.repeat(part[1], part[2]))
    all_days = np.concatenate(days) if days else np.zeros(0, dtype=np.int32)
    return facets_from_counts(keyword, all_days, date_bucket)


def _local_cluster(workers: int) -> tuple[Any, Any]:
    """A client of a LocalCluster of ``workers`` single-threaded processes (and the cluster)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "workers needs Dask distributed: pip install 'newsindex[cluster]'"
        ) from None
    import dask

    # A build's worker runs one long CPU-bound task: Dask's stack sampling profiler (for a
    # dashboard this cluster does not have) and its MALLOC_TRIM_THRESHOLD_ (which turns off
    # glibc's adaptive mmap threshold, so every large numpy temporary is mapped, faulted in
    # and unmapped again) each cost it a share of its CPU (benchmarks/RESULTS.md).
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set(
        {
            "distributed.worker.profile.enabled": False,
            "distributed.nanny.pre-spawn-environ": environ,
        }
    ):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    return Client(cluster), cluster


def check_scheduler(scheduler: object) -> None:
    """ArgumentTypeError unless ``scheduler`` is an address or a Dask Client (checked
    without importing Dask); ConfigError for an empty address."""
    if isinstance(scheduler, str):
        if not scheduler.strip():
            raise ConfigError(f"scheduler must be a Dask scheduler address, got {scheduler!r}")
        return
    if not _is_client(scheduler):
        raise ArgumentTypeError(
            "scheduler must be a Dask scheduler address (str) or a dask.distributed.Client, "
            f"got {type(scheduler).__name__}"
        )


def _is_client(value: object) -> bool:
    return any(
        c.__name__ == "Client" and c.__module__.startswith("distributed")
        for c in type(value).__mro__
    )


def _connect(scheduler: Any) -> tuple[Any, bool]:
    """A Dask client for ``scheduler`` (an address or a Client) and whether we own it."""
    check_scheduler(scheduler)
    if isinstance(scheduler, str):
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(
                "scheduler needs Dask distributed: pip install 'newsindex[cluster]'"
            ) from None
        try:
            return Client(scheduler, timeout="10s"), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"scheduler {scheduler!r}: cannot connect ({exc})") from exc
    return scheduler, False


def _check_listing(
    limit: int, offset: int, sort: str, facets: bool, date_bucket: str | None
) -> None:
    """The checks every listing (a search, related stories) makes of its page and facets."""
    _check_page(limit, offset, sort)
    check_bool("facets", facets)
    if date_bucket is not None:
        check_choice("date_bucket", date_bucket, BUCKETS)
