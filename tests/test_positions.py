"""Positions as bytes with exceptions (index/positions.py): any runs of any deltas decode to
the positions written (codec level, deltas of every size, pages of any size), every term of
every segment of generated indexes (commits, deletions, merges) to the positions of its
words in the stored texts (brute force), and a damaged array is an IndexCorruptError on read
or a problem for ``check``, never a wrong answer or a crash."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.errors import IndexCorruptError
from newsindex.index import manifest as mf
from newsindex.index import positions
from newsindex.index.arrays import ArrayFile, write_arrays
from newsindex.index.segment import Segment
from tests.histories import histories, replay

_DELTAS = [1, 2, 100, 254, 255, 256, 511, 65_535, 65_536, 3_000_000]


@st.composite
def runs_of_positions(draw):
    """(runs, positions): runs (some empty) of increasing positions, deltas of every size."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    runs = [rng.choice([0, 0, 1, 2, 3, 40, 300]) for _ in range(draw(st.integers(0, 30)))]
    out: list[int] = []
    for n in runs:
        at = rng.choice([0, 1, 254, 255, 256, 70_000])
        for _ in range(n):
            out.append(at)
            at += rng.choice(_DELTAS[:4] + [rng.choice(_DELTAS), rng.randint(1, 600)])
    return np.array(runs, dtype=np.int64), np.array(out, dtype=np.int64)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=runs_of_positions(), page_bits=st.sampled_from([1, 3, 8, 16]), cuts=st.data())
def test_any_runs_of_whole_runs_decode_to_the_positions(
    tmp_path_factory, monkeypatch, data, page_bits, cuts
):
    runs, want = data
    monkeypatch.setattr(positions, "PAGE_BITS", page_bits)
    monkeypatch.setattr(positions, "PAGE", 1 << page_bits)
    coded = positions.encode(want, runs)
    d = want.copy()
    assert len(coded["pos.d"]) == len(want)
    assert int(np.count_nonzero(coded["pos.d"] == 255)) == len(coded["pos.x"])
    path = tmp_path_factory.mktemp("pos") / "a.arr"
    write_arrays(path, coded)
    reader = positions.Positions(ArrayFile(path))
    assert reader.whole(runs).tolist() == want.tolist()
    bounds = np.concatenate(([0], np.cumsum(runs)))
    for _ in range(6):
        i = cuts.draw(st.integers(0, len(runs)))
        j = cuts.draw(st.integers(i, len(runs)))
        a, b = int(bounds[i]), int(bounds[j])
        assert reader.read(a, b, runs[i:j]).tolist() == d[a:b].tolist()
    tfs = [runs[0::2], runs[1::2]] if len(runs) % 2 == 0 else None
    if tfs is not None:
        assert positions.problems(ArrayFile(path), tfs) == []


def _analysed(ix, article) -> dict[str, list[int]]:
    """term -> its positions in the article: the title's, then the body's."""
    out: dict[str, list[int]] = {}
    for field in ("title", "body"):
        for term, at in ix.analyzer(field).terms_with_positions(getattr(article, field)):
            out.setdefault(term, []).append(at)
    return out


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(words=200, max_commit=40, max_pool=60, length=900))
def test_every_terms_positions_are_those_of_the_stored_texts(tmp_path_factory, history):
    ix = replay(tmp_path_factory.mktemp("positions") / "idx", history)
    for seg in ix._snap.searcher.segments:
        # Deleted documents too: their postings stay until a merge.
        texts = [_analysed(ix, seg.article(doc)) for doc in range(seg.ndocs)]
        for term in seg.terms.strings():
            s, e = seg.term_range(term)
            want = [at for doc in seg.docs(s, e).tolist() for at in texts[doc][term]]
            assert seg.positions(s, e).tolist() == want, term
        assert seg._positions is not None
    assert ix.check() == []
    ix.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_docs) -> Path:
    folder = tmp_path_factory.mktemp("coded") / "idx"
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for doc in sample_docs[:300]:
            w.add(doc)
    ix.close()
    return folder


