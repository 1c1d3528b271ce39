from newsindex import Index
from newsindex.index.manifest import SegmentEntry
from newsindex.index.merge import MERGE_FACTOR, plan_merges


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
