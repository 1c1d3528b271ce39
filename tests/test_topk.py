"""Top-k selection: the Python ordering of small candidate sets equals numpy's lexsorts, and
the per-segment cut keeps exactly the candidates the total order puts first."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.search import topk
from newsindex.search.matches import SegmentMatches

# Few distinct values, so ties on score and day (the tie-break rules) are common.
_scores = st.one_of(
    st.sampled_from([0.0, -0.0, 1.25, 3.0]), st.sampled_from([0.5, float("inf"), float("nan")])
)
_days = st.integers(-1, 1)


class _Seg:
    def __init__(self, dates):
        self.dates = dates
        self.ndocs = len(dates)

    def day_starts(self):
        days, starts = np.unique(self.dates, return_index=True)
        return days.tolist(), starts.tolist()


@st.composite
def _segments(draw):
    segments, matches = [], []
    for si in range(draw(st.integers(1, 4))):
        ndocs = draw(st.integers(0, 12))
        dates = np.sort(
            np.array(draw(st.lists(_days, min_size=ndocs, max_size=ndocs)), dtype=np.int32)
        )
        docs = np.array(
            sorted(draw(st.sets(st.integers(0, max(ndocs - 1, 0)), max_size=ndocs))), dtype=np.int32
        )
        if not ndocs:
            docs = docs[:0]
        scores = np.array(
            draw(st.lists(_scores, min_size=len(docs), max_size=len(docs))), dtype=np.float64
        )
        segments.append(_Seg(dates))
        matches.append((si, SegmentMatches(docs, scores)))
    return segments, matches


@settings(max_examples=400, deadline=None)
@given(data=_segments(), k=st.integers(0, 20), sort=st.sampled_from(topk.SORTS))
def test_python_and_numpy_orders_agree(data, k, sort):
    segments, matches = data
    fast = topk.select(matches, segments, k, sort)
    saved = topk._PYTHON_SORT_MAX
    topk._PYTHON_SORT_MAX = -1  # numpy only
    try:
        slow = topk.select(matches, segments, k, sort)
    finally:
        topk._PYTHON_SORT_MAX = saved
    assert fast[1] == slow[1]
    assert [(si, doc, day) for si, doc, _, day in fast[0]] == [
        (si, doc, day) for si, doc, _, day in slow[0]
    ]
    np.testing.assert_array_equal([r[2] for r in fast[0]], [r[2] for r in slow[0]])


def _key(sort):
    if sort == "relevance":
        return lambda r: (-r[2], -r[3], -r[0], -r[1])
    if sort == "date":
        return lambda r: (-r[3], -r[2], -r[0], -r[1])
    return lambda r: (r[3], -r[2], r[0], r[1])


@settings(max_examples=400, deadline=None)
@given(data=_segments(), k=st.integers(0, 20), sort=st.sampled_from(topk.SORTS))
def test_select_is_the_head_of_one_total_order(data, k, sort):
    segments, matches = data
    assume_finite = all(np.isfinite(m.scores).all() for _, m in matches)
    if not assume_finite:
        return
    everything = [
        (si, int(d), float(s), int(seg.dates[d]))
        for (si, m), seg in zip(matches, segments)
        for d, s in zip(m.docs, m.scores)
    ]
    expected = sorted(everything, key=_key(sort))[:k]
    got, total = topk.select(matches, segments, k, sort)
    assert total == len(everything)
    assert [(si, d, day) for si, d, _, day in got] == [(si, d, day) for si, d, _, day in expected]


@settings(max_examples=400, deadline=None)
@given(data=_segments(), k=st.integers(0, 20), sort=st.sampled_from(topk.SORTS))
def test_the_cut_below_the_kth_score_keeps_the_head(data, k, sort):
    """Many segments' candidates (more than the Python sort takes) are first cut to those
    scored at least the k-th best: the page is still the head of the total order."""
    segments, matches = data
    if not all(np.isfinite(m.scores).all() for _, m in matches):
        return
    everything = [
        (si, int(d), float(s), int(seg.dates[d]))
        for (si, m), seg in zip(matches, segments)
        for d, s in zip(m.docs, m.scores)
    ]
    saved = topk._PYTHON_SORT_MAX
    topk._PYTHON_SORT_MAX = 0  # every candidate set counts as many
    try:
        got, total = topk.select(matches, segments, k, sort)
    finally:
        topk._PYTHON_SORT_MAX = saved
    assert total == len(everything)
    expected = sorted(everything, key=_key(sort))[:k]
    assert [(si, d, day) for si, d, _, day in got] == [(si, d, day) for si, d, _, day in expected]
