"""Ranking metrics in pure Python: nDCG@k, average precision / MAP, recall@k; TREC file I/O.

Conventions (the same as trec_eval with ``-c``, so its output can be checked against ours):
- gains are the qrels' relevance values, linear (gain = rel), discounted by log2(rank + 1);
  the ideal ranking is every judged document sorted by gain;
- a document is relevant for AP and recall when its relevance is > 0;
- queries are those with at least one relevant document in the qrels; a query the run has no
  results for scores 0 (it still counts in the mean).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

Qrels = Mapping[str, Mapping[str, float]]  # query id -> doc id -> relevance
Run = Mapping[str, Sequence[str]]  # query id -> ranked doc ids


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain of gains in rank order (rank 1 discounted by log2(2) = 1)."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: Sequence[str], judged: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k for one query: DCG of the top k over the ideal DCG@k from the judgments."""
    ideal = dcg(sorted((g for g in judged.values() if g > 0), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    gains = [max(0.0, float(judged.get(d, 0.0))) for d in ranked[:k]]
    return dcg(gains) / ideal


def average_precision(
    ranked: Sequence[str], judged: Mapping[str, float], k: int | None = None
) -> float:
    """AP over the ranking (cut at ``k`` if given): mean of precision at each relevant hit,
    divided by *all* relevant documents (unretrieved ones count as precision 0)."""
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    seen = set()
    for i, d in enumerate(ranked[:k] if k else ranked, 1):
        if d in relevant and d not in seen:  # a duplicate in a run must not count twice
            hits += 1
            total += hits / i
        seen.add(d)
    return total / len(relevant)


def recall_at(ranked: Sequence[str], judged: Mapping[str, float], k: int = 100) -> float:
    """Fraction of the relevant documents found in the top k."""
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def evaluate(run: Run, qrels: Qrels, ndcg_k: int = 10, recall_k: int = 100) -> dict:
    """Mean nDCG@k, MAP and recall@k over the queries that have a relevant document."""
    qids = [q for q, j in qrels.items() if any(g > 0 for g in j.values())]
    if not qids:
        return {f"ndcg@{ndcg_k}": 0.0, "map": 0.0, f"recall@{recall_k}": 0.0, "queries": 0}
    nd = ap = rc = 0.0
    for q in qids:
        ranked = list(run.get(q, ()))
        nd += ndcg_at(ranked, qrels[q], ndcg_k)
        ap += average_precision(ranked, qrels[q])
        rc += recall_at(ranked, qrels[q], recall_k)
    n = len(qids)
    return {f"ndcg@{ndcg_k}": nd / n, "map": ap / n, f"recall@{recall_k}": rc / n, "queries": n}


def read_qrels(path: Path | str) -> dict[str, dict[str, float]]:
    """``query_id<TAB>doc_id<TAB>relevance`` lines (also the 4-column TREC form with an iteration)."""
    qrels: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 4:
                qid, _iter, doc, rel = parts
            else:
                qid, doc, rel = parts[:3]
            qrels.setdefault(qid, {})[doc] = float(rel)
    return qrels


def write_trec_qrels(qrels: Qrels, path: Path | str) -> Path:
    """Qrels in trec_eval's 4-column format (``qid 0 doc rel``), negative grades clipped to 0."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        for q, judged in qrels.items():
            for d, g in judged.items():
                fh.write(f"{q} 0 {d} {max(0, int(g))}\n")
    return path


def write_run(run: Run, path: Path | str, tag: str) -> Path:
    """A TREC run file: ``qid Q0 docid rank score tag``.

    Engines return ranked ids, not comparable scores, so the score written is ``depth - rank``:
    strictly decreasing, so trec_eval / ir_measures re-sorting by score keeps our order.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for q, ranked in run.items():
            depth = len(ranked)
            for rank, d in enumerate(ranked, 1):
                fh.write(f"{q} Q0 {d} {rank} {depth - rank + 1} {tag}\n")
    return path


def read_run(path: Path | str) -> dict[str, list[str]]:
    """A TREC run file back into query id -> ranked doc ids (sorted by score, then file order)."""
    rows: dict[str, list[tuple[float, int, str]]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.split()
            if len(parts) >= 5:
                rows.setdefault(parts[0], []).append((-float(parts[4]), n, parts[2]))
    return {q: [d for _s, _n, d in sorted(r)] for q, r in rows.items()}


def overlap_at(a: Sequence[str], b: Sequence[str], k: int = 10) -> float | None:
    """|top-k(a) ∩ top-k(b)| / max(len): how much two engines agree on one query (None if both empty)."""
    sa, sb = set(a[:k]), set(b[:k])
    denom = max(len(sa), len(sb))
    return len(sa & sb) / denom if denom else None
