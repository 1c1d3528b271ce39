import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex import Index
from newsindex.index.manifest import FileInfo, SegmentEntry
from newsindex.index.merge import BULK_FACTOR, MAX_MERGED_DOCS, MERGE_FACTOR, plan_merges


def _scores(ix, q):
    return {h.id: h.score for h in ix.search(q, limit=1000, syntax="plain").hits}


def test_many_small_commits_stay_few_segments_and_scores_survive_optimize(tmp_path, sample_docs):
    ix = Index.create(tmp_path / "idx")
    for start in range(0, 600, 20):  # 30 commits
        with ix.writer() as w:
            for d in sample_docs[start : start + 20]:
                w.add(d)
    assert ix.doc_count == 600
    assert ix.stats()["segments"] < MERGE_FACTOR
    with ix.writer() as w:
        for d in sample_docs[:60]:
            w.delete(d["id"])
    queries = ["oil prices", "bank rate cut", "trade deficit japan", "shares stake"]
    before = {q: _scores(ix, q) for q in queries}
    assert ix.stats()["deleted"] > 0
    ix.optimize()
    stats = ix.stats()
    assert stats["segments"] == 1 and stats["deleted"] == 0 and ix.doc_count == 540
    for q in queries:
        assert _scores(ix, q) == before[q]
    assert all(ix.get(d["id"]) is None for d in sample_docs[:60])
    assert ix.get(sample_docs[200]["id"]).title == sample_docs[200]["title"]
    reopened = Index.open(tmp_path / "idx")
    assert {q: _scores(reopened, q) for q in queries} == before


def _entry(docs: int, deleted: int = 0) -> SegmentEntry:
    return SegmentEntry(f"seg-{docs}", docs, 0, 0, {}, None, None, {}, deleted=deleted)


def test_policy_merges_a_full_tier_and_rewrites_mostly_deleted_segments():
    small = [_entry(50 + i) for i in range(MERGE_FACTOR)]
    big = [_entry(50_000)]
    holey = [_entry(1000, deleted=900)]
    groups = plan_merges(big + small + holey)
    assert sorted(map(sorted, groups)) == [list(range(1, MERGE_FACTOR + 1)), [MERGE_FACTOR + 1]]
    assert plan_merges(small[:-1] + big) == []


def _files_named_by_latest(folder) -> set[str]:
    from newsindex.index import manifest as mf

    latest = mf.read_latest(folder)
    return {f for seg in latest.segments for f in seg.files}


def test_optimize_removes_the_old_segments_at_once_and_old_readers_keep_answering(
    tmp_path, sample_docs
):
    folder = tmp_path / "idx"
    ix = Index.create(folder)
    for start in range(0, 300, 50):
        with ix.writer() as w:
            for d in sample_docs[start : start + 50]:
                w.add(d)
    with ix.writer() as w:
        w.delete(sample_docs[0]["id"])
    old = Index.open(folder)  # a reader holding the pre-optimize snapshot
    held = old.search("oil prices", limit=20, syntax="plain")
    assert old.stats()["segments"] > 1 and len(held.hits) == 20
    ix.optimize()
    on_disk = {p.name for p in folder.iterdir() if p.name.startswith("seg-")}
    # Nothing but the optimized commit's own files: no generation kept for later.
    assert on_disk == _files_named_by_latest(folder)
    assert sorted(p.name for p in folder.glob("manifest-*")) == [
        f"manifest-{ix.generation:08d}.json"
    ]
    # The old snapshot's files are unlinked, not gone for those holding them open.
    assert [h.article.title for h in held.hits] == [
        next(d["title"] for d in sample_docs if d["id"] == h.id) for h in held.hits
    ]
    again = old.search("oil prices", limit=20, syntax="plain")
    assert [(h.id, h.score) for h in again.hits] == [(h.id, h.score) for h in held.hits]
    assert old.get(sample_docs[100]["id"]).title == sample_docs[100]["title"]
    assert old.refresh() and old.stats()["segments"] == 1
    assert {h.id: h.score for h in old.search("oil prices", limit=20, syntax="plain").hits} == {
        h.id: h.score for h in held.hits
    }
    # An ordinary commit still keeps the generation before it (readers opening meanwhile).
    with ix.writer() as w:
        w.add(sample_docs[0])
    assert len(list(folder.glob("manifest-*"))) == 2


