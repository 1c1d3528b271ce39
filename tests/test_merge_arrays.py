"""The merge works on segments' arrays; it must give what building the same live articles
gives. Differential: generated articles are indexed in several commits (deletions,
replacements), the segments merged, and the result compared with ``build_segment`` over the
same live articles in the same order: every array, the stored articles, and searches of every
shape. Plus corruption: a merge never copies a corrupted input under fresh checksums."""

from __future__ import annotations

import json
import random
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.analysis import Analyzer
from newsindex.analysis.vocab import Vocabulary
from newsindex.errors import IndexCorruptError
from newsindex.index import blocks, docstore, merge
from newsindex.index import manifest as mf
from newsindex.index.arrays import ArrayFile
from newsindex.index.builder import build_segment
from newsindex.index.segment import Segment
from newsindex.schema import normalize_keyword
from newsindex.search.topk import SORTS
from tests.crafting import doc_coding

# Stop words, possessives, accents, digits, acronyms: what the analyzers treat apart.
WORDS = (
    "oil gas price prices opec crude bank banks rate wheat ship port the of and "
    "bank's café Zürich İstanbul U.S. F-16 1987 naïve prix"
).split()
DAYS = ["2016-11-09", "2016-11-10", "2016-12-01", "2017-01-05", None]
SOURCES = ["Reuters", "TRT World", "trtworld", "AP", None]
SECTIONS = ["world", "business", "World", None]

COMPAT = Path(__file__).parent / "data" / "compat" / "format-1" / "index"


def _text(rng: random.Random, longest: int) -> str:
    words = [WORDS[min(int(rng.paretovariate(0.9)) - 1, len(WORDS) - 1)] for _ in range(longest)]
    if rng.random() < 0.05:  # term frequencies past the packed byte's (see pack_tfs)
        words += ["oil"] * rng.choice([4, 64, 70])
    return " ".join(words[: rng.randint(0, len(words))])


def _article(rng: random.Random, article_id: str) -> dict:
    doc = {"id": article_id, "title": _text(rng, 6), "body": _text(rng, 50)}
    for key, values in (("date", DAYS), ("source", SOURCES), ("section", SECTIONS)):
        value = rng.choice(values)
        if value:
            doc[key] = value
    # Non-ASCII outside title and body (the rows of ASCII and UTF-8 blocks a merge copies
    # into one block), and extra values of every JSON kind.
    if rng.random() < 0.2:
        doc["author"] = rng.choice(["Ann Lee", "Bo Chan", "Zoë Ødegaard"])
    if rng.random() < 0.1:
        doc["extra"] = rng.choice(
            [
                {"tags": ["a", "b"], "note": "x"},
                {"où": "Genève", "score": 0.1, "n": 10**17, "ok": False, "none": None},
                {"tags": ["é", "ß"], "ratio": -0.0},
            ]
        )
    return doc


