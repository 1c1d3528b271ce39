"""Near-duplicate collapsing: of each group of copies of one story (wire copies, re-sent
corrections) among ranked matches, keep the best-ranked and list the others under it.

Two stories are near-duplicates when the Jaccard similarity of their sets of word shingles
that their MinHash signatures (:mod:`..index.minhash`) estimate reaches ``threshold``: when
they agree in at least ``minhash.needed_bins(threshold)`` of their bins. Candidate pairs
come from LSH banding (stories agreeing in a whole band of bins), with bands narrow enough
that no pair reaching the threshold is missed; each candidate is then confirmed on the
whole signature.

Groups are made greedily in rank order: a story joins the best-ranked kept story it is a
near-duplicate of, otherwise it is kept and leads a group of its own. So no two kept stories
are near-duplicates, every kept story ranks above the copies it stands for, and the kept
stories are in the order the plain search gives them.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .. import compiled
from ..errors import ArgumentTypeError, check_number
from ..index import minhash
from ..index.segment import Segment
from .matches import SegmentMatches
from .topk import select

#: The estimated Jaccard similarity (share of equal signature bins) from which two stories
#: are near-duplicates when ``collapse=True`` (chosen from the measurements in
#: benchmarks/RESULTS.md, "Near-duplicate collapsing").
DEFAULT_THRESHOLD = 0.6
#: The lowest threshold accepted: below it stories sharing little more than boilerplate
#: group, and bands of single bins make candidate pairs of most stories.
MIN_THRESHOLD = 0.5


def threshold_of(collapse: object, name: str = "collapse") -> float | None:
    """The Jaccard threshold a ``collapse`` argument asks for (None: do not collapse);
    ``name``: the parameter, for the error."""
    if collapse is False:
        return None
    if collapse is True:
        return DEFAULT_THRESHOLD
    if isinstance(collapse, bool) or not isinstance(collapse, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must be True, False or a Jaccard threshold (a number), "
            f"got {type(collapse).__name__} {collapse!r}"[:200]
        )
    return check_number(name, collapse, MIN_THRESHOLD, 1.0)


def signatures_of(
    segments: Sequence[Segment], where: Sequence[tuple[int, int]] | np.ndarray
) -> np.ndarray:
    """The signature of each (segment index, doc) of ``where``, in that order."""
    where = np.asarray(where, dtype=np.int64).reshape(-1, 2)
    out = np.zeros((len(where), minhash.BINS), dtype=minhash.DTYPE)
    for si in np.unique(where[:, 0]).tolist():
        rows = np.flatnonzero(where[:, 0] == si)
        out[rows] = segments[si].signatures(where[rows, 1])
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The estimated Jaccard similarity of signatures ``a`` and ``b`` (rows), 0 for a story
    without a signature."""
    same = minhash.estimate((a == b).sum(axis=-1))
    return np.where(a.any(axis=-1) & b.any(axis=-1), same, 0.0)


