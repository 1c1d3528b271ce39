"""Delta-coded postings doc numbers (index/docids.py): every range of postings decodes to
the doc numbers a plain int32 array holds (codec level, any rel, any block size), every term
of every segment of generated indexes (commits, deletions, merges) to the documents whose
stored text holds the term (brute force), and a damaged array is an IndexCorruptError on
read or a problem for ``check``, never a crash."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.errors import IndexCorruptError
from newsindex.index import blocks, docids
from newsindex.index import manifest as mf
from newsindex.index import segment as segment_module
from newsindex.index.arrays import ArrayFile, write_arrays
from newsindex.index.segment import Segment
from tests.crafting import doc_coding
from tests.histories import histories, replay


@st.composite
def postings(draw):
    """(offs, docs, ndocs): terms of increasing doc numbers, rel from every width."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    top = draw(st.sampled_from([1, 200, 255, 256, 70_000, 3_000_000]))
    counts = [rng.choice([1, 2, 5, 127, 128, 129, 300]) for _ in range(draw(st.integers(0, 12)))]
    docs: list[int] = []
    for count in counts:
        doc = rng.randrange(4)
        for _ in range(count):
            docs.append(doc)
            doc += rng.choice([1, 1, 2, rng.randint(1, top), top])
    offs = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return offs, np.array(docs, dtype=np.int64), (max(docs) + 1 if docs else 0) + 3


def _write(path: Path, offs: np.ndarray, arrays: dict) -> ArrayFile:
    counts = np.diff(offs)
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    blk = np.concatenate(([0], np.cumsum(nblocks))).astype(np.int64)
    write_arrays(path, {"post.offs": offs, "blk.offs": blk, **arrays})
    return ArrayFile(path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=postings(),
    block=st.sampled_from([1, 3, 128]),
    coding=st.sampled_from(["gaps", "offsets"]),
    compiled_from=st.sampled_from([0, 1 << 62]),  # gaps decoded by the compiled loop, or numpy
    cuts=st.data(),
)
def test_every_range_decodes_to_the_int32_doc_numbers(
    tmp_path_factory, monkeypatch, data, block, coding, compiled_from, cuts
):
    offs, want, ndocs = data
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block)
    monkeypatch.setattr(docids, "_COMPILED_FROM", compiled_from)
    nterms = len(offs) - 1
    if coding == "gaps":
        # In runs of terms (as a merge writes them), or whole (as the builder does): the same.
        splits = sorted(set(cuts.draw(st.lists(st.integers(0, nterms), max_size=3)) + [0, nterms]))
        runs = [offs[a : b + 1] - offs[a] for a, b in zip(splits, splits[1:])]
        parts = [
            (run, docids.encode_gaps(run, want[offs[a] : offs[b]]))
            for run, a, b in zip(runs, splits, splits[1:])
        ]
        arrays = docids.concat(parts)
        whole = docids.encode_gaps(offs, want)
        assert arrays.keys() == whole.keys() == set(docids.GAP_NAMES)
        for name in arrays:
            assert arrays[name].dtype == whole[name].dtype
            assert np.array_equal(arrays[name], whole[name]), name
    else:
        arrays = docids.encode_offsets(offs, want)
        assert arrays.keys() == set(docids.OFFSET_NAMES)
    arr = _write(tmp_path_factory.mktemp("codec") / "a.arr", offs, arrays)
    coded = docids.DocIds(arr, ndocs)
    n = int(offs[-1])
    for t in range(nterms):
        s, e = int(offs[t]), int(offs[t + 1])
        got = coded.docs(s, e)
        assert got.dtype == np.int32
        assert got.tolist() == want[s:e].tolist()
        for b in range(s, e, block):  # ranges from each block start, as pruning reads them
            stop = cuts.draw(st.integers(b + 1, e))
            assert coded.docs(b, stop).tolist() == want[b:stop].tolist()
    for _ in range(6):  # any range: mid-block, over several terms, past the end
        s = cuts.draw(st.integers(0, n))
        e = cuts.draw(st.integers(s, n + 2))
        assert coded.docs(s, e).tolist() == want[s:e].tolist()
    assert coded.whole().tolist() == want.tolist()
    assert docids.problems(arr, ndocs) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(), block=st.sampled_from([4, 128]), data=st.data())
