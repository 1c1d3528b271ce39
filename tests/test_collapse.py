"""Near-duplicate collapsing (issue 18.1): MinHash signatures at index time, collapse=True
at search time, Index.duplicates.

The signatures are held to an independent reference (exact Jaccard similarity of word
shingle sets, computed here from the analyzer's terms), the banded grouping to a brute-force
greedy grouping over every pair, and collapsed results to the plain results they reduce.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import COLLAPSE_THRESHOLD, Index, compiled
from newsindex.index import manifest as mf
from newsindex.index import minhash
from newsindex.index.arrays import write_arrays
from newsindex.index.segment import Segment
from newsindex.search import collapse

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
BYLINES = ["By Jane Smith, Reuters", "From our correspondent in London", "AP -"]
BOILERPLATE = [
    "Copyright 1987 Reuters. All rights reserved.",
    "Subscribe to our newsletter for the latest business headlines.",
    "Additional reporting by the economics desk.",
]


def shingles(ix: Index, article: newsindex.Article) -> set[tuple[str, ...]]:
    """The reference: the set of SHINGLE-word runs of each field's kept terms (a field with
    fewer is one shingle of them), as the module documents it."""
    out: set[tuple[str, ...]] = set()
    for field in ("title", "body"):
        terms = ix.analyzer(field).terms(getattr(article, field))
        k = minhash.SHINGLE
        if 0 < len(terms) < k:
            out.add(tuple(terms))
        out.update(tuple(terms[i : i + k]) for i in range(len(terms) - k + 1))
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def signature_of(ix: Index, article_id: str) -> np.ndarray:
    snap = ix._current()
    for seg in snap.searcher.segments:
        doc = seg.find_id(article_id)
        if doc >= 0:
            return seg.signatures()[doc]
    raise KeyError(article_id)


def edited(rnd: random.Random, doc: dict, edits: int, vocabulary: list[str]) -> dict:
    """A wire copy: ``edits`` words substituted, maybe a byline, boilerplate, a moved
    sentence."""
    words = doc["body"].split()
    for _ in range(edits):
        if words:
            words[rnd.randrange(len(words))] = rnd.choice(vocabulary)
    body = " ".join(words)
    sentences = body.split(". ")
    if len(sentences) > 3 and rnd.random() < 0.5:  # a sentence moved to the end
        sentences.append(sentences.pop(rnd.randrange(len(sentences) - 1)))
        body = ". ".join(sentences)
    if rnd.random() < 0.5:
        body = f"{rnd.choice(BYLINES)} {body}"
    if rnd.random() < 0.5:
        body = f"{body} {rnd.choice(BOILERPLATE)}"
    return {**doc, "id": f"{doc['id']}-copy", "body": body, "source": "Wire Copy"}


@pytest.fixture(scope="module")
def long_docs(sample_docs) -> list[dict]:
    return [d for d in sample_docs if len(d["body"].split()) >= 150]


@pytest.fixture(scope="module")
def copies_index(tmp_path_factory, sample_docs, long_docs) -> tuple[Index, list, list]:
    """The sample plus an edited copy of 80 of its longer stories (two segments)."""
    rnd = random.Random(18)
    vocabulary = " ".join(d["body"] for d in sample_docs[:50]).split()
    originals = rnd.sample(long_docs, 80)
    copies = [edited(rnd, d, rnd.randrange(0, 6), vocabulary) for d in originals]
    ix = Index.create(tmp_path_factory.mktemp("copies") / "idx")
    with ix.writer() as w:
        for d in sample_docs:
            w.add(d)
    with ix.writer() as w:
        for d in copies:
            w.add(d)
    return ix, originals, copies


# -- signatures ---------------------------------------------------------------------------------
def test_estimates_follow_the_exact_jaccard_of_the_shingle_sets(copies_index):
    """Over 80 real pairs of near-copies and 200 unrelated pairs, the share of equal bins
    estimates the exact Jaccard similarity: unbiased, errors of the size 64 bins allow."""
    ix, originals, copies = copies_index
    rnd = random.Random(3)
    ids = [d["id"] for d in originals] + [d["id"] for d in copies]
    pairs = [(o["id"], c["id"]) for o, c in zip(originals, copies)]
    pairs += [tuple(rnd.sample(ids, 2)) for _ in range(200)]
    errors = []
    for a, b in pairs:
        exact = jaccard(shingles(ix, ix.get(a)), shingles(ix, ix.get(b)))
        est = float(collapse.similarity(signature_of(ix, a), signature_of(ix, b)))
        errors.append(est - exact)
    errors_arr = np.array(errors)
    assert abs(errors_arr.mean()) < 0.02
    assert np.abs(errors_arr).mean() < 0.05
    assert np.abs(errors_arr).max() < 0.25


def test_signatures_rebuilt_from_postings_equal_the_stored_ones(copies_index):
    """Segments written before signatures existed get them from their postings: the same
    rows the builder stores, bit for bit."""
    ix, _, _ = copies_index
    for seg in ix._current().searcher.segments:
        assert np.array_equal(seg.signatures_from_postings(), seg.signatures())


def test_old_format_index_collapses_from_its_postings(tmp_path):
    """An index written before signatures (tests/data/compat/format-1) still collapses."""
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "data" / "compat" / "format-1" / "index"
    shutil.copytree(src, tmp_path / "old")
    ix = Index.open(tmp_path / "old")
    assert not any(minhash.ARRAY in seg._arrays for seg in ix._current().searcher.segments)
    plain = ix.search("oil OR bank OR trade", limit=1000)
    folded = ix.search("oil OR bank OR trade", limit=1000, collapse=True)
    assert folded.total <= plain.total and folded.total > 0
    assert ix.check() == []


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 6), seed=st.integers(0, 2**32 - 1))
def test_packed_signatures_read_back_as_written(n, seed):
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 1 << minhash.BITS, size=(n, minhash.BINS), dtype=minhash.DTYPE)
    sigs[: n // 3] = (1 << minhash.BITS) - 1  # every bit set
    packed = minhash.pack(sigs)
    assert packed.dtype == np.uint8 and packed.shape == (n, minhash.PACKED)
    assert np.array_equal(minhash.stored(packed), sigs)


def test_segments_with_16_bit_signatures_group_as_packed_ones(tmp_path, copies_index):
    """Segments written when a bin kept 16 bits are read as their low 12 (the minima's low
    bits, as a bin keeps them now), so old and new segments compare: an index whose
    segments hold them answers as the one written now."""
    ix, _, _ = copies_index
    shutil.copytree(ix.path, tmp_path / "old")
    manifest = mf.read_latest(tmp_path / "old")
    rng = np.random.default_rng(1)
    entry = manifest.segments[0]  # one segment old, the other new
    seg = Segment(tmp_path / "old", entry)
    arrays = {name: np.array(seg._arrays[name]) for name in seg._arrays.names()}
    seg.close()
    assert arrays[minhash.ARRAY].shape[1] == minhash.PACKED
    new = minhash.stored(arrays[minhash.ARRAY])
    high = rng.integers(0, 1 << (16 - minhash.BITS), size=new.shape, dtype=np.uint16)
    arrays[minhash.ARRAY] = np.where(new.any(axis=1)[:, None], new | high << minhash.BITS, 0)
    path = tmp_path / "old" / f"{entry.name}.arr"
    path.unlink()
    info = write_arrays(path, arrays)
    files = {**entry.files, path.name: mf.FileInfo(info["size"], info["crc32"])}
    segments = (dataclasses.replace(entry, files=files), *manifest.segments[1:])
    generation = manifest.generation + 1
    mf.write(
        tmp_path / "old",
        dataclasses.replace(manifest, generation=generation, segments=segments),
    )
    mf.record_generation(tmp_path / "old", generation)
    old = Index.open(tmp_path / "old")
    stored = [seg._arrays[minhash.ARRAY].dtype for seg in old._current().searcher.segments]
    assert stored == [np.uint16, np.uint8]
    for a, b in zip(ix._current().searcher.segments, old._current().searcher.segments):
        assert np.array_equal(a.signatures(), b.signatures())
    for threshold in (0.5, 0.6, 0.75, 0.9, 1.0):
        want = sorted(ix.duplicates(threshold=threshold))
        assert want
        assert sorted(old.duplicates(threshold=threshold)) == want
    assert (
        old.search("oil", collapse=True, limit=50).total
        == ix.search("oil", collapse=True, limit=50).total
    )
    # A merge copies packed signatures as bytes and packs the 16-bit ones: each story keeps
    # its signature.
    old.optimize()
    (merged,) = old._current().searcher.segments
    assert merged._arrays[minhash.ARRAY].dtype == np.uint8
    want_by_id = {
        article_id: seg.signatures()[doc]
        for seg in ix._current().searcher.segments
        for doc, article_id in enumerate(seg.ids.strings())
    }
    got = merged.signatures()
    for doc, article_id in enumerate(merged.ids.strings()):
        assert np.array_equal(got[doc], want_by_id[article_id])
    old.close()


def test_a_story_without_terms_is_no_ones_duplicate(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for i in range(3):
            w.add({"id": f"empty{i}", "title": "The", "body": "a an the of"})
        w.add({"id": "x", "title": "oil", "body": "oil prices rise"})
    assert not signature_of(ix, "empty0").any()
    assert ix.duplicates() == []


# -- properties of grouping -------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_a_lightly_edited_copy_is_grouped_with_its_original(
    tmp_path_factory, long_docs, sample_docs, data
):
    """Whatever the edits, a copy whose shingle set overlaps its original's at 0.9 or more
    (exactly, by the reference) is grouped with it at the default threshold, and a story
    overlapping at 0.4 or less is not: the signature's error is far smaller than the gaps."""
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    original = data.draw(st.sampled_from(long_docs))
    copy = edited(rnd, original, data.draw(st.integers(0, 4)), ["alpha", "beta", "gamma"])
    other = data.draw(st.sampled_from(sample_docs).filter(lambda d: d["id"] != original["id"]))
    ix = Index.create(tmp_path_factory.mktemp("prop") / "idx")
    with ix.writer() as w:
        w.add(original)
        w.add(copy)
        w.add(other)
    grouped = {frozenset(g) for g in ix.duplicates()}
    near = jaccard(shingles(ix, ix.get(original["id"])), shingles(ix, ix.get(copy["id"])))
    far = jaccard(shingles(ix, ix.get(original["id"])), shingles(ix, ix.get(other["id"])))
    together = any({original["id"], copy["id"]} <= g for g in grouped)
    apart = not any({original["id"], other["id"]} <= g for g in grouped)
    if near >= 0.9:
        assert together, near
    if far <= 0.4:
        assert apart, far


