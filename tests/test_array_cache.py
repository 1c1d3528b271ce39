"""The per-snapshot cache of term arrays (impacts, window bounds, phrase position keys) stays
within its byte budget, counts exactly what it holds, holds only arrays that own their memory
(a view would keep a larger base alive after its own eviction), and never changes an answer:
a searcher that keeps nothing, one that keeps a few arrays and one that keeps everything
give the same hits, scores and totals, alone or with threads sharing the snapshot.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.search import searcher as searcher_module
from newsindex.search.searcher import _ArrayCache

WORDS = ["oil", "gas", "price", "opec", "crude", "bank", "rate", "wheat", "corn", "gold"]


def _check(cache: _ArrayCache, budget: int) -> None:
    held = cache.held()
    assert cache.nbytes == sum(a.nbytes for a in held)
    assert cache.nbytes <= budget
    for a in held:
        assert a.flags.owndata and not a.flags.writeable


class _Counted(_ArrayCache):
    """Records every value the byte count takes, so a count over the budget is seen even
    when the same step brings it back (a thread reading ``nbytes`` in between saw it)."""

    def __setattr__(self, name, value):
        if name == "_bytes":
            self.__dict__.setdefault("counts", []).append(value)
        super().__setattr__(name, value)


@settings(max_examples=300, deadline=None)
@given(
    budget=st.integers(0, 4000),
    shapes=st.lists(st.tuples(st.integers(0, 600), st.booleans()), min_size=12, max_size=12),
    steps=st.lists(st.tuples(st.integers(0, 11), st.booleans()), max_size=80),
)
def test_cache_holds_within_budget_and_returns_what_was_made(budget, shapes, steps):
    """``shapes``: per key, the size of its array and whether its maker returns a view of a
    larger array (as the impacts of several terms made together are)."""
    cache = _Counted(budget)
    for key, peek in steps:
        size, view = shapes[key]
        expected = np.arange(size, dtype=np.float64) + key

        def make(size=size, view=view, key=key):
            base = np.arange(size * 2 if view else size, dtype=np.float64) + key
            return base[:size] if view else base

        got = cache.peek(("k", key)) if peek else cache.get(("k", key), make)
        if got is not None:
            assert np.array_equal(got, expected)
        _check(cache, budget)
    assert max(cache.counts) <= budget


@settings(max_examples=200, deadline=None)
@given(
    history=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 2000)), max_size=120),
    sizes=st.lists(st.integers(1, 2000), min_size=1, max_size=12),
)
def test_arrays_that_fit_probation_are_held_between_two_uses(history, sizes):
    """Whatever earlier queries left (protected or not), a run of new arrays that together
    fit most of the budget is still held when the next query asks for them
    again: a phrase's large position keys must not be dropped before their second use (with
    a protected share of 0.8 they were, and warm phrase queries paid for every key)."""
    budget = 10_000
    cache = _ArrayCache(budget)
    for key, size in history:  # used twice: promoted to protected, up to its share
        for _ in range(2):
            cache.get(("old", key), lambda size=size: np.zeros(size, dtype=np.uint8))
    room = int(budget * 0.6)  # most of the budget: the phrases in flight need it
    run, total = [], 0
    for i, size in enumerate(sizes):
        if total + size > room:
            break
        run.append((("new", i), size))
        total += size
    made: list[tuple] = []

    def maker(key, size):
        def make():
            made.append(key)
            return np.zeros(size, dtype=np.uint8)

        return make

    for key, size in run:
        cache.get(key, maker(key, size))
    made.clear()
    for key, size in run:
        cache.get(key, maker(key, size))
    assert made == []
    _check(cache, budget)


def test_cache_within_budget_under_threads():
    budget = 50_000
    cache = _ArrayCache(budget)
    errors: list[BaseException] = []
    stop = threading.Event()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(3000):
                key = rng.randrange(40)
                size = (key * 97) % 900  # the same size for the same key, as terms have
                got = cache.get(("k", key), lambda k=key, n=size: np.full(n, float(k)))
                assert len(got) == size and (size == 0 or got[0] == key)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def watch() -> None:
        while not stop.is_set():
            n = cache.nbytes
            if n > budget:
                errors.append(AssertionError(f"held {n} bytes, budget {budget}"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert not errors, errors[0]
    _check(cache, budget)


def _build(path, seed: int) -> None:
    rng = random.Random(seed)
    ix = newsindex.Index.create(path)
    n = 0
    for size in (rng.randint(20, 150), rng.randint(1, 80)):
        with ix.writer() as w:
            for _ in range(size):
                n += 1
                words = [WORDS[min(int(rng.paretovariate(0.8)) - 1, 9)] for _ in range(40)]
                w.add(
                    {
                        "id": f"d{n}",
                        "title": " ".join(rng.sample(WORDS, rng.randint(0, 3))),
                        "body": " ".join(words[: rng.randint(0, 40)]),
                        "date": rng.choice(["2016-11-09", "2016-12-01", "2017-01-05"]),
                        "section": rng.choice(["world", "business"]),
                    }
                )
            w.delete(f"d{rng.randint(1, n)}")
    ix.close()


word = st.sampled_from(WORDS + ["absent"])
queries = st.one_of(
    st.lists(word, min_size=1, max_size=10).map(" ".join),
    st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.tuples(st.lists(word, min_size=1, max_size=4), st.sampled_from(["world", "business"])).map(
        lambda t: " ".join(t[0]) + f" section:{t[1]} date:2016"
    ),
    st.tuples(word, st.lists(word, min_size=1, max_size=4)).map(
        lambda t: f"+{t[0]} {' '.join(t[1])}"
    ),
    st.tuples(word, word).map(lambda t: f"title:{t[0]} {t[1]}"),
)


def _open(path, budget: int, monkeypatch) -> newsindex.Index:
    monkeypatch.setattr(searcher_module, "TERM_ARRAYS_CACHE_BYTES", budget)
    return newsindex.Index.open(path)


def _answers(ix: newsindex.Index, asked: list[str]) -> list:
    out = []
    for q in asked:
        r = ix.search(q, limit=20)
        out.append((r.total, [(h.id, h.score) for h in r.hits]))
    return out


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), asked=st.lists(queries, min_size=1, max_size=25))
def test_answers_do_not_depend_on_the_budget(tmp_path_factory, monkeypatch, seed, asked):
    path = tmp_path_factory.mktemp("cache") / "idx"
    _build(path, seed)
    asked = asked + asked[::-1]  # later queries meet what earlier ones left (or evicted)
    answers = []
    for budget in (0, 3000, 1 << 40):
        ix = _open(path, budget, monkeypatch)
        try:
            answers.append(_answers(ix, asked))
            _check(ix._searcher._term_arrays, budget)
        finally:
            ix.close()
    assert answers[0] == answers[1] == answers[2]


@pytest.mark.parametrize("budget", [3000, 1 << 40])
def test_threads_share_a_small_cache(tmp_path, monkeypatch, budget):
    path = tmp_path / "idx"
    _build(path, 7)
    rng = random.Random(3)
    asked = [" ".join(rng.sample(WORDS, rng.randint(1, 6))) for _ in range(60)]
    asked += ['"' + " ".join(rng.sample(WORDS, 2)) + '"' for _ in range(20)]
    ix = _open(path, 1 << 40, monkeypatch)
    try:
        expected = dict(zip(asked, _answers(ix, asked)))
    finally:
        ix.close()
    ix = _open(path, budget, monkeypatch)
    cache = ix._searcher._term_arrays
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        order = asked[:]
        random.Random(seed).shuffle(order)
        try:
            for q in order:
                assert _answers(ix, [q])[0] == expected[q], q
                assert cache.nbytes <= budget
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        _check(cache, budget)
    finally:
        ix.close()


# -- the budget a user sets: Index.open(..., cache_mb=...) ----------------------------------
PHRASES = ['"oil gas"', '"price opec" crude', '"bank rate"~2', "oil gas price", '"gold corn"']


def _held(searchers) -> int:
    return sum(s._term_arrays.nbytes for s in searchers)


def _shard_searchers(ix) -> list:
    """Each shard's searcher, and the one over all their segments plain top-k searches use."""
    shards = ix._csnap.shards
    return [sh.searcher for sh in shards._shards] + [t[0] for t in shards._together.values()]


