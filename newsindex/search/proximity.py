"""Term proximity as a rescore of the first stage's best hits.

The first stage stays a plain sum of per-term BM25F scores (so it can be pruned safely);
this second stage looks only at its best ``Scoring.rescore_window`` hits, as Elasticsearch's
rescore query does, and adds a bonus for query words that occur close together. The bonus
is BM25TP's (Rasolofo & Savoy, 2003), over each pair of neighbouring query words (query
order, repeats removed):

    acc(pair, doc) = sum over the occurrences of one word of 1 / d^2, d the distance to the
                     nearest occurrence of the other word in the same field, d <= MAX_DISTANCE
    bonus(doc)     = proximity * sum over pairs of min(idf, idf) * min(boost, boost)
                     * acc / (acc + k1)

Positions come from the index (the snapshot's cached position keys, the ones phrase joins
use); the work is a few binary searches over the candidates' occurrences, per pair.

A bonus is never negative, so the rescored window stays above every hit outside it, and a
page is always the start of any longer page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..bm25f import saturate
from ..querylang import plan as P
from .leaves import field_indices
from .phrasekeys import keys_in_docs
from .scoring import Explanation

if TYPE_CHECKING:
    from ..config import Scoring
    from .searcher import Dfs, Searcher

#: Farthest two query words may be (in positions, stop-word gaps counted) to count as close.
MAX_DISTANCE = 5
_FIELD_SHIFT = 24  # position keys: doc << 32 | field << 24 | position


@dataclass(frozen=True)
class _Word:
    term: str
    fields: tuple[int, ...]
    boost: float


class _KeyLeaf:
    """What ``Searcher.position_keys`` reads of a term leaf."""

    def __init__(self, term: str, fields: tuple[int, ...], slices: tuple):
        self.node = P.Term(term)
        self.fields = fields
        self.slices = slices


def query_words(node: P.Node) -> list[_Word]:
    """The scoring terms of ``node`` in query order, each once (negated ones left out)."""
    seen: dict[tuple[str, tuple[int, ...]], _Word] = {}
    for term in _terms(node, 1.0):
        key = (term.term, term.fields)
        if key not in seen:
            seen[key] = term
    return list(seen.values())


def _terms(node: P.Node, boost: float) -> Iterator[_Word]:
    if isinstance(node, P.Term):
        yield _Word(node.term, field_indices(node.fields), boost * node.boost)
    elif isinstance(node, P.Bool):
        for c in node.must + node.should:
            yield from _terms(c, boost * node.boost)


class Proximity:
    """The proximity bonus of one query under one scoring, for candidates of any segment."""

    def __init__(self, searcher: Searcher, scoring: Scoring, node: P.Node, dfs: Dfs | None = None):
        self.searcher = searcher
        self.scoring = scoring
        words = query_words(node)
        self.stats = [searcher.term_stats(w.term, w.fields, dfs) for w in words]
        # Pairs of neighbours both present in the index (a missing word makes no pair).
        present = [(w, s) for w, s in zip(words, self.stats) if s[1] > 0]
        self.pairs = list(zip(present, present[1:]))

    def __bool__(self) -> bool:
        return bool(self.pairs) and self.scoring.proximity > 0

    def _keys(self, si: int, word: _Word, stats: tuple, docs: np.ndarray) -> np.ndarray:
        """Sorted position keys of ``word`` in the (sorted) ``docs`` of segment ``si``."""
        leaf = _KeyLeaf(word.term, word.fields, stats[0])
        wide = docs.astype(np.int64)
        return keys_in_docs(self.searcher.position_keys(si, leaf, wide << 32), wide)  # type: ignore[arg-type]

    def accumulations(self, si: int, docs: np.ndarray) -> list[np.ndarray]:
        """Per pair, ``acc`` of each of ``docs`` (sorted, unique) of segment ``si``."""
        out = []
        cache: dict[str, np.ndarray] = {}
        for (wa, sa), (wb, sb) in self.pairs:
            a = cache.get(wa.term)
            if a is None:
                a = cache[wa.term] = self._keys(si, wa, sa, docs)
            b = cache.get(wb.term)
            if b is None:
                b = cache[wb.term] = self._keys(si, wb, sb, docs)
            acc = np.zeros(len(docs), dtype=np.float64)
            if len(a) and len(b):
                idx = b.searchsorted(a)
                left = b.take(np.maximum(idx - 1, 0))
                right = b.take(np.minimum(idx, len(b) - 1))
                same = a >> _FIELD_SHIFT  # doc and field
                big = np.int64(1 << 40)
                dl = np.where((left >> _FIELD_SHIFT) == same, a - left, big)
                dr = np.where((right >> _FIELD_SHIFT) == same, right - a, big)
                d = np.minimum(np.abs(dl), np.abs(dr))
                close = (d >= 1) & (d <= MAX_DISTANCE)
                if close.any():
                    where = docs.searchsorted((a[close] >> 32).astype(docs.dtype))
                    acc = np.bincount(
                        where, weights=1.0 / d[close].astype(np.float64) ** 2, minlength=len(docs)
                    ).astype(np.float64)
            out.append(acc)
        return out

    def _pair_weight(self, pair: tuple[tuple[_Word, tuple], tuple[_Word, tuple]]) -> float:
        (wa, sa), (wb, sb) = pair
        return min(sa[2], sb[2]) * min(wa.boost, wb.boost)

    def bonus(self, si: int, docs: np.ndarray) -> np.ndarray:
        """The bonus of each of ``docs`` (sorted, unique) of segment ``si``."""
        total = np.zeros(len(docs), dtype=np.float64)
        k1 = self.scoring.k1
        for pair, acc in zip(self.pairs, self.accumulations(si, docs)):
            total += self._pair_weight(pair) * saturate(acc, k1)
        total *= self.scoring.proximity
        return total

    def explain(self, si: int, doc: int) -> Explanation:
        """The bonus of ``doc`` as a labelled product of the weight and the pairs' sum."""
        docs = np.array([doc], dtype=np.int32)
        k1 = self.scoring.k1
        parts = []
        for pair, acc in zip(self.pairs, self.accumulations(si, docs)):
            (wa, _), (wb, _) = pair
            value = float(acc[0])
            if value > 0:
                w = self._pair_weight(pair)
                parts.append(
                    Explanation(
                        w * saturate(value, k1),
                        f"{wa.term!r} near {wb.term!r}: min idf x boost {w:.6g} x acc / "
                        f"(acc + k1), acc={value:.6g} (1/d^2 per occurrence within "
                        f"{MAX_DISTANCE}), k1={k1:g}",
                    )
                )
        inner = Explanation(
            sum(p.value for p in parts), "sum over neighbouring query words:", parts
        )
        weight = Explanation(self.scoring.proximity, "proximity weight")
        return Explanation(
            float(self.bonus(si, docs)[0]),
            "proximity bonus (rescore), product of:",
            [inner, weight],
            op="product",
        )