def reference_groups(sigs: np.ndarray, threshold: float) -> list[int]:
    """Brute force: in rank order, each story joins the first kept story with which its
    signature estimates a Jaccard similarity of ``threshold`` (the share of equal bins less
    the chance agreement of ``minhash.BITS``-bit values, Li and König's correction; compared
    with every kept story)."""
    leader = list(range(len(sigs)))
    kept: list[int] = []
    signed = sigs.any(axis=1)
    chance = 2.0**-minhash.BITS
    for j in range(len(sigs)):
        if kept and signed[j]:
            same = (sigs[kept] == sigs[j]).sum(axis=1) / minhash.BINS
            estimate = (same - chance) / (1 - chance)
            near = np.flatnonzero((estimate >= threshold - 1e-12) & signed[kept])
            if len(near):
                leader[j] = kept[near[0]]
                continue
        kept.append(j)
    return leader


@settings(max_examples=200, deadline=None)
@given(
    seeds=st.lists(st.integers(0, 5), min_size=0, max_size=40),
    noise=st.lists(st.integers(0, 63), min_size=40, max_size=40),
    threshold=st.sampled_from([0.5, 0.51, 0.55, 0.6, 0.7, 0.75, 0.76, 0.8, 0.9, 0.97, 1.0]),
)
def test_banded_grouping_equals_brute_force(seeds, noise, threshold):
    """LSH banding never misses a pair the threshold groups (the bands are chosen so that
    it cannot): the groups equal those of comparing every pair. Signatures are drawn as
    noisy copies of a few base rows, so every similarity level occurs."""
    rng = np.random.default_rng(len(seeds))
    top = 1 << minhash.BITS
    base = rng.integers(1, top, size=(6, minhash.BINS), dtype=minhash.DTYPE)
    rows = []
    for k, s in enumerate(seeds):
        row = base[s].copy()
        changed = rng.permutation(minhash.BINS)[: noise[k]]
        # (a changed bin may take its old value again: chance agreement, as in real ones)
        row[changed] = rng.integers(1, top, size=len(changed), dtype=minhash.DTYPE)
        rows.append(row if k % 7 else np.zeros(minhash.BINS, dtype=minhash.DTYPE))
    sigs = np.array(rows, dtype=minhash.DTYPE).reshape(-1, minhash.BINS)
    kept, leader = collapse.groups(sigs, threshold)
    assert leader.tolist() == reference_groups(sigs, threshold)
    assert kept.tolist() == [k for k, lead in enumerate(leader.tolist()) if lead == k]


