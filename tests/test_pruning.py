"""Rank-safe pruning: a top-k search returns exactly what exhaustive evaluation returns.

Corpora are generated (several segments, deletions and replacements, repeated words so term
frequencies and field lengths vary, ties of every kind), then queries of every shape, with
every sort, filters, limits and offsets, run twice: pruned (the default) and with the
searcher forced to its exhaustive reference. Hits (ids, order, scores) and totals must be
the same. Blocks and windows are shrunk so that small corpora have many of each, which is
where a wrong bound or a wrong skip would show.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.handle import _plan
from newsindex.index import blocks
from newsindex.schema import TEXT_FIELDS
from newsindex.search import prune
from newsindex.search.topk import SORTS
from tests.histories import replay

WORDS = ["oil", "gas", "price", "opec", "crude", "bank", "rate", "wheat", "ship", "port"]
DAYS = ["2016-11-09", "2016-11-10", "2016-12-01", "2017-01-05", None]
SECTIONS = ["world", "business", None]

COMPAT = Path(__file__).parent / "data" / "compat" / "format-1" / "index"


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_SIZE", 4)
    monkeypatch.setattr(prune, "BLOCK_SIZE", 4)
    monkeypatch.setattr(prune, "WINDOW_SHIFT", 3)
    monkeypatch.setattr(prune, "_SEED_MIN", 8)
    monkeypatch.setattr(prune, "_SEED_PER_HIT", 1)
    monkeypatch.setattr(prune, "SMALL", 0)
    monkeypatch.setattr(prune, "SEED_WHOLE", 0)


def _text(rng: random.Random, longest: int, skew: float) -> str:
    # Skewed word choice: a few words common, the others rarer, as in real text.
    n = rng.randint(0, longest)
    return " ".join(WORDS[min(int(rng.paretovariate(skew)) - 1, 9)] for _ in range(n))


@st.composite
def corpora(draw):
    """Batches (one segment each) of (documents, ids deleted afterwards); drawn from a seed,
    as hundreds of documents are more than hypothesis should draw one value at a time."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    skew = draw(st.sampled_from([0.7, 1.2, 2.0]))
    batches = []
    n = 0
    for size in draw(st.lists(st.integers(1, 160), min_size=1, max_size=4)):
        docs = []
        for _ in range(size):
            n += 1
            doc = {"id": f"d{n}", "title": _text(rng, 4, skew), "body": _text(rng, 40, skew)}
            day = rng.choice(DAYS)
            if day:
                doc["date"] = day
            section = rng.choice(SECTIONS)
            if section:
                doc["section"] = section
            docs.append(doc)
        gone = [f"d{rng.randint(1, n)}" for _ in range(draw(st.integers(0, 12)))]
        batches.append((docs, gone))
    return batches


word = st.sampled_from(WORDS)
boost = st.sampled_from(["", "^2", "^0.5", "^3"])
queries = st.one_of(
    st.lists(word, min_size=1, max_size=12).map(" ".join),
    st.tuples(st.lists(st.tuples(word, boost).map("".join), min_size=1, max_size=5), word).map(
        lambda t: " ".join(t[0]) + f" -{t[1]}"
    ),
    st.tuples(st.lists(word, min_size=1, max_size=5), st.sampled_from(DAYS[:4])).map(
        lambda t: " ".join(t[0]) + f" date:>={t[1]}"
    ),
    st.tuples(st.lists(word, min_size=1, max_size=5), st.sampled_from(SECTIONS[:2])).map(
        lambda t: " ".join(t[0]) + f" section:{t[1]}"
    ),
    st.tuples(st.lists(word, min_size=1, max_size=5), st.sampled_from(SECTIONS[:2])).map(
        lambda t: " ".join(t[0]) + f" -section:{t[1]}"
    ),
    st.tuples(st.lists(word, min_size=2, max_size=4), boost).map(
        lambda t: f"({' '.join(t[0])}){t[1]} date:2016"
    ),
    st.lists(word, min_size=2, max_size=3).map(lambda w: f'"{" ".join(w)}"'),
    st.lists(word, min_size=2, max_size=3).map(" AND ".join),
    st.tuples(word, word).map(lambda t: f"+{t[0]} {t[1]}"),
    st.tuples(word, word).map(lambda t: f"title:{t[0]} {t[1]}"),
    st.tuples(word, word).map(lambda t: f"{t[0][:2]}* {t[1]}"),
)