def _segment(folder: Path) -> Segment:
    (entry,) = mf.read_latest(folder).segments
    return Segment(folder, entry)


def _every_term(seg: Segment) -> list[list[int]]:
    offs = seg.post_offs.tolist()
    return [seg.positions(s, e).tolist() for s, e in zip(offs, offs[1:])]


def _flip(path: Path, at: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0x04]))


@pytest.mark.parametrize("name", positions.NAMES)
def test_a_flipped_byte_in_each_array_is_index_corrupt(built, tmp_path, name):
    clean = _segment(built)
    want = _every_term(clean)
    clean.close()
    folder = tmp_path / "idx"
    shutil.copytree(built, folder)
    (entry,) = mf.read_latest(folder).segments
    path = folder / f"{entry.name}.arr"
    slot = ArrayFile(path)._slots[name]
    assert slot.nbytes
    _flip(path, slot.offset + slot.nbytes // 2)
    seg = Segment(folder, entry)  # opening reads none of them
    offs = seg.post_offs.tolist()
    failed = 0
    for t, (s, e) in enumerate(zip(offs, offs[1:])):
        try:
            got = seg.positions(s, e).tolist()
        except IndexCorruptError:
            failed += 1
        else:
            assert got == want[t]
    assert failed
    with pytest.raises(IndexCorruptError):
        _ = seg.pos
    seg.close()
    ix = newsindex.Index.open(folder)
    assert ix.check()
    for query in ('"crude oil"', '"the bank"~3', '"oil prices"'):
        try:
            ix.search(query, limit=5)
        except IndexCorruptError:
            pass
    ix.close()


def _rewrite(folder: Path, change) -> ArrayFile:
    """The segment's arrays with ``change`` applied, written afresh (valid checksums)."""
    seg = _segment(folder)
    arr = seg._arrays
    arrays = {name: np.array(arr[name]) for name in arr.names()}
    runs = positions.run_lengths(seg.post_tf)
    seg.close()
    kept = runs[runs > 0]
    later = np.ones(int(runs.sum()), dtype=bool)  # entries after their run's first
    later[np.cumsum(kept) - kept] = False
    change(arrays, later)
    out = folder.parent / f"rewritten-{random.random()}.arr"
    write_arrays(out, arrays)
    return ArrayFile(out)


def _unlisted_escape(arrays, later):
    d = arrays["pos.d"]
    d[np.flatnonzero((d > 1) & (d < 255))[0]] = 255


def _unescaped_exception(arrays, later):
    arrays["pos.d"][np.flatnonzero(arrays["pos.d"] == 255)[-1]] = 7


def _small_exception(arrays, later):
    arrays["pos.xv"][0] = 3


def _unordered(arrays, later):
    x = arrays["pos.x"]
    x[0], x[1] = x[1], x[0]


def _pages(arrays, later):
    arrays["pos.xoffs"][-1] -= 1


def _standing_still(arrays, later):
    # A zero delta after a run's first: two occurrences at one position.
    d = arrays["pos.d"]
    d[np.flatnonzero(later & (d > 0) & (d < 255))[-1]] = 0


@pytest.mark.parametrize(
    "change",
    [_unlisted_escape, _unescaped_exception, _small_exception, _unordered, _pages, _standing_still],
)
def test_consistent_checksums_over_bad_content_are_found_by_check(built, change):
    """Content damaged before its checksums were computed: ``check`` names it; reads give
    IndexCorruptError or integer positions, never a crash."""
    arr = _rewrite(built, change)
    seg = _segment(built)
    tfs = seg.post_tf
    offs = seg.post_offs.tolist()
    pos_offs = seg.pos_offs.tolist()
    seg.close()
    assert positions.problems(arr, tfs)
    reader = positions.Positions(arr)
    runs = positions.run_lengths(tfs)
    for t, (s, e) in enumerate(zip(offs, offs[1:])):
        try:
            got = reader.read(pos_offs[t], pos_offs[t + 1], runs[2 * s : 2 * e])
        except IndexCorruptError:
            continue
        assert got.dtype == np.int32 and len(got) == pos_offs[t + 1] - pos_offs[t]