@st.composite
def commits(draw):
    """Commits of (articles added, ids deleted); ids from a small pool, so later commits
    replace earlier articles. Drawn from a seed, as hypothesis should not draw hundreds of
    documents one value at a time."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    pool = draw(st.integers(5, 200))
    out = []
    for size in draw(st.lists(st.integers(1, 80), min_size=1, max_size=5)):
        docs = [_article(rng, f"d{rng.randrange(pool)}") for _ in range(size)]
        gone = [f"d{rng.randrange(pool)}" for _ in range(draw(st.integers(0, 15)))]
        out.append((docs, gone))
    return out


def _arrays(folder: Path, entry) -> dict[str, np.ndarray]:
    arr = ArrayFile(folder / f"{entry.name}.arr")
    return {name: np.array(arr[name]) for name in arr.names()}


def _stems(arrays: dict[str, np.ndarray], field: str, terms: list[str]) -> dict[str, str]:
    from newsindex.index.strtable import SortedStrings

    words = SortedStrings(arrays, f"stem.{field}").strings()
    return dict(zip(words, (terms[t] for t in arrays[f"stem.{field}.term"].tolist())))


def assert_same_segment(merged_folder, merged, built_folder, built) -> None:
    """Every array equal, but the stem tables (decoded-equal: see below)."""
    for key in ("docs", "terms", "postings", "field_lengths", "min_day", "max_day", "stems"):
        assert getattr(merged, key) == getattr(built, key), key
    got, want = _arrays(merged_folder, merged), _arrays(built_folder, built)
    assert set(got) == set(want)
    terms = Segment(built_folder, built).terms.strings()
    for name in want:
        if name.startswith("stem."):
            continue
        assert got[name].dtype == want[name].dtype, name
        assert np.array_equal(got[name], want[name]), name
    # The builder's stem table holds the words its writer's token cache met whose stems are
    # in the segment; the merge's, the inputs' tables less the stems no live doc holds: the
    # same words and more (words of deleted or replaced articles sharing a live stem), each
    # with the stem the analyzer gives it.
    analyzer = Analyzer()
    for field in {info.table for info in built.stems.values()}:
        mine, theirs = _stems(got, field, terms), _stems(want, field, terms)
        assert theirs.items() <= mine.items()
        extra = sorted(set(mine) - set(theirs))
        assert analyzer.terms_for(extra) == [mine[w] for w in extra]
    # The stored fields are the same bytes (same rows, same dictionary).
    assert (merged_folder / f"{merged.name}.doc").read_bytes() == (
        built_folder / f"{built.name}.doc"
    ).read_bytes()


def _live_articles(folder: Path) -> list:
    out = []
    for entry in mf.read_latest(folder).segments:
        seg = Segment(folder, entry)
        out.extend(seg.store.iter_articles(seg.live))
        seg.close()
    return out


QUERIES = [
    "oil",
    "oil price",
    "the bank's rate",
    "café zurich",
    '"crude oil"',
    '"oil price"',
    "oil -gas",
    "+wheat ship",
    "title:oil bank",
    "pri*",
    # (a prefix whose words only deleted articles may hold, beside a negation)
    "pri* -price",
    "zzz* -oil",
    "(ba* OR ze*) -bank",
    "u.s f-16",
    "1987",
    "oil date:>=2016-12-01",
    "bank date:2016",
    "oil section:world",
    "price source:trtworld",
    "ship -section:business",
    "date:2016-11-10",
]


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_SIZE", 4)  # many blocks, and terms over many steps
    monkeypatch.setattr(merge, "_STEP_POSTINGS", 7)
    monkeypatch.setattr(merge, "_STORE_STEP", 32)
    monkeypatch.setattr(merge, "_STORE_CHARS", 500)  # some steps cut short by their text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=commits(), coding=st.sampled_from(["gaps", "offsets"]))
def test_merge_equals_a_fresh_build(tmp_path_factory, small_blocks, history, coding):
    with doc_coding(coding):  # (merges join each encoding's runs of terms their own way)
        _merge_and_build(tmp_path_factory, history)


def _merge_and_build(tmp_path_factory, history) -> None:
    root = tmp_path_factory.mktemp("merge")
    ix = newsindex.Index.create(root / "merged")
    for docs, gone in history:
        with ix.writer() as w:
            for doc in docs:
                w.add(doc)
            for article_id in gone:
                w.delete(article_id)
    folder = root / "merged"
    live = _live_articles(folder)
    if not live:
        return
    _merge_equals_build(ix, folder, live, root / "built")

    # Searches: the writer's optimize (the same merge) against one fresh build; and before
    # it, the index still holding its deleted articles answers as that build does (up to the
    # order of ties, which lists by segment).
    ref = newsindex.Index.create(root / "ref")
    with ref.writer() as w:
        for article in live:
            w.add(article)
    for query in QUERIES:
        a = ix.search(query, limit=500, facets=True)
        b = ref.search(query, limit=500, facets=True)
        assert a.total == b.total, query
        assert sorted((round(h.score, 9), h.id) for h in a.hits) == sorted(
            (round(h.score, 9), h.id) for h in b.hits
        ), query
        # (counts alike; equal counts may list in another order)
        assert _counted(a.facets) == _counted(b.facets), query
    ix.optimize()
    assert ix.stats()["segments"] == ref.stats()["segments"] == 1
    for article in live:
        assert ix.get(article.id) == article
    for query in QUERIES:
        for sort in SORTS:
            a = ix.search(query, limit=500, sort=sort, facets=True)
            b = ref.search(query, limit=500, sort=sort, facets=True)
            assert a.total == b.total, query
            assert [h.id for h in a.hits] == [h.id for h in b.hits], query
            assert [h.score for h in a.hits] == pytest.approx(
                [h.score for h in b.hits], rel=0, abs=1e-9
            )
            assert a.facets.to_dict() == b.facets.to_dict(), query


def _counted(facets: newsindex.Facets) -> dict:
    """Facet counts per value's key: equal counts may list in another order, and equally
    common spellings of a value (``TRT World``, ``trtworld``) show the first one met."""
    return {
        k: sorted((normalize_keyword(x), n) for x, n in v)
        if k != "dates" and isinstance(v, list)
        else v
        for k, v in facets.to_dict().items()
    }


def test_merge_on_real_stories_equals_a_fresh_build(tmp_path, sample_docs, monkeypatch):
    """Real text (Reuters) in four commits, with a zstd dictionary trained for the merged
    segment as for a built one."""
    monkeypatch.setattr(docstore, "DICT_MIN_DOCS", 256)
    monkeypatch.setattr(merge, "_STORE_STEP", 2048)  # the sample the dictionary learns
    folder = tmp_path / "idx"
    ix = newsindex.Index.create(folder)
    for start in range(0, len(sample_docs), len(sample_docs) // 4 + 1):
        with ix.writer() as w:
            for doc in sample_docs[start : start + len(sample_docs) // 4 + 1]:
                w.add(doc)
            for doc in sample_docs[start : start + 40 : 3]:
                w.delete(doc["id"])
    live = _live_articles(folder)
    entries = mf.read_latest(folder).segments
    assert len(entries) > 1
    analyzers = {f: Analyzer(spec) for f, spec in ix.settings.analyzers.items()}
    merged = merge.merge(folder, "seg-999999-merged", entries, analyzers)
    (tmp_path / "built").mkdir()
    built = build_segment(tmp_path / "built", "seg-000001-built", live, analyzers, Vocabulary())
    assert "store.dict" in _arrays(tmp_path / "built", built)
    assert_same_segment(folder, merged, tmp_path / "built", built)


def test_a_merge_holds_a_step_of_postings_not_its_output(tmp_path, monkeypatch):
    """A merge's memory must not grow with its output's postings (``optimize`` merges a
    whole archive into one segment): doc numbers, frequencies, position bytes and signatures
    go to scratch files as they are made, which are gone afterwards. Before they did, this
    merge peaked at 9.0 MB (it held each of those arrays whole, some twice); now at 3.9 MB,
    a step's postings and the per-document arrays."""
    import tracemalloc

    from newsindex.index.arrays import CHUNK, Spill

    rng = random.Random(5)
    words = [f"w{i}" for i in range(3000)]
    folder = tmp_path / "idx"
    # (Bodies not stored: the stored rows, re-encoded a block of articles at a time, would
    # weigh more than the postings in a test this small.)
    ix = newsindex.Index.create(folder, {"store_body": False})
    for part in range(3):
        with ix.writer() as w:
            for i in range(700):
                body = " ".join(rng.choices(words, k=400))
                w.add({"id": f"d{part}-{i}", "title": rng.choice(words), "body": body})
    entries = mf.read_latest(folder).segments
    assert len(entries) == 3
    analyzers = {f: Analyzer(spec) for f, spec in ix.settings.analyzers.items()}
    ix.close()
    monkeypatch.setattr(merge, "_STEP_POSTINGS", 4096)
    monkeypatch.setattr(merge, "_SIGNATURE_ROWS", 256)
    monkeypatch.setattr(Spill, "PIECE", 4 * CHUNK)
    tracemalloc.start()
    try:
        merged = merge.merge(folder, "seg-999999-merged", entries, analyzers, store_body=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    postings, docs = merged.postings, merged.docs
    assert postings > 600_000
    assert not list(folder.glob("*.spill"))
    # Per document: a few int64 columns, its id and stored row; per posting: nothing kept.
    assert peak < postings + 1_000 * docs + (2 << 20), (peak, postings, docs)


def test_old_segments_merge_to_what_building_their_articles_gives(tmp_path):
    """Format-1 segments (unpacked frequencies, no block maxima, no signatures, no store
    checksums) merge to the arrays of a fresh build (with that index's analyzers)."""
    folder = tmp_path / "old"
    shutil.copytree(COMPAT, folder)
    ix = newsindex.Index.open(folder)
    live = _live_articles(folder)
    _merge_equals_build(ix, folder, live, tmp_path / "built")


def _merge_equals_build(ix, folder: Path, live, out: Path) -> None:
    """Merge every segment of ``folder`` and build ``live`` afresh in ``out``: the same."""
    entries = mf.read_latest(folder).segments
    analyzers = {f: Analyzer(spec) for f, spec in ix.settings.analyzers.items()}
    merged = merge.merge(folder, "seg-999999-merged", entries, analyzers)
    out.mkdir()
    built = build_segment(out, "seg-000001-built", live, analyzers, Vocabulary())
    assert_same_segment(folder, merged, out, built)


def _flip(path: Path, at: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0x10]))