def _both(ix: newsindex.Index, query: str, **kwargs):
    searcher = ix._current().searcher
    try:
        pruned = ix.search(query, **kwargs)
        searcher.exhaustive = True
        reference = ix.search(query, **kwargs)
    finally:
        searcher.exhaustive = False
    return pruned, reference


def _same(pruned, reference) -> None:
    assert pruned.total == reference.total
    assert [h.id for h in pruned.hits] == [h.id for h in reference.hits]
    for a, b in zip(pruned.hits, reference.hits):
        assert a.score == b.score  # to the bit: the same operations in the same order
        assert a.rank == b.rank


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    corpus=corpora(),
    asked=st.lists(
        st.tuples(queries, st.sampled_from(SORTS), st.integers(0, 12), st.integers(0, 6)),
        min_size=1,
        max_size=12,
    ),
    fallback=st.sampled_from([0.0, 0.25, 1.0]),
)
def test_pruned_top_k_equals_exhaustive(tmp_path_factory, monkeypatch, corpus, asked, fallback):
    monkeypatch.setattr(prune, "EXHAUSTIVE_SHARE", fallback)  # never, sometimes, always exhaustive
    ix = newsindex.Index.create(tmp_path_factory.mktemp("prune") / "idx")
    for docs, gone in corpus:
        with ix.writer() as w:
            for doc in docs:
                w.add(doc)
            for i in gone:
                w.delete(i)
    for query, sort, limit, offset in asked:
        _same(*_both(ix, query, sort=sort, limit=limit, offset=offset))


def test_pruning_skips_documents_on_a_real_corpus(tmp_path, sample_docs, monkeypatch):
    """The pruned path is taken and leaves most matches unscored, and still agrees."""
    monkeypatch.setattr(prune, "EXHAUSTIVE_SHARE", 1.0)
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for doc in sample_docs:
            w.add(doc)
    for query in ["oil prices opec", "the bank said", "oil", "wheat exports date:1987"]:
        _same(*_both(ix, query, limit=10))
    snap = ix._current()
    scoring = snap.settings.scoring
    node = _plan(snap, "oil prices opec", "query", "or", None, None, ix._limits())
    kept = sum(len(m.docs) for _, m in snap.searcher.top_matches(node, scoring, 10))
    counted = sum(m.count or 0 for _, m in snap.searcher.top_matches(node, scoring, 10))
    assert counted == sum(len(m.docs) for _, m in snap.searcher.execute(node, scoring))
    assert kept < counted / 2


@pytest.mark.parametrize("query", ["oil", "oil price", "opec oil -gas", "oil date:1987"])
def test_segments_without_block_maxima_answer_exhaustively(query):
    ix = newsindex.Index.open(COMPAT)
    assert not any(seg.has_blocks for seg in ix._current().searcher.segments)
    _same(*_both(ix, query, limit=5))


