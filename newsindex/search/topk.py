"""Top-k selection per segment and the merge across segments."""

from __future__ import annotations

from typing import Iterable

import numpy as np

SORTS = ("relevance", "date", "oldest")


def select(matches_by_segment: Iterable, segments, k: int, sort: str):
    """The best ``k`` (segment index, doc, score) of all segments and the total match count.

    Ties on score go to the newer article, so equal scores list news newest first.
    """
    cand_seg, cand_doc, cand_score, cand_day = [], [], [], []
    total = 0
    for si, m in matches_by_segment:
        n = len(m.docs)
        total += n
        if not n or k <= 0:
            continue
        docs, scores = m.docs, m.scores
        if n > k:
            if sort == "relevance":
                kth = np.partition(scores, n - k)[n - k]
                sel = np.flatnonzero(scores >= kth)
                if len(sel) > k:  # ties at the boundary: keep the newest (highest doc ids)
                    sel = sel[np.lexsort((-docs[sel], -scores[sel]))[:k]]
            elif sort == "date":
                sel = np.arange(n - k, n)
            else:
                sel = np.arange(k)
            docs, scores = docs[sel], scores[sel]
        cand_seg.append(np.full(len(docs), si, dtype=np.int64))
        cand_doc.append(docs.astype(np.int64))
        cand_score.append(scores)
        cand_day.append(segments[si].dates[docs].astype(np.int64))
    if not cand_seg:
        return [], total
    if len(cand_seg) == 1:
        seg, doc, score, day = cand_seg[0], cand_doc[0], cand_score[0], cand_day[0]
    else:
        seg = np.concatenate(cand_seg)
        doc = np.concatenate(cand_doc)
        score = np.concatenate(cand_score)
        day = np.concatenate(cand_day)
    if sort == "relevance":
        order = np.lexsort((-doc, -seg, -day, -score))
    elif sort == "date":
        order = np.lexsort((-doc, -seg, -score, -day))
    else:
        order = np.lexsort((doc, seg, -score, day))
    order = order[:k]
    return list(zip(seg[order].tolist(), doc[order].tolist(), score[order].tolist())), total