@pytest.mark.parametrize("sharded", [False, True])
def test_cache_mb_bounds_every_commit_and_never_changes_an_answer(tmp_path, sharded):
    """cache_mb=0 keeps nothing, in a fresh commit too (refresh) and in every shard; the
    default keeps the phrases' arrays (the check can fail); both answer alike."""
    path = tmp_path / "idx"
    if sharded:
        newsindex.ShardedIndex.create(path, shards=3).close()
    else:
        newsindex.Index.create(path).close()
    _build_into(path, 11)
    asked = PHRASES + [f"{a} {b}" for a in WORDS[:4] for b in WORDS[4:8]]
    kept = newsindex.Index.open(path)
    bare = newsindex.Index.open(path, cache_mb=0)
    small = newsindex.Index.open(path, cache_mb=1)
    searchers = _shard_searchers if sharded else (lambda ix: [ix._current().searcher])

    def answers(ix) -> list:  # (by relevance, and by date: a sharded index's two ways)
        dated = [[h.id for h in ix.search(q, limit=20, sort="date").hits] for q in asked]
        return [_answers(ix, asked), dated, [ix.count(q) for q in asked]]

    try:
        assert answers(bare) == answers(kept) == answers(small)
        assert _held(searchers(bare)) == 0
        assert _held(searchers(kept)) > 0
        assert all(s._term_arrays.nbytes <= 1 << 20 for s in searchers(small))
        with bare.writer() as w:  # a new commit: the new snapshot has the same budget
            w.add({"id": "new", "title": "oil gas", "body": "oil gas price opec"})
        kept.refresh()
        assert answers(bare) == answers(kept)
        assert bare.search('"oil gas"', limit=50).total == kept.search('"oil gas"').total
        assert _held(searchers(bare)) == 0
    finally:
        for ix in (kept, bare, small):
            ix.close()


def _build_into(path, seed: int) -> None:
    """:func:`_build`'s stories, into an index (sharded or not) that exists already."""
    rng = random.Random(seed)
    ix = newsindex.Index.open(path)
    with ix.writer() as w:
        for n in range(120):
            words = [WORDS[min(int(rng.paretovariate(0.8)) - 1, 9)] for _ in range(40)]
            w.add({"id": f"d{n}", "title": " ".join(rng.sample(WORDS, 3)), "body": " ".join(words)})
    ix.close()


@pytest.mark.parametrize(
    "bad, error",
    [
        (-1, newsindex.ConfigError),
        ((1 << 20) + 1, newsindex.ConfigError),
        (1.5, newsindex.ArgumentTypeError),
        (True, newsindex.ArgumentTypeError),
        ("64", newsindex.ArgumentTypeError),
    ],
)
def test_a_bad_cache_mb_is_refused_before_anything_opens(tmp_path, bad, error):
    newsindex.Index.create(tmp_path / "idx").close()
    for path in (tmp_path / "idx", tmp_path / "missing"):
        with pytest.raises(error, match="cache_mb"):
            newsindex.Index.open(path, cache_mb=bad)