@settings(max_examples=200, deadline=None)
@given(
    flushes=st.lists(st.integers(1, 400_000), min_size=1, max_size=400),
    max_docs=st.sampled_from([1_000, 100_000, 4_000_000]),
)
def test_policy_bounds_merged_segments_and_leaves_few(flushes, max_docs):
    """Applied until it plans nothing (as the writer does), the policy never makes a segment
    over ``max_docs`` live documents, and leaves fewer than MERGE_FACTOR segments per tier
    among those it may still merge."""
    segments = [_entry(n) for n in flushes]
    while groups := plan_merges(segments, max_docs=max_docs):
        merged = []
        for group in groups:
            assert len(set(group)) == len(group)
            live = sum(segments[i].live for i in group)
            assert len(group) == 1 or live <= max_docs
            merged.append(_entry(live))
        drop = {i for g in groups for i in g}
        segments = [s for i, s in enumerate(segments) if i not in drop] + merged
    assert sum(s.live for s in segments) == sum(flushes)
    small = [s.live for s in segments if 2 * s.live <= max_docs]
    assert all(count < MERGE_FACTOR for count in Counter(len(str(n)) for n in small).values())


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 400_000),
    flushes=st.integers(1, 300),
    last=st.integers(1, 400_000),
    max_docs=st.sampled_from([1_000, 100_000, 3_000_000]),
)
def test_bulk_policy_merges_a_writers_articles_once(size, flushes, last, max_docs):
    """A writer's flushed segments (one size, the last one smaller or not), with the bulk
    policy applied after each flush: no merge makes a segment over ``max_docs``, every
    segment it may still merge is left fewer than BULK_FACTOR a tier adding up to at most
    half of ``max_docs``, and where BULK_FACTOR flushes outgrow half of ``max_docs``, no
    article is merged twice."""
    segments: list[tuple[SegmentEntry, int]] = []  # (entry, times its articles were merged)
    for k in range(flushes):
        segments.append((_entry(last if k == flushes - 1 else size), 0))
        while groups := plan_merges([e for e, _ in segments], max_docs=max_docs, bulk=True):
            merged = []
            for group in groups:
                live = sum(segments[i][0].live for i in group)
                assert len(group) == 1 or live <= max_docs
                assert len(group) <= BULK_FACTOR
                merged.append((_entry(live), 1 + max(segments[i][1] for i in group)))
            drop = {i for g in groups for i in g}
            segments = [s for i, s in enumerate(segments) if i not in drop] + merged
    assert sum(e.live for e, _ in segments) == (flushes - 1) * size + last
    tiers: dict[int, list[int]] = {}
    for e, _ in segments:
        if 2 * e.live <= max_docs:
            tiers.setdefault(len(str(e.live)), []).append(e.live)
    for lives in tiers.values():
        assert len(lives) < BULK_FACTOR and (len(lives) == 1 or 2 * sum(lives) <= max_docs)
    if 2 * size * BULK_FACTOR > max_docs:
        assert max(times for _, times in segments) <= 1


def _sized(docs: int) -> SegmentEntry:
    """A segment entry whose array file takes 700 bytes an article."""
    return dataclasses.replace(
        _entry(docs),
        files={f"seg-{docs}.arr": FileInfo(700 * docs), f"seg-{docs}.doc": FileInfo(1)},
    )


def _settled(
    segments: list[SegmentEntry], make: Callable[[int], SegmentEntry] = _entry, **policy: Any
) -> list[SegmentEntry]:
    """``segments`` once the policy, applied until it plans nothing (as the writer applies
    it), has merged what it plans (each merge made by ``make``)."""
    while groups := plan_merges(segments, **policy):
        drop = {i for g in groups for i in g}
        merged = [make(sum(segments[i].live for i in g)) for g in groups]
        segments = [s for i, s in enumerate(segments) if i not in drop] + merged
    return segments


@settings(max_examples=300, deadline=None)
@given(
    tier=st.integers(0, 5),
    sizes=st.lists(st.floats(0, 1, exclude_max=True), max_size=BULK_FACTOR - 1),
    others=st.lists(st.integers(1, 999), max_size=MERGE_FACTOR - 1),
    max_docs=st.sampled_from([1_000, 100_000, 3_000_000]),
    commit_bytes=st.sampled_from([1, 10_000, 10**6, 10**8, 10**12]),
)
def test_commit_policy_merges_a_full_tier_of_flushes_whole(
    tier, sizes, others, max_docs, commit_bytes
):
    """At a writer's commit, a tier of at least ``MERGE_FACTOR`` flushed segments is merged,
    whole where it fits ``max_docs`` and ``commit_bytes`` of arrays, each article once and
    no merge over either; of a tier short of that, it merges only what the bulk policy
    would."""
    lives = [int(10**tier * 10**f) for f in sizes]
    smaller = [n for n in others if len(str(n)) < tier + 1]
    segments = [_sized(n) for n in lives + smaller]
    groups = plan_merges(segments, max_docs=max_docs, bulk=True, commit_bytes=commit_bytes)
    bulk = plan_merges(segments, max_docs=max_docs, bulk=True)
    merged = sorted(i for g in groups for i in g)
    assert len(merged) == len(set(merged))
    for g in groups:
        assert 2 <= len(g) <= BULK_FACTOR
        assert sum(segments[i].live for i in g) <= max_docs
        assert 700 * sum(segments[i].live for i in g) <= commit_bytes
    mergeable = [i for i, n in enumerate(lives) if 2 * n <= max_docs]
    if len(mergeable) < MERGE_FACTOR:  # nothing the bulk policy would not merge
        assert set(merged) <= {i for g in bulk for i in g}
    else:
        whole = sum(lives[i] for i in mergeable)
        if whole <= max_docs and 700 * whole <= commit_bytes:  # room for the whole tier
            assert [sorted(g) for g in groups] == [mergeable]
        elif 700 * 2 * max(lives[i] for i in mergeable) <= commit_bytes:
            left = [i for i in mergeable if i not in merged]
            assert len(left) < MERGE_FACTOR