def test_every_terms_docs_are_the_stored_texts_holding_it(
    tmp_path_factory, monkeypatch, history, block, data
):
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block)
    ix = replay(tmp_path_factory.mktemp("docids") / "idx", history)
    analyzer = newsindex.Analyzer()
    for seg in ix._snap.searcher.segments:
        inverted: dict[str, list[int]] = {}
        for doc in range(seg.ndocs):  # deleted ones too: their postings stay until a merge
            article = seg.article(doc)
            for term in set(analyzer.terms(article.title)) | set(analyzer.terms(article.body)):
                inverted.setdefault(term, []).append(doc)
        assert sorted(inverted) == seg.terms.strings()
        flat: list[int] = []
        for term in seg.terms.strings():
            s, e = seg.term_range(term)
            assert seg.docs(s, e).tolist() == inverted[term]
            flat += inverted[term]
        assert seg.post_docs.tolist() == flat
        for _ in range(5):
            s = data.draw(st.integers(0, len(flat)))
            e = data.draw(st.integers(s, len(flat)))
            assert seg.docs(s, e).tolist() == flat[s:e]
            spans = [(s, e), (0, s)]
            got, _ = seg.postings_many(spans)
            assert got.tolist() == flat[s:e] + flat[:s]
    assert ix.check() == []
    ix.close()


@pytest.fixture(scope="module", params=["gaps", "offsets"])
def built(request, tmp_path_factory, sample_docs) -> Path:
    """One segment of 300 stories, its doc numbers as gaps or (as format 3 wrote them)
    offsets."""
    folder = tmp_path_factory.mktemp("coded") / "idx"
    with doc_coding(request.param):
        ix = newsindex.Index.create(folder)
        with ix.writer() as w:
            for doc in sample_docs[:300]:
                w.add(doc)
        ix.close()
    assert (request.param == "gaps") == ("post.gaps" in ArrayFile(next(folder.glob("*.arr"))))
    return folder


def _names(folder: Path) -> tuple[str, ...]:
    """The doc-number arrays of the built segment's encoding."""
    gaps = "post.gaps" in ArrayFile(next(folder.glob("*.arr")))
    return docids.GAP_NAMES if gaps else docids.OFFSET_NAMES


def _segment(folder: Path) -> Segment:
    (entry,) = mf.read_latest(folder).segments
    return Segment(folder, entry)


def _every_term(seg: Segment) -> list[list[int]]:
    offs = seg.post_offs.tolist()
    return [seg.docs(s, e).tolist() for s, e in zip(offs, offs[1:])]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=postings(), name=st.sampled_from(docids.GAP_NAMES), at=st.floats(0, 1))
def test_a_flipped_byte_in_any_coded_array_is_index_corrupt_on_read(
    tmp_path_factory, data, name, at
):
    offs, want, ndocs = data
    path = tmp_path_factory.mktemp("flip") / "a.arr"
    arr = _write(path, offs, docids.encode_gaps(offs, want))
    slot = arr._slots[name]
    if not slot.nbytes:
        return
    _flip(path, slot.offset + min(int(at * slot.nbytes), slot.nbytes - 1))
    coded = docids.DocIds(ArrayFile(path), ndocs)
    bounds = offs.tolist()
    failed = 0
    for s, e in zip(bounds, bounds[1:]):
        try:
            got = coded.docs(s, e).tolist()
        except IndexCorruptError:
            failed += 1
        else:
            assert got == want[s:e].tolist()
    assert failed


def _flip(path: Path, at: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0x04]))


# (No sample segment has rel of 65536 documents: the test above flips post.d4.)
@pytest.mark.parametrize("name", sorted({*docids.GAP_NAMES, *docids.OFFSET_NAMES} - {"post.d4"}))
def test_a_flipped_byte_in_each_array_is_index_corrupt(built, tmp_path, name):
    if name not in _names(built):
        pytest.skip(f"{name} is not an array of this encoding")
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
            got = seg.docs(s, e).tolist()
        except IndexCorruptError:
            failed += 1
        else:
            assert got == want[t]
    assert failed
    with pytest.raises(IndexCorruptError):
        _ = seg.post_docs
    seg.close()
    ix = newsindex.Index.open(folder)
    assert ix.check()
    for query in ("oil", "bank rate", "the", '"crude oil"'):
        try:
            ix.search(query, limit=5)
        except IndexCorruptError:
            pass
    ix.close()


def _rewrite(folder: Path, change) -> tuple[ArrayFile, int]:
    """The segment's arrays with ``change`` applied, written afresh (valid checksums)."""
    seg = _segment(folder)
    arr = seg._arrays
    arrays = {name: np.array(arr[name]) for name in arr.names()}
    ndocs = seg.ndocs
    seg.close()
    change(arrays)
    out = folder.parent / f"rewritten-{random.random()}.arr"
    write_arrays(out, arrays)
    return ArrayFile(out), ndocs


def _gaps(arrays) -> bool:
    return "post.gaps" in arrays