@st.composite
def postings_of_a_segment(draw):
    """Terms' postings (doc numbers ascending per term), per-field tfs (0: not in the field)
    and per-doc field lengths in the dtypes a segment holds, lengths up to their dtype's
    largest value (which block_maxima also uses to mask postings without the field)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ndocs = draw(st.integers(1, 300))
    counts = [int(rng.integers(0, ndocs + 1)) for _ in range(draw(st.integers(0, 12)))]
    docs = [np.sort(rng.choice(ndocs, size=c, replace=False)) for c in counts]
    post_docs = np.concatenate([np.zeros(0, np.int64), *docs]).astype(np.int32)
    offs = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
    tf_dtype = draw(st.sampled_from([np.uint8, np.uint16, np.uint32]))
    tfs = [rng.integers(0, 4, size=len(post_docs)).astype(tf_dtype) for _ in TEXT_FIELDS]
    len_dtype = draw(st.sampled_from([np.int32, np.uint8, np.uint16]))
    top = int(np.iinfo(len_dtype).max)
    lengths = [
        rng.choice([0, 1, 2, 7, top - 1, top], size=ndocs).astype(len_dtype) for _ in TEXT_FIELDS
    ]
    return offs, post_docs, tfs, lengths


@settings(max_examples=200, deadline=None)
@given(segment=postings_of_a_segment(), block_size=st.sampled_from([1, 3, 128]))
def test_block_maxima_equal_a_loop_over_every_block(segment, block_size):
    """Differential: the whole-array block maxima against a plain loop over each block."""
    offs, post_docs, tfs, lengths = segment
    old, blocks.BLOCK_SIZE = blocks.BLOCK_SIZE, block_size
    try:
        got = blocks.block_maxima(offs, post_docs, tfs, lengths)
    finally:
        blocks.BLOCK_SIZE = old
    want_offs = [0]
    want: dict[str, list[int]] = {f"blk.{k}.{f}": [] for f in TEXT_FIELDS for k in ("tf", "len")}
    for t in range(len(offs) - 1):
        s, e = int(offs[t]), int(offs[t + 1])
        for lo in range(s, e, block_size):
            hi = min(lo + block_size, e)
            for fi, fname in enumerate(TEXT_FIELDS):
                tf = [int(x) for x in tfs[fi][lo:hi]]
                has = [int(lengths[fi][d]) for d, f in zip(post_docs[lo:hi], tf) if f > 0]
                want[f"blk.tf.{fname}"].append(max(tf))
                want[f"blk.len.{fname}"].append(min(has) if has else 0)
        want_offs.append(want_offs[-1] + -(-(e - s) // block_size))
    assert got["blk.offs"].tolist() == want_offs
    for name, values in want.items():
        assert got[name].tolist() == values, name
        assert got[name].dtype == (np.int64 if ".len." in name else tfs[0].dtype), name


def test_block_maxima_bound_every_posting(tmp_path, sample_docs):
    """Each block's stored maxima are the true maxima of its postings (so every bound holds)."""
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for doc in sample_docs[:400]:
            w.add(doc)
    seg = ix._current().searcher.segments[0]
    offs = seg.post_offs
    arr = seg._arrays
    blk_offs = arr["blk.offs"]
    blk_tf = [arr[f"blk.tf.{f}"] for f in TEXT_FIELDS]
    blk_len = [arr[f"blk.len.{f}"] for f in TEXT_FIELDS]
    for t in range(0, len(offs) - 1, 7):
        s, e = int(offs[t]), int(offs[t + 1])
        b0, b1 = int(blk_offs[t]), int(blk_offs[t + 1])
        assert b1 - b0 == -(-(e - s) // blocks.BLOCK_SIZE)
        for j in range(b1 - b0):
            lo, hi = s + j * blocks.BLOCK_SIZE, min(s + (j + 1) * blocks.BLOCK_SIZE, e)
            docs = seg.post_docs[lo:hi]
            for fi in range(len(seg.post_tf)):
                tf = seg.post_tf[fi][lo:hi]
                assert blk_tf[fi][b0 + j] == tf.max()
                has = tf > 0
                want = int(seg.lengths[fi][docs[has]].min()) if has.any() else 0
                assert blk_len[fi][b0 + j] == want
    assert np.all(np.diff(blk_offs) >= 0)


SCORINGS = [
    None,  # the index's own: the blocks' tfn bound it
    newsindex.Scoring(k1=0.0),
    newsindex.Scoring(k1=0.4, b=1.0),
    newsindex.Scoring(weights={"title": 0.0, "body": 1.0}),
    newsindex.Scoring(k1=3.0, b=0.0, weights={"title": 5.0, "body": 0.5}),
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corpus=corpora(), scoring=st.sampled_from(SCORINGS))
def test_block_bounds_bound_every_score(tmp_path_factory, corpus, scoring):
    """Every block's bound, tight (the index's scoring: ``blk.tfn``, scaled for the whole
    index's average lengths, which deletions and other segments move away from the
    segment's own) or per field (any other scoring), is at least the score of each of its
    postings, computed as a search computes it."""
    from newsindex.search.searcher import _Context

    ix = replay(tmp_path_factory.mktemp("bounds") / "idx", (corpus, False))
    snap = ix._current()
    searcher = snap.searcher
    ctx = _Context(searcher, scoring or snap.settings.scoring)
    tight = checked = 0
    for word in WORDS:
        node = _plan(snap, word, "query", "or", None, None, ix._limits())
        dis = prune.disjunction(node)
        if dis is None:
            continue
        leaf = ctx.leaf(dis.terms[0])
        for si, seg in enumerate(searcher.segments):
            s, e = leaf.slices[si]
            if e <= s:
                continue
            checked += 1
            tight += seg.tfn_params is not None
            bound = searcher.block_bounds(si, leaf)
            scores = searcher.term_impacts(si, leaf, s, e)
            per_block = np.maximum.reduceat(scores, np.arange(0, e - s, blocks.BLOCK_SIZE))
            assert len(bound) == len(per_block)
            assert np.all(bound * (1 + 1e-9) >= per_block), (word, si)
    assert tight == checked  # every segment written now has them


def test_tight_bounds_only_for_the_scoring_they_were_made_with():
    params = np.array([2.0, 0.75, 10.0, 1.0, 0.75, 100.0])
    same = newsindex.Scoring(weights={"title": 2.0, "body": 1.0}, b=0.75)
    assert blocks.tfn_ratio(params, same, (10.0, 100.0)) == 1.0
    assert blocks.tfn_ratio(params, same, (5.0, 50.0)) == 1.0  # shorter averages: no larger
    assert blocks.tfn_ratio(params, same, (20.0, 150.0)) == 2.0  # the largest growth
    assert (
        blocks.tfn_ratio(
            params, newsindex.Scoring(k1=0.2, b=0.75, weights=same.weights), (10.0, 100.0)
        )
        == 1.0
    )
    for other in (newsindex.Scoring(b=0.5, weights=same.weights), newsindex.Scoring()):
        assert blocks.tfn_ratio(params, other, (10.0, 100.0)) == float("inf")
    assert blocks.tfn_ratio(params[:3], same, (10.0, 100.0)) == float("inf")


def test_tfn_bounds_are_rounded_up():
    """float32 rounds about half of all doubles down: every stored bound must be at least
    its double, and no more than one float32 step above it."""
    rng = np.random.default_rng(7)
    values = np.concatenate(
        (rng.random(500) * 10, rng.random(500) * 1e6, [0.7, 1 / 3, 2.0, 1e-30, 0.0])
    )
    n = len(values)
    got = blocks.block_maxima(
        np.arange(n + 1),
        np.zeros(n, dtype=np.int64),
        [values, np.zeros(n)],
        [np.array([1]), np.array([1])],
        [np.array([1.0]), np.array([0.0])],
    )["blk.tfn"]
    assert got.dtype == np.float32
    assert np.all(got.astype(np.float64) >= values)
    assert np.all(
        np.nextafter(got, np.float32(-np.inf)).astype(np.float64) < values + (values == 0)
    )


_scores = st.one_of(st.floats(-5.0, 50.0, allow_nan=False), st.sampled_from([0.0, 1.5, 2.25, 7.0]))


@settings(max_examples=300, deadline=None)
@given(
    k=st.integers(1, 80),
    adds=st.lists(st.lists(_scores, max_size=400), max_size=12),
)
def test_the_running_kth_best_is_the_kth_of_every_score_added(k, adds):
    """Best's threshold after each segment's scores is the k-th best of all added so far
    (ties counted, 0 before k are seen): a heap of floats for a small k, numpy's partition
    for a larger one, and many scores at once cut to their k best first."""
    best = prune.Best(k)
    seen: list[float] = []
    for scores in adds:
        best.add(np.array(scores, dtype=np.float64))
        seen += scores
        want = sorted(seen, reverse=True)[k - 1] if len(seen) >= k else 0.0
        assert best.threshold() == want


def test_block_bound_ratios_are_kept_per_scoring(tmp_path, sample_docs):
    """A search's tfn ratio in each segment is tfn_ratio's under its own scoring, whatever
    scorings searched before (the searcher keeps one list per scoring)."""
    from newsindex.config import Scoring
    from newsindex.search.searcher import _Context

    ix = newsindex.Index.create(tmp_path / "idx")
    for part in (sample_docs[:300], sample_docs[300:700], sample_docs[700:]):
        with ix.writer() as w:
            for d in part:
                w.add(d)
    searcher = ix._searcher
    default = ix.settings.scoring
    scorings = [default, Scoring(b=0.3), default, Scoring(k1=0.5), Scoring(b=0.3), default]
    seen = set()
    for scoring in scorings:
        ctx = _Context(searcher, scoring)
        for si, seg in enumerate(searcher.segments):
            want = blocks.tfn_ratio(seg.tfn_params, scoring, searcher.avg_lengths)
            assert ctx.tight_ratio(si) == want == ctx.tight_ratio(si)
            seen.add(want == float("inf"))
    assert seen == {True, False}  # (a scoring bounded tightly and one not)
