"""The compiled scan of OR-ed words (search/scan.py) answers exactly as the numpy path.

Corpora are generated (several segments, deletions, replacements, skewed words so that
frequencies, lengths and ties vary, frequencies too large for the packed column), then
disjunctions of every shape the kernel takes (1-20 words, repeats, boosts, groups, filters,
negations of filters and of words) and some it does not, with k from 0 to 50 and pages, each
run with the kernels on and off (:func:`newsindex.compiled.disabled`): the hits (ids, order,
scores to the bit), totals and facets must be the same. The kernel is forced onto these
small segments, with small blocks and windows, so each query crosses many of both.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import compiled
from newsindex.config import Scoring
from newsindex.errors import IndexCorruptError
from newsindex.index import blocks
from newsindex.search import prune, scan
from tests.crafting import craft, doc_coding, recode_docs
from tests.histories import replay

pytestmark = pytest.mark.skipif(
    not compiled.available(), reason="numba has no wheel for this Python"
)

WORDS = ["oil", "gas", "price", "opec", "crude", "bank", "rate", "wheat", "ship", "port"]
DAYS = ["2016-11-09", "2016-11-10", "2016-12-01", "2017-01-05", None]
SECTIONS = ["world", "business", None]


@pytest.fixture(autouse=True)
def forced(monkeypatch):
    """The kernel on every segment, with blocks of 4 postings."""
    monkeypatch.setattr(blocks, "BLOCK_SIZE", 4)
    monkeypatch.setattr(prune, "BLOCK_SIZE", 4)
    monkeypatch.setattr(scan, "MIN_POSTINGS", 0)
    monkeypatch.setattr(scan, "PRUNE_MIN", 0)


def _text(rng: random.Random, longest: int, skew: float) -> str:
    n = rng.randint(0, longest)
    return " ".join(WORDS[min(int(rng.paretovariate(skew)) - 1, 9)] for _ in range(n))


@st.composite
def corpora(draw):
    """Batches (one segment each) of (documents, ids deleted afterwards), from a seed."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    skew = draw(st.sampled_from([0.7, 1.2, 2.0]))
    batches = []
    n = 0
    for size in draw(st.lists(st.integers(1, 120), min_size=1, max_size=4)):
        docs = []
        for _ in range(size):
            n += 1
            title, body = _text(rng, 5, skew), _text(rng, 40, skew)
            if rng.random() < 0.05:  # frequencies past the packed column's bits
                title += " oil" * rng.randint(3, 9)
                body += " oil" * rng.randint(60, 80)
            doc = {"id": f"d{rng.randint(1, n)}", "title": title, "body": body}
            day = rng.choice(DAYS)
            if day:
                doc["date"] = day
            section = rng.choice(SECTIONS)
            if section:
                doc["section"] = section
            docs.append(doc)
        gone = [f"d{rng.randint(1, n)}" for _ in range(draw(st.integers(0, 8)))]
        batches.append((docs, gone))
    return batches


word = st.sampled_from(WORDS)
boosted = st.tuples(word, st.sampled_from(["", "", "^2", "^0.5", "^3", "^1.7"])).map("".join)
words = st.lists(boosted, min_size=1, max_size=20).map(" ".join)
queries = st.one_of(
    words,
    st.tuples(words, word).map(lambda t: f"{t[0]} -{t[1]}"),
    st.tuples(words, word, word).map(lambda t: f'{t[0]} -"{t[1]} {t[2]}"'),
    st.tuples(words, st.sampled_from(DAYS[:4])).map(lambda t: f"{t[0]} date:>={t[1]}"),
    st.tuples(words, st.sampled_from(DAYS[:4])).map(lambda t: f"{t[0]} date:<{t[1]}"),
    st.tuples(words, st.sampled_from(SECTIONS[:2])).map(lambda t: f"{t[0]} section:{t[1]}"),
    st.tuples(words, st.sampled_from(SECTIONS[:2])).map(lambda t: f"{t[0]} -section:{t[1]}"),
    st.tuples(words, st.sampled_from(["^2", "^0.3", ""])).map(
        lambda t: f"({t[0]}){t[1]} date:2016"
    ),
    st.tuples(words, word).map(lambda t: f"title:{t[1]} {t[0]}"),  # not a disjunction
)
scorings = st.sampled_from(
    [
        None,
        Scoring(k1=0.0),
        Scoring(k1=0.3, b=1.0),
        Scoring(weights={"title": 0.0, "body": 1.0}),
        Scoring(k1=3.0, b=0.0, weights={"title": 5.0, "body": 0.5}),
    ]
)