QUERIES = ["oil", "bank rate", "trade deficit", "company said", "shares", "prices", "dlrs"]


@SETTINGS
@given(
    query=st.sampled_from(QUERIES),
    sort=st.sampled_from(newsindex.SORTS),
    threshold=st.sampled_from([True, 0.5, 0.7, 0.9, 1.0]),
    filtered=st.booleans(),
)
def test_collapsed_results_reduce_the_plain_results(copies_index, query, sort, threshold, filtered):
    """Every collapsed hit is a plain hit with its score, in the plain order; each stands
    for the plain hits collapsed under it, which rank below it; no two collapsed hits are
    near-duplicates; the total counts groups; with filters too."""
    ix, _, _ = copies_index
    if filtered:
        query = f"{query} -section:earn"
    plain = ix.search(query, sort=sort, limit=2000)
    folded = ix.search(query, sort=sort, limit=2000, collapse=threshold)
    limit = COLLAPSE_THRESHOLD if threshold is True else threshold
    position = {h.id: k for k, h in enumerate(plain.hits)}
    score = {h.id: h.score for h in plain.hits}
    order = [position[h.id] for h in folded.hits]
    assert order == sorted(order)
    assert all(h.score == score[h.id] for h in folded.hits)
    assert folded.total == len(folded.hits) <= plain.total
    covered = [h.id for h in folded.hits] + [d for h in folded.hits for d in h.duplicates]
    assert sorted(covered) == sorted(position)  # every match is shown or stood for
    for h in folded.hits:
        assert all(position[d] > position[h.id] for d in h.duplicates)
        assert [position[d] for d in h.duplicates] == sorted(position[d] for d in h.duplicates)
    sigs = {h.id: signature_of(ix, h.id) for h in folded.hits}
    for a, b in combinations(folded.hits, 2):
        assert collapse.similarity(sigs[a.id], sigs[b.id]) < limit
    assert all(h.duplicates == () for h in plain.hits)
    # The whole grouping equals brute force over every match (all are on the plain page).
    assert len(plain.hits) == plain.total
    leader = reference_groups(np.array([signature_of(ix, h.id) for h in plain.hits]), limit)
    expected = {
        plain.hits[k].id: tuple(plain.hits[j].id for j, lead in enumerate(leader) if lead == k != j)
        for k, lead in enumerate(leader)
        if lead == k
    }
    assert {h.id: h.duplicates for h in folded.hits} == expected