def groups(sigs: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Collapse stories given in rank order by their signatures ``sigs``.

    Returns ``(kept, leader)``: the positions of the kept stories (ascending), and for every
    story the position of the kept story it is grouped under (its own for a kept one).
    """
    n = len(sigs)
    leader = np.arange(n)
    if n < 2:
        return leader, leader
    signed = np.flatnonzero(sigs.any(axis=1))  # unsigned stories (no words) stay alone
    # Identical signatures first: each joins the best-ranked story with the same one, and
    # only those first ones go through the banding (a story re-sent 500 times is one row).
    rows = np.ascontiguousarray(sigs[signed]).view(
        np.dtype((np.void, sigs.shape[1] * sigs.itemsize))
    )[:, 0]
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    same_as = signed[first][inverse.reshape(-1)]  # the first story with that signature
    reps = np.sort(signed[first])
    i, j = _confirmed_pairs(sigs, reps, threshold)
    # Greedy in rank order: a story joins the best-ranked kept story it is near.
    is_kept = np.ones(n, dtype=bool)
    order = np.lexsort((i, j))
    for a, b in zip(i[order].tolist(), j[order].tolist()):
        if is_kept[b] and is_kept[a]:
            is_kept[b] = False
            leader[b] = a
    # A copy of a representative goes where the representative went (see the module doc:
    # a story near a kept one is near all its identical copies too).
    leader[signed] = leader[same_as]
    is_kept[signed] = leader[signed] == signed
    return np.flatnonzero(is_kept), leader


#: FNV's 64-bit prime: rows of bins hashed to one key (equal rows, equal keys).
_FNV_PRIME = np.uint64(0x100000001B3)


def _row_keys(rows: np.ndarray, cols: Sequence[int]) -> np.ndarray:
    """A 64-bit FNV-style key per row of its bins ``cols`` (equal bins, equal keys)."""
    key = np.zeros(len(rows), dtype=np.uint64)
    for col in cols:
        key *= _FNV_PRIME
        key ^= rows[:, col].astype(np.uint64)
    return key


#: Candidate pairs whose signatures are compared at a time (two rows of bins each): the
#: comparison's memory stays a few tens of MB however many candidates the bands make.
_CONFIRM_PAIRS = 1 << 18


def _confirmed_pairs(
    sigs: np.ndarray, reps: np.ndarray | None, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of ``reps`` (rows of ``sigs``; None: every row, as they are, no copy)
    whose signatures estimate a similarity of ``threshold``.

    Each band's candidates (the pairs of each run of equal band keys) are confirmed as
    they are found, a slice at a time, and only the confirmed kept: over a million stories
    the bands make tens of millions of candidates, and comparing them all at once held
    their rows of bins, gigabytes of them. A run of ``m`` equal keys gives its pairs in
    ``m - 1`` steps over that run alone, not over the whole band."""
    empty = np.zeros(0, dtype=np.int64)
    sub = sigs if reps is None else sigs[reps]
    n = len(sub)
    if n < 2:
        return empty, empty
    rows = minhash.band_rows(threshold)
    need = minhash.needed_bins(threshold)
    found = []
    nbands = minhash.BINS // rows
    # Compiled, each run's rows are gathered once and its pairs compared in place; numpy
    # gathers both rows of every candidate. A near pair shares most bands: each band keeps
    # only the pairs no earlier band holds whole (those were confirmed there), so the
    # pairs kept are each pair once, not once a band.
    kernel = _CONFIRM.get() if n >= _COMPILED_ROWS or compiled.loaded() else None
    for band in range(nbands):
        # A band's bins lie far apart (b, b + nbands, ...): densification fills neighbouring
        # empty bins of a short story from one minimum, so neighbours agree together by
        # chance far more often (any partition into bands keeps the pigeonhole bound).
        key = _row_keys(sub, range(band, nbands * rows, nbands))
        order = np.argsort(key)
        skey = key[order]
        cut = np.flatnonzero(skey[1:] != skey[:-1]) + 1
        sizes = np.diff(np.concatenate(([0], cut, [n])))
        if kernel is not None:
            ends = np.concatenate((cut, [n]))
            runs = np.flatnonzero(sizes > 1)
            pairs = _band_pairs(
                kernel, sub, order, ends[runs] - sizes[runs], ends[runs], need, band, nbands, rows
            )
            if len(pairs):
                found.append(pairs[:, 0] * n + pairs[:, 1])
            continue
        run_end = np.repeat(np.concatenate((cut, [n])), sizes)  # per sorted place
        active = np.flatnonzero(np.repeat(sizes > 1, sizes))
        step = 1
        while True:
            active = active[active + step < run_end[active]]
            if not len(active):
                break
            a, b = order[active], order[active + step]
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            for c in range(0, len(lo), _CONFIRM_PAIRS):
                x, y = lo[c : c + _CONFIRM_PAIRS], hi[c : c + _CONFIRM_PAIRS]
                same = sub[x] == sub[y]
                ok = same.sum(axis=1) >= need
                if band and ok.any():
                    # Per pair and band (bins b, b + nbands, ...): whether it agrees in all.
                    whole = same[ok][:, : nbands * rows].reshape(-1, rows, nbands).all(axis=1)
                    ok[ok] = ~whole[:, :band].any(axis=1)
                if ok.any():
                    found.append(x[ok] * n + y[ok])
            step += 1
    if not found:
        return empty, empty
    pairs = np.unique(np.concatenate(found))  # (sorted; two bands' keys may collide)
    a, b = np.divmod(pairs, n)
    return (a, b) if reps is None else (reps[a], reps[b])


#: Below this many signatures, a kernel is not loaded just to confirm their candidates.
_COMPILED_ROWS = 20_000


def _same(rows, i, j):
    """How many bins rows ``i`` and ``j`` share (no early exit: the loop vectorizes)."""
    same = 0
    for col in range(rows.shape[1]):
        same += rows[i, col] == rows[j, col]
    return same


def _in_earlier_band(rows, i, j, band, nbands, per_band):
    """Whether rows ``i`` and ``j`` agree in every bin of a band before ``band``."""
    for t in range(band):
        whole = True
        for k in range(per_band):
            if rows[i, t + k * nbands] != rows[j, t + k * nbands]:
                whole = False
                break
        if whole:
            return True
    return False


def _confirm(sub, order, starts, ends, need, band, nbands, per_band, out):
    """Writes the pairs (lo, hi) of rows of ``sub`` that agree in at least ``need`` bins,
    among the pairs of each run ``order[starts[r]:ends[r]]``, into ``out``, but those
    that agree in a whole band before ``band`` (of ``nbands`` of ``per_band`` bins: found
    there); returns how many, or -1 when ``out`` is too small (the caller grows it and
    asks again)."""
    found = 0
    longest = 0
    for r in range(len(starts)):
        longest = max(longest, ends[r] - starts[r])
    # A run's rows copied together first: its m rows are read once each, not once per
    # pair (m * (m - 1) / 2 of them), and then compared where the cache holds them.
    rows = np.empty((longest, sub.shape[1]), dtype=sub.dtype)
    for r in range(len(starts)):
        s, m = starts[r], ends[r] - starts[r]
        copied = m > 2  # (a pair is read once either way)
        if copied:
            for i in range(m):
                rows[i] = sub[order[s + i]]
        for i in range(m - 1):
            for j in range(i + 1, m):
                a, b = order[s + i], order[s + j]
                same = _same(rows, i, j) if copied else _same(sub, a, b)
                if same >= need and not (
                    _in_earlier_band(rows, i, j, band, nbands, per_band)
                    if copied
                    else _in_earlier_band(sub, a, b, band, nbands, per_band)
                ):
                    if found == out.shape[0]:
                        return -1
                    out[found, 0] = min(a, b)
                    out[found, 1] = max(a, b)
                    found += 1
    return found


_CONFIRM = compiled.kernel(_confirm, calls=(_same, _in_earlier_band))


def _band_pairs(
    kernel: Callable[..., int],
    sub: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    need: int,
    band: int,
    nbands: int,
    per_band: int,
) -> np.ndarray:
    """The confirmed pairs of one band's runs that no earlier band holds, by the compiled
    :func:`_confirm`."""
    size = 1 << 12
    while True:
        out = np.empty((size, 2), dtype=np.int64)
        args = (np.int64(need), np.int64(band), np.int64(nbands), np.int64(per_band))
        got = kernel(sub, order, starts, ends, *args, out)
        if got >= 0:
            return out[:got]
        size *= 4


class NearIndex:
    """Which live stories of a snapshot have a near-duplicate at one threshold, found once
    over the whole snapshot so that a collapsed search only groups the few of its matches
    that have one (a story with none among all stories has none among the matches).

    Stories are numbered globally (segment base + doc). ``cls``: each story's class of
    identical signatures (-1: no signature); ``pairs``: the classes (a < b) whose
    signatures estimate a similarity of ``threshold``; ``dupable``: per class, whether it
    has two stories or a pair.
    """

    def __init__(self, segments: Sequence[Segment], threshold: float):
        self.threshold = threshold
        sizes = [seg.ndocs for seg in segments]
        self.bases = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        self.cls = np.full(int(self.bases[-1]), -1, dtype=np.int64)
        live = [
            np.arange(seg.ndocs) if seg.live is None else np.flatnonzero(seg.live)
            for seg in segments
        ]
        where = np.concatenate(
            [self.bases[si] + docs for si, docs in enumerate(live)] + [np.zeros(0, np.int64)]
        )
        # One array of every live story's signature, filled a slice at a time (a whole
        # archive's, unpacked, is the largest thing here: never copied whole).
        sigs = np.empty((len(where), minhash.BINS), dtype=minhash.DTYPE)
        at = 0
        for seg, docs in zip(segments, live):
            for c in range(0, len(docs), _SIGNATURE_ROWS):
                part = docs[c : c + _SIGNATURE_ROWS]
                sigs[at : at + len(part)] = seg.signatures(part)
                at += len(part)
        signed = np.flatnonzero(sigs.any(axis=1))
        if len(signed) < len(sigs):
            _compact(sigs, signed)
        first, inverse = _classes(sigs[: len(signed)])
        self.cls[where[signed]] = inverse
        del where
        # Only the representatives' rows go on, moved to the front in place.
        _compact(sigs, first)
        reps = sigs[: len(first)]
        a, b = _confirmed_pairs(reps, None, threshold)
        self.pairs = (a, b)
        dupable = np.bincount(inverse, minlength=len(reps)) > 1
        dupable[a] = True
        dupable[b] = True
        self.dupable = dupable


#: Signatures unpacked, compared or moved at a time.
_SIGNATURE_ROWS = 1 << 18


def _compact(rows: np.ndarray, keep: np.ndarray) -> None:
    """Move ``rows[keep]`` (``keep`` ascending) to the front of ``rows``, in place, a slice
    at a time: each row goes to a place at or before its own, so no row is overwritten
    before it is moved."""
    for c in range(0, len(keep), _SIGNATURE_ROWS):
        part = keep[c : c + _SIGNATURE_ROWS]
        rows[c : c + len(part)] = rows[part]


def _classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes of identical rows: each class's first row (ascending, so classes are
    numbered in the order their first rows come), and each row's class. Rows are grouped
    by a 64-bit hash, then every row is compared with its group's first: where two
    different rows share a hash (all but never), numpy's unique of the rows' bytes
    decides instead. (Sorting the rows themselves, as unique does, copies them twice.)"""
    n = len(rows)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = _row_keys(rows, range(rows.shape[1]))
    order = np.argsort(key, kind="stable")  # equal keys in row order: a group's first first
    skey = key.take(order)
    del key
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(skey[1:], skey[:-1], out=starts[1:])
    del skey
    group = np.cumsum(starts) - 1  # per sorted place
    lead = order[starts]  # each group's first row
    for c in range(0, n, _SIGNATURE_ROWS):
        mine = order[c : c + _SIGNATURE_ROWS]
        if not np.array_equal(rows[mine], rows[lead[group[c : c + _SIGNATURE_ROWS]]]):
            view = np.ascontiguousarray(rows).view(
                np.dtype((np.void, rows.shape[1] * rows.itemsize))
            )
            _, first, inverse = np.unique(view[:, 0], return_index=True, return_inverse=True)
            renumber = np.empty(len(first), dtype=np.int64)
            renumber[np.argsort(first)] = np.arange(len(first))
            return np.sort(first), renumber[inverse.reshape(-1)]
    rank = np.empty(len(lead), dtype=np.int64)
    rank[np.argsort(lead)] = np.arange(len(lead))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = rank[group]
    return np.sort(lead), inverse


#: A story of a search: (segment index, doc).
Where = tuple[int, int]


def collapse_matches(
    near: NearIndex,
    matches: Sequence[tuple[int, SegmentMatches]],
    segments: Sequence[Segment],
    sort: str,
) -> tuple[dict[Where, list[Where]], dict[Where, Where]]:
    """Group ``matches`` as :func:`groups` would in the order of ``sort``, from the pairs
    ``near`` found, looking only at the matches with a near-duplicate among them. Returns
    each kept story with copies -> its copies (in rank order), and each copy -> the kept
    story it is under."""
    found = []
    for si, m in matches:
        cls = near.cls[near.bases[si] + m.docs]
        ok = cls >= 0
        ok[ok] = near.dupable[cls[ok]]
        if ok.any():
            found.append((si, m, ok, cls))
    if not found:
        return {}, {}
    classes, counts = np.unique(
        np.concatenate([cls[ok] for _, _, ok, cls in found]), return_counts=True
    )
    a, b = near.pairs
    both = np.isin(a, classes) & np.isin(b, classes)
    a, b = a[both], b[both]
    involved = np.union1d(classes[counts > 1], np.concatenate([a, b]))
    restricted = []
    class_of: dict[Where, int] = {}
    for si, m, ok, cls in found:
        keep = ok & np.isin(cls, involved)
        if keep.any():
            docs = m.docs[keep]
            restricted.append((si, SegmentMatches(docs, m.scores[keep])))
            class_of.update(zip(zip([si] * len(docs), docs.tolist()), cls[keep].tolist()))
    near_classes: dict[int, list[int]] = {}
    for x, y in zip(a.tolist(), b.tolist()):
        near_classes.setdefault(x, []).append(y)
        near_classes.setdefault(y, []).append(x)
    n = sum(len(m.docs) for _, m in restricted)
    picked, _ = select(restricted, segments, n, sort)
    # Greedy in rank order (as groups()): a class keeps at most one story, its first kept;
    # a story joins the best-ranked kept story of its class or of a class near it.
    kept_of: dict[int, Where] = {}
    rank: dict[Where, int] = {}
    copies: dict[Where, list[Where]] = {}
    under: dict[Where, Where] = {}
    for k, (si, doc, _, _) in enumerate(picked):
        where = (si, doc)
        rank[where] = k
        c = class_of[where]
        leads = [kept_of[x] for x in (c, *near_classes.get(c, ())) if x in kept_of]
        if leads:
            lead = min(leads, key=rank.__getitem__)
            copies.setdefault(lead, []).append(where)
            under[where] = lead
        else:
            kept_of[c] = where
    return copies, under