def _build(folder: Path, corpus) -> newsindex.Index:
    return replay(folder, (corpus, False))


def _answer(ix: newsindex.Index, query: str, **kwargs) -> tuple:
    r = ix.search(query, **kwargs)
    return (
        r.total,
        [(h.id, h.score, h.rank) for h in r.hits],
        None if r.facets is None else repr(r.facets),
    )


def _both(ix: newsindex.Index, query: str, **kwargs) -> tuple[tuple, tuple]:
    got = _answer(ix, query, **kwargs)
    with compiled.disabled():
        want = _answer(ix, query, **kwargs)
    return got, want


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    corpus=corpora(),
    asked=st.lists(
        st.tuples(queries, st.integers(0, 50), st.integers(0, 20), st.booleans()),
        min_size=1,
        max_size=10,
    ),
    scoring=scorings,
    window=st.sampled_from([1, 3, 8, 1 << 13]),
    prune_min=st.sampled_from([0, 1 << 40]),  # the pruned kernel, or the exhaustive one
    coding=st.sampled_from(["gaps", "offsets"]),  # doc numbers as written now, or by format 3
)
def test_compiled_equals_numpy(
    tmp_path_factory, monkeypatch, corpus, asked, scoring, window, prune_min, coding
):
    monkeypatch.setattr(scan, "WINDOW", window)
    monkeypatch.setattr(scan, "PRUNE_MIN", prune_min)
    with doc_coding(coding):
        ix = _build(tmp_path_factory.mktemp("scan") / "idx", corpus)
    gaps = ["post.gaps" in seg._arrays for seg in ix._searcher.segments]
    assert not gaps or (any(gaps) if coding == "gaps" else not all(gaps))  # (merges: gaps)
    for query, limit, offset, facets in asked:
        got, want = _both(
            ix, query, limit=limit, offset=offset, scoring=scoring, facets=facets and limit < 5
        )
        assert got == want, query  # scores compared with ==: to the bit
        # Not counting prunes more: the same hits; the total a lower bound, exact when said.
        quick = ix.search(query, limit=limit, offset=offset, scoring=scoring, count=False)
        assert [(h.id, h.score, h.rank) for h in quick.hits] == want[1], query
        assert offset + len(quick.hits) <= quick.total <= want[0] or not quick.hits
        assert quick.total <= want[0]
        if quick.total_exact:
            assert quick.total == want[0]


def test_the_kernel_is_taken_where_it_adds_as_numpy_does(tmp_path, sample_docs, monkeypatch):
    """On real text the kernel is taken (and agrees), also for unions of many rare words,
    which numpy adds with its pairwise sums."""
    ix = _build(tmp_path / "idx", [(sample_docs[:600], []), (sample_docs[600:1200], ["x"])])
    taken = []
    real = scan.segment_top

    def spy(*args):
        found = real(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(scan, "segment_top", spy)
    for query in ["the said", "oil prices opec said", "said -oil", "the year^2 date:1987"]:
        got, want = _both(ix, query, limit=10)
        assert got == want
    assert any(taken)
    taken.clear()
    got, want = _both(ix, "opec wheat", limit=10)  # rare words: a sparse union, added too
    assert got == want and any(taken)
    taken.clear()
    rare = "cocoa coffee sugar copper zinc tin rubber gold silver opec wheat"
    got, want = _both(ix, rare, limit=10)  # more than 8 of them: numpy's pairwise sums
    assert got == want and any(taken)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32), width=st.integers(9, 70), limit=st.integers(1, 40))