@SETTINGS
@given(
    query=st.sampled_from(QUERIES),
    sort=st.sampled_from(newsindex.SORTS),
    page=st.integers(20, 200),
)
def test_collapsed_pages_join_into_the_whole_list(copies_index, query, sort, page):
    """Page after page, collapsed hits never repeat a group and join into one long page."""
    ix, _, _ = copies_index
    total = ix.search(query, sort=sort, limit=0, collapse=True).total
    whole = ix.search(query, sort=sort, limit=total, collapse=True)
    joined = []
    for offset in range(0, whole.total, page):
        res = ix.search(query, sort=sort, limit=page, offset=offset, collapse=True)
        assert res.total == whole.total
        joined += [(h.id, h.duplicates, h.rank) for h in res.hits]
    assert joined == [(h.id, h.duplicates, h.rank) for h in whole.hits]


def test_known_copies_are_found_and_explained(copies_index):
    ix, originals, copies = copies_index
    found = {frozenset(g) for g in ix.duplicates()}
    recall = sum(
        any({o["id"], c["id"]} <= g for g in found) for o, c in zip(originals, copies)
    ) / len(copies)
    assert recall >= 0.9
    o, c = originals[0], copies[0]
    group = next(g for g in ix.duplicates() if o["id"] in g)
    assert c["id"] in group and list(group) == sorted(group, key=lambda i: ix.get(i).date or 0)
    words = " ".join(o["title"].split()[:4])
    res = ix.search(words, syntax="plain", limit=100, collapse=True)
    lead = next(h for h in res.hits if {o["id"], c["id"]} & {h.id, *h.duplicates})
    other = c["id"] if lead.id == o["id"] else o["id"]
    assert other in lead.duplicates
    top = ix.explain(words, lead.id, syntax="plain", collapse=True)
    assert "stands for 1 near-duplicate" in top.description and repr(other) in top.description
    assert top.value == pytest.approx(lead.score)
    under = ix.explain(words, other, syntax="plain", collapse=True)
    assert "collapsed" in under.description and repr(lead.id) in under.description
    plain = ix.explain(words, lead.id, syntax="plain")
    assert "near-duplicate" not in plain.description


