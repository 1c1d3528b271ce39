"""Index lifecycle: create/open, writer semantics, snapshots, round trips across processes."""

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex import (
    Article,
    ArticleError,
    Index,
    IndexCorruptError,
    IndexExistsError,
    IndexNotFoundError,
    LockError,
    WriterClosedError,
)
from tests.histories import replay

SEED = {
    "id": "seed",
    "title": "Battle for strategic district in Aleppo continues",
    "body": "Syrian regime forces are claiming to have taken over a strategic district in Aleppo. "
    "The clashes around 1070 Apartments are still going on.",
    "date": "2016-11-09",
    "source": "TRT World",
    "section": "World",
}


def test_create_add_search_and_read_back(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(SEED)
    res = ix.search("aleppo battle", syntax="plain")
    assert res.total == 1
    hit = res.hits[0]
    assert hit.id == "seed" and hit.rank == 1 and hit.score > 0
    assert hit.article.title == SEED["title"]
    assert hit.article.date == dt.date(2016, 11, 9)
    assert hit.article.source == "TRT World"
    assert ix.get("seed").body == SEED["body"]
    assert "seed" in ix and "nope" not in ix


def test_stored_text_round_trips_exactly_ascii_or_not(tmp_path):
    """Stored blocks are ASCII JSON unless they hold non-ASCII text: both read back the same,
    including text that itself looks like a JSON escape."""
    texts = {
        "plain": "Plain ASCII news, with a literal \\u00e9 that is not an escape.",
        "accents": "Türkiye: İstanbul café, Ελλάδα, 東京, emoji 📰",
        "mixed": 'C:\\path\\u and \u00e9\n"quoted"\t',
    }
    ix = Index.create(tmp_path / "idx")
    for key, text in texts.items():  # one commit each: each text gets a block of its own
        with ix.writer() as w:
            w.add({"id": key, "title": text[:20], "body": text, "extra": {"k": [text]}})
        # Non-ASCII only outside title and body: an ASCII block with escapes.
        with ix.writer() as w:
            w.add(
                {
                    "id": "x" + key,
                    "title": "ASCII",
                    "body": "ASCII",
                    "source": text,
                    "extra": {"k": text},
                }
            )
    ix = Index.open(tmp_path / "idx")
    for key, text in texts.items():
        art = ix.get(key)
        assert (art.title, art.body, art.extra["k"]) == (text[:20], text, [text])
        art = ix.get("x" + key)
        assert (art.source, art.extra["k"]) == (text, text)


def test_create_refuses_an_existing_index_and_open_needs_one(tmp_path):
    Index.create(tmp_path / "idx")
    with pytest.raises(IndexExistsError):
        Index.create(tmp_path / "idx")
    assert Index.create(tmp_path / "idx", exist_ok=True).doc_count == 0
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="no manifest"):
        Index.open(tmp_path / "empty")