def test_long_sparse_unions_add_as_numpy_does(tmp_path_factory, seed, width, limit):
    """Documents matching 9 to 70 of a query's words in a sparse union: numpy adds each
    one's scores with its pairwise sum (8 running sums past 8 of them); the kernel must
    give the same scores to the bit."""
    rng = random.Random(seed)
    vocab = [f"w{i:02d}x" for i in range(80)]
    docs = []
    for i in range(3000):
        if i % 40 == 0:  # a rich story holding many of the query's words, some repeated
            words = rng.sample(vocab, rng.randint(5, 75))
            body = " ".join(w for w in words for _ in range(rng.randint(1, 3)))
        else:
            body = "filler text about nothing"
        docs.append({"id": f"d{i}", "title": rng.choice(vocab), "body": body})
    ix = _build(tmp_path_factory.mktemp("wide") / "idx", [(docs, [])])
    query = " ".join(rng.sample(vocab, width))
    got, want = _both(ix, query, limit=limit)
    assert got == want


def _corrupt_doc_number(arrays, seg, term: str) -> None:
    """A posting of ``term`` (not its block's first, nor its last) and the ones after it
    name documents past the end, in either encoding of doc numbers."""
    tid = seg.term_id(term)
    s, e = seg.term_range(term)
    assert e - s > 6
    if "post.gaps" not in arrays:
        width = int(arrays["post.dw"][tid])
        name = {1: "post.d1", 2: "post.d2", 4: "post.d4"}[width]
        at = int(arrays["post.dpos"][tid]) + 5
        arrays[name][at] = np.iinfo(arrays[name].dtype).max
        return

    def past(docs):
        docs[s + 5 : e] += seg.ndocs

    recode_docs(arrays, past)


@pytest.mark.parametrize("coding", ["gaps", "offsets"])
def test_an_out_of_range_doc_number_is_an_error(tmp_path, sample_docs, coding):
    folder = tmp_path / "idx"
    with doc_coding(coding):
        _build(folder, [(sample_docs[:200], [])])
    craft(folder, tmp_path / "bad", lambda arrays, seg: _corrupt_doc_number(arrays, seg, "said"))
    ix = newsindex.Index.open(tmp_path / "bad")
    assert ("post.gaps" in ix._searcher.segments[0]._arrays) == (coding == "gaps")
    for query in ["said", "said oil the", "said date:1987"]:
        with pytest.raises(IndexCorruptError, match="seg-"):
            ix.search(query, limit=10)


def test_threads_share_an_index(tmp_path, sample_docs, monkeypatch):
    """Eight threads running the kernel at once give each query's serial answer."""
    monkeypatch.setattr(scan, "WINDOW", 64)
    ix = _build(tmp_path / "idx", [(sample_docs[:500], []), (sample_docs[500:], [])])
    rng = random.Random(5)
    pool = "oil prices opec crude bank rate dollar trade wheat tonnes company shares said".split()
    qs = [" ".join(rng.choices(pool, k=rng.randint(1, 12))) for _ in range(40)]
    want = {q: _answer(ix, q, limit=20) for q in qs}
    with compiled.disabled():
        assert want == {q: _answer(ix, q, limit=20) for q in qs}
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def run(i: int) -> None:
        barrier.wait()
        try:
            for q in qs[i:] + qs[:i]:
                if _answer(ix, q, limit=20) != want[q]:
                    errors.append(q)
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_small_searches_do_not_load_numba(tmp_path, sample_docs, monkeypatch):
    """A process searching a small index never pays for loading the compiled code."""
    import os
    import subprocess
    import sys

    monkeypatch.undo()  # (written with the blocks the other process reads)
    _build(tmp_path / "idx", [(sample_docs[:300], [])])
    code = (
        "import sys, newsindex; ix = newsindex.Index.open(sys.argv[1]); "
        "[ix.search(q, limit=10) for q in ('oil', 'oil prices said', 'the bank -rate')]; "
        "print('numba' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "idx")], capture_output=True, text=True, env=env
    )
    assert out.stdout.split() == ["False"], out.stderr


def test_not_counting_skips_what_cannot_rank(tmp_path, sample_docs, monkeypatch):
    """With count=False the kernel leaves matches that cannot rank unread (the total is then
    a lower bound and says so); the hits are those of a counting search."""
    monkeypatch.setattr(scan, "WINDOW", 64)
    ix = _build(tmp_path / "idx", [(sample_docs, [])])
    skipped = 0
    for query in ["said", "the said", "oil prices said", "said year^2 date:1987", "said -oil"]:
        full = ix.search(query, limit=5)
        quick = ix.search(query, limit=5, count=False)
        assert [(h.id, h.score) for h in quick.hits] == [(h.id, h.score) for h in full.hits]
        assert full.total_exact and quick.total <= full.total
        skipped += not quick.total_exact
    assert skipped >= 3