def test_deleted_copies_are_not_listed(tmp_path, long_docs):
    ix = Index.create(tmp_path / "idx")
    doc = long_docs[0]
    with ix.writer() as w:
        w.add(doc)
        w.add({**doc, "id": "copy"})
    assert ix.duplicates() == [(doc["id"], "copy")]
    with ix.writer() as w:
        w.delete("copy")
    assert ix.duplicates() == []
    assert ix.search(doc["title"], syntax="plain", collapse=True).hits[0].duplicates == ()


# -- command line ---------------------------------------------------------------------------------
def test_cli_duplicates_and_search_collapse(tmp_path, long_docs, capsys):
    from newsindex.cli import main

    path = tmp_path / "docs.jsonl"
    doc = long_docs[1]
    rows = [doc, {**doc, "id": "c1"}, {**doc, "id": "c2", "body": "By AP. " + doc["body"]}]
    rows += long_docs[2:6]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["index", str(tmp_path / "idx"), str(path)]) == 0
    capsys.readouterr()
    assert main(["duplicates", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 group of near-duplicates") and "c1" in out and "c2" in out
    assert main(["duplicates", str(tmp_path / "idx"), "--json", "--threshold", "1"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1 and lines[0]["ids"][:2] == [doc["id"], "c1"]  # exact copies
    assert main(["duplicates", str(tmp_path / "idx"), "--threshold", "0.4"]) == 1
    assert "threshold" in capsys.readouterr().err
    title = doc["title"]
    assert main(["search", str(tmp_path / "idx"), title, "--plain", "--collapse"]) == 0
    out = capsys.readouterr().out
    assert "+ 2 near-duplicates: c1, c2" in out or "near-duplicates: " in out
    assert main(["search", str(tmp_path / "idx"), title, "--plain", "--collapse", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert sorted(hits[0]["duplicates"] + [hits[0]["id"]]) == sorted([doc["id"], "c1", "c2"])
    assert main(["search", str(tmp_path / "idx"), title, "--plain", "--json"]) == 0
    assert "duplicates" not in json.loads(capsys.readouterr().out)["hits"][0]


# -- shell ------------------------------------------------------------------------------------
def test_shell_collapse_switch(tmp_path, long_docs):
    import io

    from rich.console import Console

    from newsindex.shell.commands import Shell
    from newsindex.shell.session import Session

    doc = long_docs[3]
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(doc)
        w.add({**doc, "id": "copy-1"})
        w.add(long_docs[4])
    console = Console(file=io.StringIO(), width=120, color_system=None)
    session = Session(ix)
    shell = Shell(session, console)
    words = " ".join(doc["title"].split()[:3])
    for line in (words, ":collapse on", ":explain 1", ":collapse", ":collapse maybe"):
        assert shell.handle(line) is True
    out = console.file.getvalue()
    assert "+ 1 near-duplicate: copy-1" in out or f"+ 1 near-duplicate: {doc['id']}" in out
    assert "stands for 1 near-duplicate" in out
    assert "matching stories (near-duplicates collapsed)" in out or "matching story (" in out
    assert "usage: :collapse on|off (now: on)" in out and "collapse must be one of" in out
    folded = session.current.results.total
    shell.handle(":collapse off")
    assert session.current.results.total == folded + 1
    assert all(h.duplicates == () for h in session.current.results.hits)


def test_a_sharded_index_collapses_as_one_index(tmp_path, sample_docs, copies_index):
    """Copies in any shard group as in one index (duplicates(): tests/test_cluster.py, on
    copies dated apart from other stories); a bad value is still named."""
    from tests.cluster_helpers import assert_same_answers

    one, originals, copies = copies_index
    sharded = newsindex.ShardedIndex.create(tmp_path / "sh", shards=2)
    with sharded.writer() as w:
        for d in sample_docs + copies:
            w.add(d)
    assert len(sharded) == len(one)
    assert sharded.search("oil", collapse=False).total == sharded.search("oil").total
    for threshold in (True, 0.8):
        for sort in newsindex.SORTS:
            search = {"query": "oil", "collapse": threshold, "sort": sort, "limit": 20}
            assert_same_answers(one, sharded, search)
    assert sharded.search("oil", collapse=True).total < sharded.count("oil")
    hit = one.search("oil", collapse=True).hits[0]
    assert str(sharded.explain("oil", hit.id, collapse=0.8)) == str(
        one.explain("oil", hit.id, collapse=0.8)
    )
    with pytest.raises(newsindex.ConfigError, match="collapse"):
        sharded.search("oil", collapse=0.1)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(0, 80),
    values=st.integers(1, 6),
    threshold=st.sampled_from([0.5, 0.6, 0.75, 0.9, 1.0]),
    chunk=st.sampled_from([1, 3, 1 << 18]),
    every_row=st.booleans(),
    kernel=st.booleans() if compiled.available() else st.just(False),
    seed=st.integers(0, 2**32 - 1),
)
def test_confirmed_pairs_equal_every_pair_compared(
    n, values, threshold, chunk, every_row, kernel, seed
):
    """The bands' candidates, confirmed a slice at a time (numpy) or in place (the compiled
    kernel, stopping a pair's comparison once it cannot reach the threshold), are exactly
    the pairs that reach the threshold when every pair is compared: bins drawn from a few
    values make runs of equal band keys long and candidates many, the case that held
    gigabytes. Over every row (``reps`` None, as NearIndex asks) or some of them (as
    ``groups`` asks)."""
    rng = np.random.default_rng(seed)
    sigs = rng.integers(1, values + 1, size=(n, minhash.BINS), dtype=minhash.DTYPE)
    rows = np.arange(n) if every_row else np.flatnonzero(rng.random(n) < 0.7)
    reps = None if every_row else rows
    old = collapse._CONFIRM_PAIRS, collapse._COMPILED_ROWS
    collapse._CONFIRM_PAIRS = chunk
    collapse._COMPILED_ROWS = 0  # (the kernel at any size, when on)
    try:
        if kernel:
            assert collapse._CONFIRM.get() is not None
            a, b = collapse._confirmed_pairs(sigs, reps, threshold)
        else:
            with compiled.disabled():
                a, b = collapse._confirmed_pairs(sigs, reps, threshold)
    finally:
        collapse._CONFIRM_PAIRS, collapse._COMPILED_ROWS = old
    need = minhash.needed_bins(threshold)
    same = (sigs[:, None, :] == sigs[None, :, :]).sum(axis=2)
    want = [(i, j) for i in rows.tolist() for j in rows.tolist() if i < j and same[i, j] >= need]
    assert list(zip(a.tolist(), b.tolist())) == want


def test_finding_near_duplicates_takes_memory_by_the_slice_not_by_the_candidates():
    """Over a million stories the bands made some 40 million candidate pairs, and their
    rows of bins were compared all at once: 11 GB. Here 2,500 stories share one band (3.1
    million candidates in it): the comparison holds a slice of them at a time."""
    import tracemalloc

    rng = np.random.default_rng(9)
    sigs = rng.integers(1, 1 << minhash.BITS, size=(2500, minhash.BINS), dtype=minhash.DTYPE)
    rows = minhash.band_rows(0.6)
    nbands = minhash.BINS // rows
    sigs[:, list(range(0, nbands * rows, nbands))] = 7  # band 0's bins, the same for all
    tracemalloc.start()
    try:
        a, b = collapse._confirmed_pairs(sigs, None, 0.6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(a) == 0  # (random otherwise: no pair reaches the threshold)
    candidates = len(sigs) * (len(sigs) - 1) // 2
    # Comparing them at once: two rows of 64 two-byte bins a pair, 800 MB.
    assert peak < 150 << 20, (peak, candidates)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(0, 300),
    values=st.integers(1, 3),
    collide=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_classes_of_identical_signatures_are_numpys(n, values, collide, seed):
    """NearIndex groups identical signatures by a hash of their bins, then checks every
    row against its group's first: the classes must be those numpy's unique of the rows'
    bytes makes (numbered by first row), also when different rows share a hash (forced
    here by a prime of 0, which leaves only the last bin in the key)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, values, size=(n, minhash.BINS), dtype=minhash.DTYPE)
    rows[:, : minhash.BINS - 2] = rows[:, :1]  # few distinct rows, many copies
    old = collapse._FNV_PRIME, collapse._SIGNATURE_ROWS
    collapse._SIGNATURE_ROWS = 7  # (several slices of the check)
    if collide:
        collapse._FNV_PRIME = np.uint64(0)
    try:
        first, inverse = collapse._classes(rows)
    finally:
        collapse._FNV_PRIME, collapse._SIGNATURE_ROWS = old
    view = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1] * rows.itemsize)))
    want_first = np.sort(np.unique(view[:, 0], return_index=True)[1]) if n else first
    assert first.tolist() == want_first.tolist()
    assert len(inverse) == n
    assert all(inverse[f] == c for c, f in enumerate(first.tolist()))
    for i in range(n):
        assert np.array_equal(rows[i], rows[first[inverse[i]]])


class _Stories:
    """A segment as NearIndex reads it: its size, live stories and their signatures."""

    def __init__(self, sigs: np.ndarray, live: np.ndarray | None):
        self.ndocs = len(sigs)
        self.live = live
        self._sigs = sigs

    def signatures(self, docs=None):
        return self._sigs if docs is None else self._sigs[docs]


def test_near_index_holds_each_signature_about_once():
    """A whole archive's table of near-duplicates held every unpacked signature several
    times (the concatenation of each segment's, the signed ones', numpy's sorted copy to
    find identical ones, the representatives'): 8.7 GB over 10M stories. Now the
    signatures are one array, filled a slice at a time and compacted in place: here 566
    bytes a story before, 188 now (a row of bins is 128)."""
    import tracemalloc

    rng = np.random.default_rng(4)
    n = 60_000
    sigs = rng.integers(1, 1 << minhash.BITS, size=(n, minhash.BINS), dtype=minhash.DTYPE)
    sigs[::7] = sigs[1::7][: len(sigs[::7])]  # copies
    sigs[5::97] = 0  # stories without words
    live = np.ones(n // 2, dtype=bool)
    live[::3] = False
    segments = [_Stories(sigs[: n // 2], live), _Stories(sigs[n // 2 :], None)]
    old = collapse._SIGNATURE_ROWS
    collapse._SIGNATURE_ROWS = 4096
    collapse.NearIndex(segments, 0.6)  # (numba loading its kernel is not what is measured)
    tracemalloc.start()
    try:
        near = collapse.NearIndex(segments, 0.6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        collapse._SIGNATURE_ROWS = old
    row = minhash.BINS * 2
    assert near.dupable.sum() > 1000
    # One row of bins a story, and a band's keys, order and runs (int64s) a story.
    assert peak < n * (row + 120) + (4 << 20), (peak, n * row)


@pytest.mark.parametrize("kernel", [True, False])
def test_a_near_pair_is_kept_once_not_once_a_band(kernel):
    """Near copies share most bands, and each band found their pair again: the pairs were
    kept once a band until the end (over 10M stories, gigabytes). A band now keeps only
    the pairs no earlier band holds whole. 600 near copies: 179,700 pairs, each sharing
    dozens of bands."""
    import tracemalloc

    if kernel and not compiled.available():
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(11)
    n = 600
    sigs = np.tile(rng.integers(1, 1 << minhash.BITS, minhash.BINS, dtype=minhash.DTYPE), (n, 1))
    for i in range(n):  # each copy differs in 3 bins: every pair agrees in 58 or more
        sigs[i, rng.choice(minhash.BINS, 3, replace=False)] = rng.integers(1, 1 << minhash.BITS, 3)
    old = collapse._CONFIRM_PAIRS, collapse._COMPILED_ROWS
    collapse._CONFIRM_PAIRS = 4096  # (numpy's slice of candidates: not what is measured)
    collapse._COMPILED_ROWS = 0
    try:
        if kernel:
            collapse._confirmed_pairs(sigs[:50], None, 0.6)  # (numba loads its kernel first)
            tracemalloc.start()
            a, b = collapse._confirmed_pairs(sigs, None, 0.6)
        else:
            with compiled.disabled():
                tracemalloc.start()
                a, b = collapse._confirmed_pairs(sigs, None, 0.6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        collapse._CONFIRM_PAIRS, collapse._COMPILED_ROWS = old
    pairs = n * (n - 1) // 2
    assert len(a) == pairs
    # Codes of the pairs, their sorted copy and both halves: a few int64s a pair.
    assert peak < 6 * 8 * pairs + (2 << 20), (peak, pairs)
