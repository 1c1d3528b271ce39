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