def test_small_segments_after_a_large_one_are_pruned_by_its_bar(tmp_path, sample_docs, monkeypatch):
    """Segments are searched the largest first; one too small to prune on its own
    (PRUNE_MIN) still leaves unread the blocks below the k-th best of those searched before
    it when nothing needs counting. The hits are the counting search's, in every order the
    segments were written."""
    monkeypatch.setattr(scan, "WINDOW", 64)
    monkeypatch.setattr(scan, "PRUNE_MIN", 1 << 40)
    n = len(sample_docs)
    cuts = [n // 20, n // 10, n]  # the largest segment written last
    batches = [(sample_docs[a:b], []) for a, b in zip([0, *cuts], cuts)]
    ix = _build(tmp_path / "idx", batches)
    sizes = [seg.ndocs for seg in ix._snap.searcher.segments]
    assert len(sizes) == 3 and sizes[-1] == max(sizes)
    inexact = 0
    for query in ["said", "oil prices said", "the said year", "said year^2 date:1987"]:
        full = ix.search(query, limit=5)
        quick = ix.search(query, limit=5, count=False)
        assert [(h.id, h.score) for h in quick.hits] == [(h.id, h.score) for h in full.hits]
        with compiled.disabled():
            want = ix.search(query, limit=5)
        assert [(h.id, h.score) for h in quick.hits] == [(h.id, h.score) for h in want.hits]
        inexact += not quick.total_exact
    assert inexact >= 2


@pytest.mark.parametrize("prune_min", [0, 1 << 40])  # the pruned kernel, the exhaustive one
def test_the_kernels_give_their_hits_in_doc_order(tmp_path, sample_docs, monkeypatch, prune_min):
    """What a kernel keeps is a heap; SegmentMatches holds its docs sorted and unique (what
    the kernels now sort themselves), for a page of a few hits and for more (k past 32)."""
    monkeypatch.setattr(scan, "WINDOW", 64)
    monkeypatch.setattr(scan, "PRUNE_MIN", prune_min)
    ix = _build(tmp_path / "idx", [(sample_docs, [])])
    seen: list[np.ndarray] = []
    top = scan.segment_top

    def recorded(*args, **kwargs):
        found = top(*args, **kwargs)
        if found is not None:
            seen.append(found.docs)
        return found

    monkeypatch.setattr(scan, "segment_top", recorded)
    for limit in (3, 10, 50):
        for query in ["said", "oil prices said", "the said year", "said -oil"]:
            for count in (True, False):
                ix.search(query, limit=limit, count=count)
    assert len(seen) == 3 * 4 * 2 and sum(len(d) == 50 for d in seen) >= 4
    for docs in seen:
        assert docs.dtype == np.int32 and bool(np.all(np.diff(docs) > 0))


lengths_pairs = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 40), st.integers(-2, 2**17)),
        st.one_of(st.integers(0, 3000), st.integers(-2, 2**31 - 1)),
    ),
    min_size=1,
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(pairs=lengths_pairs, ndocs=st.sampled_from([0, 2**24]))
def test_length_codes_hold_both_lengths_or_are_none(pairs, ndocs):
    """Segment.length_codes packs each document's two lengths in one uint32 that gives both
    back, or is None where they cannot be packed so (a negative length, more than 32 bits
    together, or tables by length larger than the norms of every document plus 64k)."""
    from types import SimpleNamespace

    from newsindex.index.segment import Segment

    first = np.array([p[0] for p in pairs], dtype=np.int32)
    second = np.array([p[1] for p in pairs], dtype=np.int32)
    ndocs = ndocs or len(pairs)  # (or as many as make any table small enough)
    fake = SimpleNamespace(lengths=(first, second), ndocs=ndocs)
    coded = Segment.length_codes.func(fake)  # type: ignore[attr-defined]
    top0, top1 = int(first.max()), int(second.max())
    bits = max(top1.bit_length(), 1)
    fits = (
        min(first.min(), second.min()) >= 0
        and top0.bit_length() + bits <= 32
        and top0 + top1 + 2 <= 2 * ndocs + (1 << 16)
    )
    assert (coded is not None) == fits
    if coded is not None:
        codes = coded.codes.astype(np.int64)
        assert coded.codes.dtype == np.uint32 and coded.tops == (top0, top1)
        assert np.array_equal(codes >> coded.bits, first)
        assert np.array_equal(codes & ((1 << coded.bits) - 1), second)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corpus=corpora(), scoring=scorings)