#: One hit: (segment index, doc, score, day), as topk.select gives them.
Pick = tuple[int, int, float, int]


def rescore(
    prox: Proximity,
    picked: list[Pick],
    window: int,
    factors: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Pick]:
    """``picked`` (in relevance order) with the proximity bonus added to its first
    ``window`` hits, those reordered; ``factors`` (recency) scales each bonus by the
    factor the hit's relevance was multiplied by."""
    head = picked[:window]
    if not head:
        return picked
    segs = np.fromiter((p[0] for p in head), dtype=np.int64, count=len(head))
    docs = np.fromiter((p[1] for p in head), dtype=np.int32, count=len(head))
    scores = np.fromiter((p[2] for p in head), dtype=np.float64, count=len(head))
    days = np.fromiter((p[3] for p in head), dtype=np.int64, count=len(head))
    bonus = np.zeros(len(head), dtype=np.float64)
    for si in np.unique(segs).tolist():
        at = (segs == si).nonzero()[0]
        order = np.argsort(docs[at], kind="stable")  # a segment's docs are unique
        at = at[order]
        bonus[at] = prox.bonus(si, docs[at])
    if factors is not None:
        bonus *= factors(days)
    scores += bonus
    # topk's relevance order: score, then day, segment, doc, all descending.
    order = np.lexsort((-docs.astype(np.int64), -segs, -days, -scores))
    out = [head[i][:2] + (s, head[i][3]) for i, s in zip(order.tolist(), scores[order].tolist())]
    return out + picked[window:]


def in_window(picked: list[Pick], si: int, doc: int) -> bool:
    """Whether ``doc`` of segment ``si`` is among ``picked``."""
    return any(p[0] == si and p[1] == doc for p in picked)