def _widen(arrays):
    if _gaps(arrays):
        arrays["post.gapw"][0] = 40
    else:
        arrays["post.dw"][0] = 3


def _shift(arrays):
    if _gaps(arrays):  # over the gaps of the block before
        arrays["post.gapbit"][-1] = arrays["post.gapbit"][-2] - 1
    else:
        arrays["post.dpos"][-1] += 1


def _base(arrays):
    # (A base moved between its neighbours is another valid index, as another int32 doc
    # number would be; one at or below the block before it is not.)
    later = np.setdiff1d(np.arange(len(arrays["post.dbase"])), arrays["blk.offs"])
    arrays["post.dbase"][later[-1]] = arrays["post.dbase"][later[-1] - 1]


def _offsets(arrays):
    if _gaps(arrays):  # every gap its block's largest
        arrays["post.gaps"][:] = np.uint64(2**64 - 1)
    else:
        arrays["post.d1"][1:] = 0


def _first_offset(arrays):
    if _gaps(arrays):  # (gaps have no first offset) a block's width too large for its bits
        wide = np.flatnonzero(arrays["post.gapw"][:-1])[0]
        arrays["post.gapw"][wide] = 32
    else:
        arrays["post.d1"][0] = 7


def _past_end(arrays):
    arrays["post.dbase"][-1] = 2**30


@pytest.mark.parametrize("change", [_widen, _shift, _base, _offsets, _first_offset, _past_end])
def test_consistent_checksums_over_bad_content_are_found_by_check(built, change):
    """Content damaged before its checksums were computed: ``check`` names it; reads give
    IndexCorruptError or int32 doc numbers within the segment, never a crash."""
    arr, ndocs = _rewrite(built, change)
    assert docids.problems(arr, ndocs)
    coded = docids.DocIds(arr, ndocs)
    offs = arr["post.offs"].tolist()
    for s, e in [*zip(offs, offs[1:]), (0, offs[-1])]:
        try:
            got = coded.docs(s, e)
        except IndexCorruptError:
            continue
        assert got.dtype == np.int32 and len(got) == e - s
        assert got.min() >= 0 and got.max() < ndocs


def _in_place(folder: Path, change) -> None:
    """The segment's arrays rewritten in place with ``change`` applied (valid checksums)."""
    (path,) = folder.glob("seg-*.arr")
    arr = ArrayFile(path)
    arrays = {name: np.array(arr[name]) for name in arr.names()}
    del arr
    change(arrays)
    size = path.stat().st_size
    path.unlink()
    write_arrays(path, arrays)
    assert path.stat().st_size == size  # the manifest's sizes still hold