def test_norms_by_length_are_each_documents_norms_to_the_bit(tmp_path_factory, corpus, scoring):
    """What the kernels read, a field's norm by length at each document's length, is the
    float64 norm of that document computed on its own, bit for bit; and so is what the
    numpy path reads (``weighted_norms``: the same tables), for any documents taken."""
    ix = _build(tmp_path_factory.mktemp("norms") / "idx", corpus)
    searcher = ix._snap.searcher
    scoring = scoring or ix._snap.settings.scoring
    for si, seg in enumerate(searcher.segments):
        coded = seg.length_codes
        assert coded is not None  # (short stories: always packed)
        tables = searcher.length_tables(si, scoring)
        per_doc = searcher.document_norms(si, scoring)
        norms = searcher.weighted_norms(si, scoring)
        docs = np.random.default_rng(si).integers(0, seg.ndocs, 50).astype(np.int32)
        for table, lengths, want, got in zip(tables, seg.lengths, per_doc, norms):
            assert table.dtype == want.dtype == np.float64
            assert np.array_equal(table.take(lengths).view(np.uint64), want.view(np.uint64))
            taken = got.take(docs)
            assert taken.dtype == np.float64 and len(got) == seg.ndocs
            assert np.array_equal(taken.view(np.uint64), want.take(docs).view(np.uint64))
            assert [got[d] for d in docs.tolist()] == want.take(docs).tolist()