def test_an_error_inside_the_writer_block_rolls_back(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(SEED)
    with pytest.raises(RuntimeError):
        with ix.writer() as w:
            w.add({**SEED, "id": "two"})
            w.delete("seed")
            raise RuntimeError("boom")
    reopened = Index.open(tmp_path / "idx")
    assert reopened.doc_count == 1 and "seed" in reopened and "two" not in reopened
    # No stray segment files from the rolled-back writer.
    names = {p.name for p in (tmp_path / "idx").iterdir()}
    live = {
        f
        for s in json.loads(max((tmp_path / "idx").glob("manifest-*.json")).read_text())["segments"]
        for f in s["files"]
    }
    assert {n for n in names if n.startswith("seg-")} == live


def test_bad_article_raises_and_commits_nothing(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with pytest.raises(ArticleError, match="'title' must be a string"):
        with ix.writer() as w:
            w.add(SEED)
            w.add({"id": "bad", "title": 12})
    assert ix.doc_count == 0


def test_one_writer_at_a_time(tmp_path):
    ix = Index.create(tmp_path / "idx")
    w = ix.writer()
    with pytest.raises(LockError, match="another writer"):
        ix.writer()
    with pytest.raises(LockError, match="waited"):
        ix.writer(timeout=0.2)
    w.rollback()
    with pytest.raises(WriterClosedError):
        w.add(SEED)
    ix.writer().rollback()  # the lock was released


def test_replace_keeps_one_version(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(SEED)
    with ix.writer() as w:
        w.add({**SEED, "title": "Corrected: battle for Aleppo goes on"})
    assert ix.doc_count == 1
    assert ix.get("seed").title.startswith("Corrected")
    assert ix.search("corrected", syntax="plain").total == 1
    assert ix.search("strategic", syntax="plain").total == 1  # body still there, once


def test_snapshot_is_stable_until_refresh(tmp_path):
    ix = Index.create(tmp_path / "idx")
    reader = Index.open(tmp_path / "idx")
    with ix.writer() as w:
        w.add(SEED)
    assert reader.doc_count == 0 and reader.search("aleppo", syntax="plain").total == 0
    assert reader.refresh() is True
    assert reader.search("aleppo", syntax="plain").total == 1
    assert reader.refresh() is False


def test_sort_by_date_and_pagination(sample_index):
    newest = sample_index.search("oil", syntax="plain", sort="date", limit=20)
    days = [h.date_day for h in newest.hits]
    assert days == sorted(days, reverse=True) and len(days) == 20
    oldest = sample_index.search("oil", syntax="plain", sort="oldest", limit=5)
    assert [h.date_day for h in oldest.hits] == sorted(h.date_day for h in oldest.hits)
    assert oldest.hits[0].date_day <= days[-1]
    page1 = sample_index.search("oil prices", syntax="plain", limit=10)
    page2 = sample_index.search("oil prices", syntax="plain", limit=10, offset=10)
    both = sample_index.search("oil prices", syntax="plain", limit=20)
    assert [h.id for h in page1.hits + page2.hits] == [h.id for h in both.hits]
    assert [h.rank for h in page2.hits] == list(range(11, 21))
    scores = [h.score for h in both.hits]
    assert scores == sorted(scores, reverse=True)


def test_round_trip_in_a_new_process(tmp_path, sample_docs):
    path = tmp_path / "idx"
    ix = Index.create(path)
    with ix.writer() as w:
        for d in sample_docs[:200]:
            w.add(d)
    here = [(h.id, h.score) for h in ix.search("trade deficit", syntax="plain").hits]
    code = (
        "import json, newsindex\n"
        f"ix = newsindex.Index.open({str(path)!r})\n"
        "r = ix.search('trade deficit', syntax='plain')\n"
        "print(json.dumps([ix.doc_count, [[h.id, h.score] for h in r.hits]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, hits = json.loads(out.stdout)
    assert count == 200
    assert [tuple(h) for h in hits] == here and len(here) > 0


@pytest.mark.parametrize("dictionary", [False, True])
def test_parallel_and_serial_analysis_build_identical_indexes(
    tmp_path, sample_docs, monkeypatch, dictionary
):
    """Forked workers (1 or 2 of them, each analyzing and compressing its part of the batch)
    write byte-identical segment files to a single process, with the stored fields'
    dictionary (trained before the fork, compressing every part) or without."""
    from newsindex.index import analyze, docstore

    if dictionary:
        monkeypatch.setattr(docstore, "DICT_MIN_DOCS", 500)
    results, files = [], []
    old = analyze.MIN_PARALLEL_DOCS
    analyze.MIN_PARALLEL_DOCS = 10
    try:
        for workers in (1, 2, 3):
            ix = Index.create(tmp_path / f"w{workers}")
            with ix.writer(workers=workers) as w:
                for d in sample_docs:
                    w.add(d)
            r = ix.search("bank rate cut interest", syntax="plain", limit=50)
            results.append(([(h.id, h.score) for h in r.hits], r.total, ix.stats()["postings"]))
            files.append(
                {p.suffix: p.read_bytes() for p in (tmp_path / f"w{workers}").glob("seg-*")}
            )
            assert ix.check() == []
    finally:
        analyze.MIN_PARALLEL_DOCS = old
    assert results[0] == results[1] == results[2]
    assert set(files[0]) == {".arr", ".doc"}
    assert files[0] == files[1] == files[2]
    assert (b'"store.dict"' in files[0][".arr"]) == dictionary


def test_postings_sort_the_same_without_positions_in_the_key(tmp_path, sample_docs, monkeypatch):
    """Positions ride in the 64-bit sort key when they fit; when they do not (huge documents
    in huge segments), a stable sort must write the very same segment."""
    from newsindex.index import builder

    files = []
    for bits in (64, 20):
        monkeypatch.setattr(builder, "_KEY_BITS", bits)
        ix = Index.create(tmp_path / f"k{bits}")
        with ix.writer(workers=1) as w:
            for d in sample_docs:
                w.add(d)
        files.append({p.suffix: p.read_bytes() for p in (tmp_path / f"k{bits}").glob("seg-*")})
    assert files[0] == files[1]


# -- add / replace / delete / reopen keep exactly the expected ids -------------------------------
ops = st.lists(
    st.tuples(st.sampled_from(["add", "delete", "commit", "flush"]), st.integers(0, 12)),
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_edits_keep_exactly_the_expected_ids(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("ops") / "idx"
    ix = Index.create(path)
    expected: dict[str, str] = {}
    committed: dict[str, str] = {}
    w = ix.writer(buffer_docs=3)
    version = 0
    for op, k in ops:
        doc_id = f"d{k}"
        if op == "add":
            version += 1
            w.add({"id": doc_id, "title": f"story {k}", "body": f"word{version} shared text"})
            expected[doc_id] = f"word{version}"
        elif op == "delete":
            w.delete(doc_id)
            expected.pop(doc_id, None)
        elif op == "flush":
            w.flush()
        else:
            w.commit()
            committed = dict(expected)
            w = ix.writer(buffer_docs=3)
    w.rollback()
    for reader in (ix, Index.open(path)):
        assert reader.doc_count == len(committed)
        hits = reader.search("shared", syntax="plain", limit=100).hits
        assert sorted(h.id for h in hits) == sorted(committed)
        for doc_id, word in committed.items():
            assert word in reader.get(doc_id).body
            assert [h.id for h in reader.search(word, syntax="plain").hits] == [doc_id]


@pytest.mark.parametrize("dictionary", [False, True])
def test_stored_fields_are_the_same_bytes_with_or_without_the_compression_thread(
    tmp_path, monkeypatch, sample_docs, dictionary
):
    """The background compressor (C backend) and the in-thread fallback (CFFI backend) write
    identical files: the thread changes when blocks are compressed, never what is written."""
    from newsindex.article import Article
    from newsindex.index import docstore

    articles = [Article.from_dict(d) for d in sample_docs[:700]]
    if dictionary:  # trained on the first batch: 44 blocks in one
        monkeypatch.setattr(docstore, "DICT_MIN_DOCS", 500)
    else:
        monkeypatch.setattr(docstore, "_BATCH_BLOCKS", 4)  # 44 blocks: 11 batches in the queue

    def write(path):
        with docstore.StoreWriter(path) as store:
            store.write(articles)
            return (*store.finish(), store.dictionary)

    threaded = write(tmp_path / "a.doc")
    monkeypatch.setattr(docstore.zstandard, "backend", "cffi")
    inline = write(tmp_path / "b.doc")
    assert (tmp_path / "a.doc").read_bytes() == (tmp_path / "b.doc").read_bytes()
    assert threaded[2] == inline[2] and (threaded[0] == inline[0]).all()
    assert (threaded[1] == inline[1]).all()
    trained = threaded[3]
    assert (trained is not None) == dictionary and trained == inline[3]
    store = docstore.DocStore(
        tmp_path / "a.doc",
        threaded[0],
        threaded[1],
        None if trained is None else (lambda: np.frombuffer(trained, dtype=np.uint8)),
    )
    try:
        assert list(store.iter_articles()) == articles
        assert store.get(699) == articles[699]
    finally:
        store.close()


def test_columns_are_stored_narrow_and_read_as_the_articles_say(tmp_path, sample_docs):
    """Per-document lengths and keyword codes are stored in the narrowest dtype (string
    table offsets in uint32), and read as stored (no int32 copy of every story's column),
    equal to what the articles give, before and after a merge (segments of int32 columns:
    tests/data/compat)."""
    docs = sample_docs[:400]
    ix = replay(tmp_path / "idx", ([(docs[:200], []), (docs[200:], [])], False))
    for merged in (False, True):
        if merged:
            ix.optimize()
            ix.refresh()
        by_id = {d["id"]: Article.from_dict(d) for d in docs}
        for seg in ix._current().searcher.segments:
            arr = seg._arrays
            for name in ("len.title", "len.body", "kw.source", "kw.section", "kw.author"):
                assert arr.unverified(name).dtype.itemsize < 4, name
            for name in ("ids.offs", "terms.offs", "stem.title.offs"):
                assert arr.unverified(name).dtype == np.uint32, name
            for doc in range(seg.ndocs):
                article = by_id[seg.ids[doc]]
                for fi, field in enumerate(("title", "body")):
                    want = len(ix.analyzer(field).terms(getattr(article, field)))
                    assert seg.lengths[fi].dtype == arr.unverified(f"len.{field}").dtype
                    assert int(seg.lengths[fi][doc]) == want
                for kname in ("source", "section", "author"):
                    code = int(seg.keyword_codes[kname][doc])
                    assert seg.keyword_codes[kname].dtype == arr.unverified(f"kw.{kname}").dtype
                    value = getattr(article, kname)
                    assert (
                        (code == -1) if value is None else seg.keyword_value(kname, code) == value
                    )
    assert ix.check() == []
    ix.close()


@pytest.mark.parametrize("body_words", [200, 256, 65_535, 70_000])
def test_columns_past_the_narrow_dtypes_read_back_exactly(tmp_path, body_words):
    """Lengths past uint8 and uint16 and keyword codes past int8 take wider dtypes, and read
    back as the articles say, in a built segment and a merged one."""
    docs = [
        {
            "id": f"d{i}",
            "title": "oil",
            "body": "oil",
            "section": f"section {i}",
            "date": "2016-01-01",
        }
        for i in range(300)
    ]
    docs[7]["body"] = " ".join(f"w{k % 50}" for k in range(body_words))
    ix = replay(tmp_path / "idx", ([(docs[:150], []), (docs[150:], [])], False))
    for merged in (False, True):
        if merged:
            ix.optimize()
            ix.refresh()
        for seg in ix._current().searcher.segments:
            for doc in range(seg.ndocs):
                d = docs[int(seg.ids[doc][1:])]
                assert int(seg.lengths[1][doc]) == len(d["body"].split())
                code = int(seg.keyword_codes["section"][doc])
                assert seg.keyword_value("section", code) == d["section"]
    assert ix.search("w3", limit=1).total == (body_words > 3)
    assert ix.check() == []
    ix.close()


def test_int8_keyword_codes_count_and_filter_to_their_last_code(tmp_path):
    """A segment of 128 sections stores codes 0..127 in int8, read as stored: facets count
    the last code (one past it overflows int8) and the story without a section apart,
    filters find every section, and a merged segment keeps them all."""

    def part(tag: str) -> list[dict]:  # s0..s127 (codes 0..127), then s127 again
        sections = [f"s{k}" for k in range(128)] + ["s127"] * 4
        return [
            {"id": f"{tag}{i}", "title": "oil", "body": "oil", "section": section}
            for i, section in enumerate(sections)
        ]

    docs = part("a") + part("b") + [{"id": "none", "title": "oil", "body": "oil"}]
    ix = replay(tmp_path / "idx", ([(docs[:132], []), (docs[132:], [])], False))
    for merged in (False, True):
        if merged:
            ix.optimize()
            ix.refresh()
        segments = ix._current().searcher.segments
        assert {seg.keyword_codes["section"].dtype for seg in segments} == {np.dtype(np.int8)}
        res = ix.search("oil", facets=True, limit=1)
        assert res.total == 265
        assert res.facets.sections[:2] == [("s127", 10), ("s0", 2)]
        for k, n in ((0, 2), (126, 2), (127, 10)):
            assert ix.search(f'oil section:"s{k}"', limit=5).total == n
        assert ix.search("oil -section:s127", limit=1).total == 255
    ix.close()


def test_a_larger_segment_gets_a_larger_dictionary_that_pays(tmp_path, sample_docs):
    """The dictionary grows with the segment it is trained for, up to its cap: the same
    first blocks give a large segment's a larger dictionary, which compresses those
    articles smaller, and every article reads back exactly."""
    from newsindex.article import Article
    from newsindex.index import docstore

    articles = [Article.from_dict(d) for d in sample_docs]
    encoded = docstore._encode_blocks(articles)
    out = {}
    for total in (docstore.DICT_MIN_DOCS, 10**7):
        path = tmp_path / f"{total}.doc"
        with docstore.StoreWriter(path) as store:
            trained = store.train_encoded(encoded, total)
            assert trained is not None
            store.append_compressed(*docstore.compress_encoded(encoded, trained))
            offsets, crcs, _ = store.finish()
        out[total] = (len(trained), int(offsets[-1]))
        reader = docstore.DocStore(
            path, offsets, crcs, lambda t=trained: np.frombuffer(t, np.uint8)
        )
        try:
            assert list(reader.iter_articles()) == articles
        finally:
            reader.close()
    small, large = out[docstore.DICT_MIN_DOCS], out[10**7]
    assert small[0] <= docstore._DICT_BYTES < large[0] <= docstore._DICT_MAX_BYTES
    assert large[1] < 0.97 * small[1]


def test_a_segment_dictionary_stores_every_article_exactly(tmp_path, monkeypatch, sample_docs):
    """Segments large enough get a zstd dictionary: every article reads back as given (ASCII
    and UTF-8 blocks, after deletes and a merge), a flipped bit in the dictionary is an
    IndexCorruptError, and the stored fields are smaller than without it."""
    from newsindex.index import docstore
    from newsindex.index.arrays import ArrayFile

    docs = [dict(d) for d in sample_docs]
    for d in docs[::7]:
        d["title"] = "Zürich — " + d["title"] + " ✓"
    sizes = {}
    for name, least in (("plain", 10**9), ("dict", 500)):
        monkeypatch.setattr(docstore, "DICT_MIN_DOCS", least)
        ix = Index.create(tmp_path / name)
        with ix.writer() as w:
            for d in docs:
                w.add(d)
        (arr,) = tmp_path.joinpath(name).glob("*.arr")
        assert ("store.dict" in ArrayFile(arr)) == (name == "dict")
        sizes[name] = sum(p.stat().st_size for p in tmp_path.joinpath(name).glob("*.doc"))
        for d in docs:
            assert ix.get(d["id"]).to_dict() == Article.from_dict(d).to_dict()
        with ix.writer() as w:
            for d in docs[::3]:
                w.delete(d["id"])
        ix.optimize()
        ix.refresh()
        for i, d in enumerate(docs):
            got = ix.get(d["id"])
            assert (got is None) if i % 3 == 0 else got == Article.from_dict(d)
        assert ix.check() == []
        ix.close()
    assert sizes["dict"] < 0.9 * sizes["plain"]
    folder = tmp_path / "dict"
    (arr,) = folder.glob("*.arr")
    f = ArrayFile(arr)
    at = f.unverified("store.dict").ctypes.data - np.frombuffer(f._mm, np.uint8).ctypes.data
    del f
    data = bytearray(arr.read_bytes())
    data[at + 1000] ^= 0x20
    arr.write_bytes(bytes(data))
    with Index.open(folder) as ix, pytest.raises(IndexCorruptError, match=arr.name):
        ix.get(docs[1]["id"])


def test_words_the_index_has_seen_need_no_stemmer(tmp_path, sample_docs):
    """Segments keep the stem of every word they hold (keyed by the stemmer's input, so
    "bank" is known from "bank's"), so a query made of words the index has seen is analyzed
    without the stemmer (never imported: a search process stays small and starts fast), and
    gives exactly the results live stemming gives. nltk is never imported either way."""
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for d in sample_docs[:300]:
            w.add(d)
    queries = [
        "cocoa prices",
        "bank's rates cut",
        "Oil exports rising",
        'title:oil -body:"crude oil"',
        "organizing shipments",
        "zzyzxqq untouchables",
        "déjà vu",
    ]
    script = (
        "import json, sys, newsindex\n"
        "ix = newsindex.Index.open(sys.argv[1])\n"
        "seen = [[h.id for h in ix.search(q, limit=20).hits] for q in json.loads(sys.argv[2])]\n"
        "before = 'newsindex.analysis.snowball' in sys.modules\n"
        "ix.analyzer('body').lexicon = ix.analyzer('title').lexicon = None\n"
        "ix.analyzer('body')._cache.clear(); ix.analyzer('title')._cache.clear()\n"
        "live = [[h.id for h in ix.search(q, limit=20).hits] for q in json.loads(sys.argv[2])]\n"
        "nltk = 'nltk' in sys.modules\n"
        "print(json.dumps({'stemmer_before': before, 'seen': seen, 'live': live, 'nltk': nltk}))\n"
    )

    def run(qs):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "idx"), json.dumps(qs)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    known = run(queries[:4])
    assert known["stemmer_before"] is False and known["nltk"] is False
    assert known["seen"] == known["live"] and all(known["seen"])
    unknown = run(queries)  # unseen words fall back to the stemmer
    assert unknown["stemmer_before"] is True and unknown["nltk"] is False
    assert unknown["seen"] == unknown["live"]
    assert unknown["seen"][4]  # "organizing" finds the stories' "organized"/"organization"...


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(st.tuples(st.sampled_from(["add", "add", "commit", "flush"]), st.integers(0, 6)))
)
def test_added_minus_replaced_is_what_a_commit_adds(tmp_path_factory, ops):
    # `newsindex index` reports "N new, M replaced" from these counters: an id repeated in one
    # run (buffered, flushed or committed before) must count as replaced, not new.
    ix = Index.create(tmp_path_factory.mktemp("counts") / "idx")
    w = ix.writer(buffer_docs=2)
    before = 0
    for op, k in [*ops, ("commit", 0)]:
        if op == "add":
            w.add({"id": f"d{k}", "title": f"story {k}"})
        elif op == "flush":
            w.flush()
        else:
            w.commit()
            assert w.added - w.replaced == ix.doc_count - before
            before = ix.doc_count
            w = ix.writer(buffer_docs=2)
    w.rollback()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["add", "add", "add", "delete", "flush", "commit"]),
            st.integers(0, 7),
            st.booleans(),
        ),
        max_size=40,
    ),
    buffer_docs=st.integers(1, 4),
)
def test_edits_across_flushes_and_commits_match_a_model(tmp_path_factory, ops, buffer_docs):
    # A writer looks up an added or deleted id in the segments it flushed (through their own
    # id tables and a filter of the ids it flushed), the buffer and the committed segments:
    # whatever the interleaving, and whether an id comes as a str or as a str subclass that
    # hashes its own way, the index holds the last version of each id not deleted since.
    ix = Index.create(tmp_path_factory.mktemp("model") / "idx")
    model: dict[str, str] = {}
    w = ix.writer(buffer_docs=buffer_docs)
    for step, (op, k, odd) in enumerate([*ops, ("commit", 0, False)]):
        article_id = _OddId(f"d{k}") if odd else f"d{k}"
        if op == "add":
            w.add({"id": article_id, "title": f"version {step}"})
            model[f"d{k}"] = f"version {step}"
        elif op == "delete":
            w.delete(article_id)
            model.pop(f"d{k}", None)
        elif op == "flush":
            w.flush()
        else:
            w.commit()
            assert ix.doc_count == len(model)
            assert {i: ix.get(i).title for i in model} == model
            assert all(ix.get(f"d{j}") is None for j in range(8) if f"d{j}" not in model)
            w = ix.writer(buffer_docs=buffer_docs)
    w.rollback()
    ix.close()


class _OddId(str):
    """An id that hashes its own way (as a str subclass may)."""

    def __hash__(self) -> int:
        return 7