def test_one_long_write_commits_few_segments(tmp_path, sample_docs):
    # 26 flushes of 10 articles in one writer: its commit merges the tier of 26 whole (it
    # made two segments of ten and left six before), and the index answers as one built
    # in one segment does.
    ix = Index.create(tmp_path / "idx")
    with ix.writer(buffer_docs=10) as w:
        for d in sample_docs[:260]:
            w.add(d)
    assert ix.doc_count == 260 and ix.stats()["segments"] == 1
    one = Index.create(tmp_path / "one")
    with one.writer() as w:
        for d in sample_docs[:260]:
            w.add(d)
    for q in ["oil prices", "bank rate cut", "trade deficit japan", "shares stake"]:
        # (other segments sum the same statistics in another order: the last bit may differ)
        assert _scores(ix, q) == pytest.approx(_scores(one, q), rel=1e-12)


def test_an_optimizing_commit_merges_each_article_once(tmp_path, sample_docs, monkeypatch):
    # 25 flushes of 10 and one of 5: the commit's pass would merge the 25 and optimize then
    # merge them again with the 5; optimize alone merges the 255 once.
    import newsindex.index.writer as writer_module

    merged: list[int] = []
    real = writer_module.merge

    def counted(folder, name, entries, *args):
        merged.append(sum(e.live for e in entries))
        return real(folder, name, entries, *args)

    monkeypatch.setattr(writer_module, "merge", counted)
    ix = Index.create(tmp_path / "idx")
    with ix.writer(buffer_docs=10) as w:
        for d in sample_docs[:255]:
            w.add(d)
        w.optimize()
    assert merged == [255] and ix.stats()["segments"] == 1


def _policy_applied(commits: int) -> list[int]:
    """As the CLI builds: a commit every 100,000 stories, flushed in segments of ~38k (the
    default memory budget's) and the policy applied at each commit."""
    segments: list[SegmentEntry] = []
    for _ in range(commits):
        segments = _settled(segments + [_entry(38_400), _entry(38_400), _entry(23_200)])
    return sorted(s.live for s in segments)


def test_big_builds_end_in_a_few_segments():
    one_million, ten_million = _policy_applied(10), _policy_applied(100)
    assert sum(one_million) == 1_000_000 and len(one_million) <= 3
    assert sum(ten_million) == 10_000_000 and len(ten_million) <= 6
    assert max(ten_million) <= MAX_MERGED_DOCS


def _one_write(docs: int) -> list[int]:
    """As one writer builds: flushes of ~38k (the default memory budget's; news stories'
    arrays take ~600 bytes each), the bulk policy applied after each flush, the commit's
    bulk pass and the policy at the commit."""
    segments: list[SegmentEntry] = []
    for start in range(0, docs, 38_400):
        segments = _settled(segments + [_sized(min(38_400, docs - start))], _sized, bulk=True)
    # (768 MiB: the default memory budget)
    segments = _settled(segments, _sized, bulk=True, commit_bytes=768 << 20)
    return sorted(s.live for s in _settled(segments, _sized))


def test_one_writers_big_builds_end_in_a_few_segments():
    # (Before tiers found full were merged whole, a million stories in one writer ended in
    # nine segments, six of ~38k that every search visited.)
    one_million, ten_million = _one_write(1_000_000), _one_write(10_000_000)
    assert sum(one_million) == 1_000_000 and len(one_million) <= 2
    assert sum(ten_million) == 10_000_000 and len(ten_million) <= 7
    assert max(ten_million) <= MAX_MERGED_DOCS


def test_one_long_write_merges_its_segments_as_it_goes(tmp_path, sample_docs):
    # One writer, one commit, a segment flushed every 2 articles: the policy runs as
    # segments are flushed, so the folder never holds a full bulk tier of them (the commit
    # does not find 300 segments to merge at once); the committed index answers what an
    # index built in one segment answers, and replacements reach versions in merged segments.
    ix = Index.create(tmp_path / "idx")
    most = 0
    with ix.writer(buffer_docs=2) as w:
        for d in sample_docs[:600]:
            w.add(d)
            most = max(most, len(list((tmp_path / "idx").glob("seg-*.arr"))))
        for d in sample_docs[:30]:
            w.add({**d, "title": "replaced " + d["title"]})
    assert most <= BULK_FACTOR + 2
    one = Index.create(tmp_path / "one")
    with one.writer() as w:
        for d in sample_docs[30:600]:
            w.add(d)
        for d in sample_docs[:30]:
            w.add({**d, "title": "replaced " + d["title"]})
    assert ix.doc_count == one.doc_count == 600
    for q in ["oil prices", "bank rate cut", "trade deficit japan", "replaced"]:
        # (other segments sum the same statistics in another order: the last bit may differ)
        assert _scores(ix, q) == pytest.approx(_scores(one, q), rel=1e-12)
    assert ix.get(sample_docs[3]["id"]).title.startswith("replaced ")