def test_a_segment_whose_lengths_are_not_packed_answers_through_numpy(
    tmp_path, sample_docs, monkeypatch
):
    """A segment without length codes is left to the numpy path; the hits are the same."""
    n = len(sample_docs)
    ix = _build(tmp_path / "idx", [(sample_docs[: n // 2], []), (sample_docs[n // 2 :], [])])
    segments = ix._snap.searcher.segments
    assert len(segments) == 2
    segments[0].__dict__["length_codes"] = None  # (what a cached_property holds)
    answered: list[tuple[int, bool]] = []
    top = scan.segment_top

    def recorded(ctx, dis, si, *args, **kwargs):
        found = top(ctx, dis, si, *args, **kwargs)
        answered.append((si, found is not None))
        return found

    monkeypatch.setattr(scan, "segment_top", recorded)
    for query in ["said", "oil prices said", "the said year -oil", "said date:1987"]:
        got, want = _both(ix, query, limit=10)
        assert got == want, query
    assert set(answered) == {(0, False), (1, True)}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corpus=corpora(), scoring=scorings)
def test_the_kernels_block_bounds_are_the_searchers_to_the_bit(tmp_path_factory, corpus, scoring):
    """The pruned kernel makes each block's bound from blk.tfn as it reads it (scan._bound);
    for every word, segment and block it equals Searcher.block_bounds' (what the numpy path
    prunes with), bit for bit, under every scoring whose bounds are tight."""
    ix = _build(tmp_path_factory.mktemp("bounds") / "idx", corpus)
    _compare_bounds(ix, scoring or ix._snap.settings.scoring)


def test_block_bounds_are_compared_on_news(tmp_path, sample_docs):
    """The property above on real stories in two segments, where every block is compared
    (its generated corpora may leave a segment untight: a field empty when it was made)."""
    n = len(sample_docs)
    ix = _build(tmp_path / "idx", [(sample_docs[: n // 3], []), (sample_docs[n // 3 :], [])])
    for scoring in (ix._snap.settings.scoring, Scoring(k1=0.0)):
        assert _compare_bounds(ix, scoring) > 1000


def _compare_bounds(ix: newsindex.Index, scoring: Scoring) -> int:
    """Blocks whose kernel bound was compared with Searcher.block_bounds' (see above)."""
    from newsindex.querylang.plan import Term
    from newsindex.search.searcher import _Context

    searcher = ix._snap.searcher
    ctx = _Context(searcher, scoring)
    compared = 0
    for si, seg in enumerate(searcher.segments):
        ratio = ctx.tight_ratio(si)
        if ratio == float("inf"):
            continue
        for word in seg.terms.strings():
            leaf = ctx.leaf(Term(word))
            s, e = leaf.slices[si]
            first, nblk = seg.postings_layout(s, e)[2], (e - s - 1) // blocks.BLOCK_SIZE + 1
            btfn = seg.laid_block_tfn  # (those blocks verified by the layout)
            k1 = float(scoring.k1)
            got = np.array([scan._bound(btfn, first + b, ratio, k1, leaf.idf) for b in range(nblk)])
            want = searcher.block_bounds(si, leaf)
            assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), word
            compared += nblk
    return compared


def test_a_layout_verifies_the_block_bounds_the_kernel_reads(tmp_path):
    """The pruned kernel reads a word's blk.tfn raw (compiled code): the word's postings
    layout verifies those blocks first, so a flipped byte among them is an
    IndexCorruptError there, and a layout leaves every one of its blocks verified."""
    folder = tmp_path / "idx"
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for i in range(700):
            w.add({"id": f"d{i}", "title": "oil", "body": "oil " * (1 + i % 5) + f"w{i % 40}"})
    ix.close()
    ix = newsindex.Index.open(folder)
    (seg,) = ix._searcher.segments
    s, e = seg.term_range("oil")
    first = seg.postings_layout(s, e)[2]
    nblk = (e - s - 1) // blocks.BLOCK_SIZE + 1
    assert nblk >= 5
    slot = seg._arrays._slots["blk.tfn"]
    at = first * slot.width // slot.chunk
    last = ((first + nblk) * slot.width - 1) // slot.chunk
    assert all(slot.done[at : last + 1])
    # The bytes of the word's last block in the file, flipped (its chunk's checksum kept).
    where = (
        seg.laid_block_tfn[first + nblk - 1 :].ctypes.data
        - np.frombuffer(seg._arrays._mm, np.uint8).ctypes.data
    )
    path = seg._arrays.path
    ix.close()
    raw = bytearray(path.read_bytes())
    raw[where] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptError, match="blk.tfn"):
        ix = newsindex.Index.open(folder)
        (seg,) = ix._searcher.segments
        seg.postings_layout(*seg.term_range("oil"))


@pytest.mark.parametrize("coding", ["gaps", "offsets"])
def test_dense_unions_of_many_words_take_the_lean_kernel(
    tmp_path, sample_docs, monkeypatch, coding
):
    """Unpruned, the lean kernel scores a union of any length unless it is sparse and of
    more than 8 words (numpy's pairwise sums, which the general kernel repeats): each is
    asked where it applies (the pair compiled for the segment's doc numbers), and the hits
    are numpy's to the bit."""
    monkeypatch.setattr(scan, "PRUNE_MIN", 1 << 40)
    with doc_coding(coding):
        ix = _build(tmp_path / "idx", [(sample_docs[:800], [])])
    own = "_GAPS" if coding == "gaps" else ""
    asked: list[str] = []
    for name in ("_EXHAUSTIVE", "_KERNEL", "_EXHAUSTIVE_GAPS", "_KERNEL_GAPS"):
        kernel = getattr(scan, name)

        def get(on=None, real=kernel.get, name=name):
            found = real(on)
            if found is None:
                return None

            def spy(*args):
                asked.append(name)
                return found(*args)

            return spy

        monkeypatch.setattr(kernel, "get", get)
    common = "said year would also market prices oil trade bank government company"
    got, want = _both(ix, common, limit=10)
    assert got == want and asked == [f"_EXHAUSTIVE{own}"]
    asked.clear()
    rare = "cocoa coffee sugar copper zinc tin rubber gold silver opec wheat"
    got, want = _both(ix, rare, limit=10)
    assert got == want and asked == [f"_EXHAUSTIVE{own}", f"_KERNEL{own}"]