def _index(folder: Path, sample_docs) -> list:
    ix = newsindex.Index.create(folder)
    for start in (0, 150):
        with ix.writer() as w:
            for doc in sample_docs[start : start + 150]:
                w.add(doc)
        with ix.writer() as w:
            w.delete(sample_docs[start + 1]["id"])
    return list(mf.read_latest(folder).segments)


def test_a_merge_never_copies_a_corrupted_input(tmp_path, sample_docs):
    """A flipped byte in any array of an input either stops the merge (IndexCorruptError)
    or is in an array the merge does not copy: the result is then the clean inputs'."""
    clean_folder = tmp_path / "clean"
    entries = _index(clean_folder, sample_docs)
    analyzers = {f: Analyzer() for f in ("title", "body")}
    clean = merge.merge(clean_folder, "seg-999999-clean", entries, analyzers)
    names = ArrayFile(clean_folder / f"{entries[0].name}.arr").names()
    raised = 0
    for name in names:
        folder = tmp_path / name
        shutil.copytree(clean_folder, folder)
        slot = ArrayFile(folder / f"{entries[0].name}.arr")._slots[name]
        if not slot.nbytes:
            continue
        _flip(folder / f"{entries[0].name}.arr", slot.offset + slot.nbytes // 2)
        try:
            got = merge.merge(folder, "seg-999999-clean", entries, analyzers)
        except IndexCorruptError:
            raised += 1
            continue
        assert_same_segment(folder, got, clean_folder, clean)
    assert raised > len(names) // 2
    # The stored articles: each block's checksum.
    folder = tmp_path / "doc"
    shutil.copytree(clean_folder, folder)
    _flip(folder / f"{entries[1].name}.doc", 100)
    with pytest.raises(IndexCorruptError):
        merge.merge(folder, "seg-999999-clean", entries, analyzers)


@pytest.mark.parametrize(
    "row",
    [
        ["1", "title", "body"],  # too short
        ["1", None, "body", None, None, None, None, None, None],  # a title that is no text
        ["1", "title", 7, None, None, None, None, None, None],  # nor a body
        {"id": "1"},
    ],
)
def test_a_merge_refuses_a_malformed_stored_row(tmp_path, row):
    """Rows are copied without being made articles: one that could not be read back as an
    article (here under a valid checksum) stops the merge instead of being copied."""
    good = ["0", "t", "b", None, None, None, None, None, None]
    blob, sizes = docstore.compress_encoded([json.dumps([good, row]).encode()])
    path = tmp_path / "x.doc"
    path.write_bytes(blob)
    crcs = np.array([zlib.crc32(blob)], dtype=np.uint32)
    store = docstore.DocStore(path, np.array([0, sizes[0]], dtype=np.int64), crcs)
    try:
        with pytest.raises(IndexCorruptError, match="malformed row"):
            list(store.iter_rows())
    finally:
        store.close()