def _later_offs(arrays):
    arrays["post.offs"][len(arrays["post.offs"]) // 2] += 1


def _no_postings(arrays):
    at = len(arrays["post.offs"]) // 3
    arrays["post.offs"][at] = arrays["post.offs"][at + 1]


def _far_dpos(arrays):
    arrays["post.gapbit" if _gaps(arrays) else "post.dpos"][-1] = 1 << 40


def _far_block(arrays):
    arrays["blk.offs"][len(arrays["blk.offs"]) // 2] = 1 << 40


@pytest.mark.parametrize(
    "change",
    [_widen, _shift, _base, _offsets, _past_end, _later_offs, _no_postings, _far_dpos, _far_block],
)
def test_a_laid_out_segment_answers_as_its_lookups_do_over_bad_content(
    built, tmp_path, monkeypatch, change
):
    """A small segment lays out every term at once on its first lookup (``_Laid``): over
    per-term entries damaged before their checksums were made, each word's postings
    range and layout are the word-by-word lookup's, or both are an IndexCorruptError
    (differential: the same segment opened with no table)."""
    folder = tmp_path / "idx"
    shutil.copytree(built, folder)
    _in_place(folder, change)
    monkeypatch.setattr(segment_module, "READ_AT_ONCE", 1 << 40)
    laid = _segment(folder)
    words = [*laid.terms.strings(), "zzznotaword"]
    laid.term_range("zzznotaword")  # (the first lookup: the table is made, or refused)
    monkeypatch.setattr(segment_module, "LAY_OUT_BYTES", 0)
    alone = _segment(folder)

    def facts(seg: Segment, word: str) -> object:
        try:
            s, e = seg.term_range(word)
            return s, e, seg.postings_layouts([(s, e)]).tolist() if e > s else None
        except IndexCorruptError:
            return "corrupt"

    got = [facts(laid, w) for w in words]
    assert alone._laid is None
    if change in (_base, _offsets, _past_end):  # (doc numbers: the kernels check those)
        assert laid._laid is not None
    assert got == [facts(alone, w) for w in words]
    laid.close()
    alone.close()


def test_a_small_segment_lays_out_every_term_as_its_lookups_do(built, monkeypatch):
    """The table of a clean small segment: every term's range and layout are the lookups',
    for any set and order of spans; a span that is not a whole term's is laid out alone."""
    monkeypatch.setattr(segment_module, "READ_AT_ONCE", 1 << 40)
    laid = _segment(built)
    words = laid.terms.strings()
    spans = [laid.term_range(w) for w in words]
    assert laid._laid is not None
    monkeypatch.setattr(segment_module, "LAY_OUT_BYTES", 0)
    alone = _segment(built)
    assert spans == [alone.term_range(w) for w in words] and alone._laid is None
    want = [alone.postings_layout(s, e) for s, e in spans]
    rng = random.Random(7)
    for _ in range(20):
        picked = rng.sample(range(len(spans)), rng.randint(0, 60))
        got = laid.postings_layouts([spans[i] for i in picked])
        assert got.dtype == np.int64 and got.shape == (len(picked), 5)
        assert [tuple(row) for row in got.tolist()] == [want[i] for i in picked]
    s, e = next(span for span in spans if span[1] - span[0] > blocks.BLOCK_SIZE)
    part = (s + blocks.BLOCK_SIZE, e)  # from a block start inside the term
    assert laid.postings_layouts([part]).tolist() == [list(alone.postings_layout(*part))]
    laid.close()
    alone.close()


def _term_facts(seg: Segment, word: str) -> Iterator:
    """What a word's first search in a segment reads of its per-term entries, in the order
    it reads them: its number, postings range and layout, the doc numbers and frequencies
    read from the raw arrays where the layout points (as the compiled scan reads them: each
    checked before anything else reads those bytes), its positions and blocks."""
    tid, (s, e) = seg.term_id(word), seg.term_range(word)
    yield tid, s, e
    if e <= s:
        return
    layout = seg.postings_layout(s, e)
    yield layout
    # (A small segment's table of every term's layout gives the same, or none is made.)
    yield tuple(seg.postings_layouts([(s, e)])[0].tolist())
    width, at, first = layout[:3]
    d1, d2, d4, dbase, gapw, gapbit, gaps, tf, *_ = seg.raw_postings
    nblocks = (e - s + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    if width == docids.GAPS:
        # (Each gap as the kernel reads it: a shift and a mask of its words.)
        bits = gapbit[first : first + nblocks].astype(np.int64)
        widths = gapw[first : first + nblocks].astype(np.int64)
        end = int((bits + (blocks.BLOCK_SIZE - 1) * widths).max())
        yield gaps[bits.min() >> 6 : min((end + 63) >> 6, len(gaps))].tolist()
    else:
        rel = {1: d1, 2: d2, 4: d4}[width][at : at + e - s].astype(np.int64)
        yield rel.tolist()
    yield dbase[first : first + nblocks].tolist()
    yield tf[s:e].tolist()
    yield seg.positions(s, e).tolist()
    yield seg.term_blocks(word)


#: The arrays a word's first search in a segment reads single entries or ranges of: its
#: lookup in the term table, its postings' bounds, layout and blocks, its positions' start.
_TERM_ARRAYS = [
    "terms.crc", "terms.hord", "terms.offs", "terms.blob", "post.offs", "post.dw",
    "post.dpos", "blk.offs", "post.dbase", "post.d1", "post.gapw", "post.gapbit",
    "post.gaps", "post.tf", "pos.offs",
]  # fmt: skip


@pytest.fixture(scope="module")
def term_facts(built) -> dict[str, list]:
    clean = _segment(built)
    words = [*clean.terms.strings(), "zzznotaword"]
    found = {word: list(_term_facts(clean, word)) for word in words}
    clean.close()
    return found


@pytest.fixture(params=["tables", "whole"])
def vocabulary(request, monkeypatch):
    """Segments opened in the test look words up in their tables (as a large segment does),
    or read their vocabulary whole on the first lookup (as a small one does)."""
    if request.param == "tables":
        monkeypatch.setattr(segment_module, "READ_AT_ONCE", 0)
        monkeypatch.setattr(segment_module, "WHOLE_VOCABULARY", 0)
    else:
        monkeypatch.setattr(segment_module, "READ_AT_ONCE", 1 << 40)
    return request.param


@pytest.mark.parametrize("name", _TERM_ARRAYS)
@pytest.mark.parametrize("at", [0.1, 0.5, 0.9])
def test_a_corrupt_term_entry_is_index_corrupt_never_another_answer(
    built, term_facts, tmp_path, name, at, vocabulary
):
    """A flipped byte in any per-term array: every word's entries (looked up in a fresh
    segment, each read verified as it is taken) are the genuine ones or an IndexCorruptError,
    and the words whose entries hold the byte are the error (differential: the clean copy)."""
    if name.startswith("post.") and name not in {"post.offs", "post.tf", *_names(built)}:
        pytest.skip(f"{name} is not an array of this encoding")
    want = term_facts
    words = list(want)
    folder = tmp_path / "idx"
    shutil.copytree(built, folder)
    (entry,) = mf.read_latest(folder).segments
    slot = ArrayFile(folder / f"{entry.name}.arr")._slots[name]
    assert slot.nbytes
    _flip(folder / f"{entry.name}.arr", slot.offset + int(slot.nbytes * at))
    seg = Segment(folder, entry)
    failed = 0
    for word in random.Random(name).sample(words, len(words)):  # any order of first reads
        try:
            for i, got in enumerate(_term_facts(seg, word)):
                assert got == want[word][i], word  # (before any later read checks its bytes)
        except IndexCorruptError:
            failed += 1
    assert failed
    seg.close()


@pytest.mark.parametrize("part", ["term", "offs", "blob"])
@pytest.mark.parametrize("at", [0.1, 0.5, 0.9])
def test_a_corrupt_stem_table_entry_is_index_corrupt_never_another_stem(
    built, tmp_path, part, at, vocabulary
):
    """A flipped byte in a stem table (words, their offsets, their term numbers, read an
    item at a time): each stored word's stem is the genuine one or an IndexCorruptError,
    and some lookup meets the damage."""
    clean = _segment(built)
    field, info = next(iter(clean.entry.stems.items()))
    words, _ = clean.surface_words(field, info.analyzer)
    want = {word: clean.stem_of(field, info.analyzer, word) for word in words}
    assert all(want.values())
    clean.close()
    folder = tmp_path / "idx"
    shutil.copytree(built, folder)
    (entry,) = mf.read_latest(folder).segments
    slot = ArrayFile(folder / f"{entry.name}.arr")._slots[f"stem.{info.table}.{part}"]
    low = int(slot.nbytes * at) // slot.width * slot.width  # an entry's low byte: a small change
    _flip(folder / f"{entry.name}.arr", slot.offset + low)
    seg = Segment(folder, entry)  # (opening reads none of the table)
    failed = 0
    for word in [*words, "zzznotaword"]:
        try:
            got = seg.stem_of(field, info.analyzer, word)
        except IndexCorruptError:
            failed += 1
        else:
            assert got == want.get(word), word
    assert failed
    seg.close()


@pytest.mark.parametrize(
    "change", [None, _widen, _shift, _base, _offsets, _first_offset, _past_end]
)
@pytest.mark.parametrize("step", [1, 7, 300])
def test_check_finds_the_same_a_run_of_terms_at_a_time(built, monkeypatch, change, step):
    """``problems`` reads the postings a run of terms at a time: whatever the runs' size,
    it finds what reading them all at once finds."""
    arr, ndocs = _rewrite(built, change or (lambda arrays: None))
    monkeypatch.setattr(docids, "_STEP", 1 << 40)
    whole = docids.problems(arr, ndocs)
    monkeypatch.setattr(docids, "_STEP", step)
    assert sorted(docids.problems(arr, ndocs)) == sorted(whole)
    assert bool(whole) == (change is not None)


def test_checking_postings_takes_memory_by_the_run_not_by_the_segment(tmp_path, monkeypatch):
    """A segment of millions of stories holds hundreds of millions of postings: ``check``
    must not hold an int64 per posting (it held several, 2.7 GB for a million stories)."""
    import tracemalloc

    rng = random.Random(5)
    words = [f"w{i}" for i in range(300)]
    with doc_coding("gaps"):
        ix = newsindex.Index.create(tmp_path / "idx")
        with ix.writer() as w:
            for i in range(4000):
                w.add({"id": f"d{i}", "body": " ".join(rng.choices(words, k=40))})
        ix.close()
    seg = _segment(tmp_path / "idx")
    arr, ndocs, npost = seg._arrays, seg.ndocs, seg.npostings
    monkeypatch.setattr(docids, "_STEP", 256)
    try:
        for name in ("post.offs", "blk.offs", "post.dbase", "post.gapw", "post.gapbit"):
            arr[name]  # (verified before: a check reads them whole either way)
        tracemalloc.start()
        try:
            assert docids.problems(arr, ndocs) == []
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        seg.close()
    assert npost > 100_000
    assert peak < 4 * npost, (peak, npost)  # not even half of one int64 a posting
