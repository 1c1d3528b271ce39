"""A term's sorted position keys (what phrase joins search) made by one compiled pass, and
the joins themselves by a galloping merge.

The numpy way (:func:`~newsindex.search.leaves.all_position_keys`) repeats each (posting,
field)'s ``doc << 32 | field << 24`` prefix once per occurrence, ORs the positions in, keeps
the wanted fields and checks the result is sorted: several passes and temporaries the size
of the keys. Here one loop writes each key in place and notes whether they came out sorted.
The keys are the numpy way's, to the bit (the tests hold the two equal).

Compiled code does not check bounds, and the doc numbers, frequencies and positions come from
the segment's files: each is checked before use (a doc number within the segment, every
posting's positions within those read, an escaped position's value within its term's
escapes, a position below ``1 << 24``, the width the key gives it), and a bad one makes :func:`position_keys` raise IndexCorruptError naming the segment.
"""

from __future__ import annotations

import numpy as np

from .. import compiled
from ..errors import IndexCorruptError
from ..index.segment import Segment
from . import scan

#: Bits of a key under the field (a position must fit them).
POSITION_BITS = 24


def keys_in_docs(keys: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The position ``keys`` (sorted) of the documents ``docs`` (sorted, repeats allowed)."""
    wide = docs.astype(np.int64)
    if len(wide) > 1:
        wide = wide[np.concatenate(([True], wide[1:] != wide[:-1]))]
    lo = keys.searchsorted(wide << 32)
    hi = keys.searchsorted((wide + 1) << 32)
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return keys[:0]
    # The concatenated ranges [lo, hi): a run index plus each run's start.
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return keys.take(np.arange(total, dtype=np.int64) + starts)


def _gallop(values, j, want):
    """The first index from ``j`` on where ``values`` (sorted) is at least ``want``: the step
    doubled until past it, then the last step bisected (a step when it is near, a binary
    search's when it is far)."""
    m = len(values)
    if j < m and values[j] < want:
        step = 1
        while j + step < m and values[j + step] < want:
            j += step
            step *= 2
        end = min(j + step, m)
        j += 1
        while j < end:
            mid = (j + end) >> 1
            if values[mid] < want:
                j = mid + 1
            else:
                end = mid
    return j


def _keys(docs, title, body, positions, escapes, mark, want_title, want_body, ndocs, out):
    """Writes the keys of the postings into ``out`` (zeros); returns (keys written, sorted,
    ok). A stored position equal to ``mark`` (-1: none) stands for the next of ``escapes``
    (see index/positions.py)."""
    npos = len(positions)
    top = np.int64(1) << POSITION_BITS
    if want_title and want_body and len(out) == npos:
        # Every occurrence kept: each run's prefix written where the run starts, then one
        # pass over the occurrences carries the latest prefix on (prefixes grow with the doc
        # numbers), without a loop per run (whose short, varying lengths the branch
        # predictor keeps missing).
        at = np.int64(0)
        prev_doc = np.int64(-1)
        growing = True
        for p in range(len(docs)):
            d = np.int64(docs[p])
            if d < 0 or d >= ndocs:
                return 0, False, False
            if d <= prev_doc:
                growing = False
            prev_doc = d
            t = np.int64(title[p])
            b = np.int64(body[p])
            if t < 0 or b < 0:  # (a file may declare its frequencies signed)
                return 0, False, False
            # (A later run starting at the same place, after an empty one, overwrites it.)
            if at < npos:
                out[at] = d << 32
            if at + t < npos:
                out[at + t] = d << 32 | np.int64(1) << POSITION_BITS
            at += t + b
        if at != npos:  # frequencies that do not add up to the positions read
            return 0, False, False
        if growing:
            prefix = np.int64(0)
            prev = np.int64(-1)
            ordered = True
            inside = True
            xi = 0
            nesc = len(escapes)
            for q in range(npos):
                prefix = max(prefix, out[q])
                pos = np.int64(positions[q])
                if pos == mark:
                    if xi >= nesc:
                        return npos, ordered, False
                    pos = np.int64(escapes[xi])
                    xi += 1
                if pos < 0 or pos >= top:
                    inside = False
                key = prefix | pos
                if key < prev:
                    ordered = False
                prev = key
                out[q] = key
            return npos, ordered, inside
    # Some field left out (or doc numbers that do not grow, which a segment never holds):
    # run by run.
    at = np.int64(0)
    n = np.int64(0)
    prev = np.int64(-1)
    ordered = True
    xi = 0
    nesc = len(escapes)
    for p in range(len(docs)):
        d = np.int64(docs[p])
        if d < 0 or d >= ndocs:
            return n, ordered, False
        for f in range(2):
            t = np.int64(title[p]) if f == 0 else np.int64(body[p])
            if t < 0 or at + t > npos:
                return n, ordered, False
            if not (want_title if f == 0 else want_body) or not t:
                if mark >= 0:  # the run's escaped positions are not wanted: step over them
                    for q in range(at, at + t):
                        xi += np.int64(positions[q]) == mark
                at += t
                continue
            if n + t > len(out):
                return n, ordered, False
            prefix = d << 32 | np.int64(f) << POSITION_BITS
            for q in range(at, at + t):
                pos = np.int64(positions[q])
                if pos == mark:
                    if xi >= nesc:
                        return n, ordered, False
                    pos = np.int64(escapes[xi])
                    xi += 1
                if pos < 0 or pos >= top:
                    return n, ordered, False
                key = prefix | pos
                if key < prev:
                    ordered = False
                prev = key
                out[n] = key
                n += 1
            at += t
    return n, ordered, True


_KEYS = compiled.kernel(_keys)


def _hits(docs, title, body, within, want_title, want_body, ndocs, hits, starts):
    """Finds the postings whose doc is that of one of the keys ``within`` (sorted): their
    indices into ``hits`` and the index of their first position into ``starts``; returns
    (postings found, keys they hold in the wanted fields, positions of all the postings,
    ok). Doc numbers that do not grow (never written so) stop it: (0, -1, 0, True).

    Each wanted doc is found by galloping from the last, and the frequencies between two
    found are only added up: the passes over every posting have no branch on its values."""
    m = len(docs)
    growing = True
    for p in range(1, m):
        growing &= docs[p] > docs[p - 1]
    if not growing:
        return 0, -1, np.int64(0), True
    if m and (np.int64(docs[0]) < 0 or np.int64(docs[m - 1]) >= ndocs):
        return 0, 0, np.int64(0), False
    n = 0
    lo = 0
    nw = len(within)
    last = np.int64(-1)
    for k in range(nw):
        w = within[k] >> 32
        if w == last:
            continue
        last = w
        # Galloping from the last one found: a step per wanted doc when they are dense, a
        # binary search's when they are far apart.
        lo = _gallop(docs, lo, w)
        if lo < m and docs[lo] == w and n < len(hits):
            hits[n] = lo
            n += 1
    at = np.int64(0)
    size = np.int64(0)
    p = 0
    for h in range(n + 1):
        q = hits[h] if h < n else m
        # (Loops over slices from 0: numba vectorizes those, not ones from a variable start.)
        run = np.int64(0)
        ts = title[p:q]
        bs = body[p:q]
        for r in range(len(ts)):
            run += np.int64(ts[r]) + np.int64(bs[r])
        at += run
        if h < n:
            starts[h] = at
            t = np.int64(title[q])
            b = np.int64(body[q])
            if want_title:
                size += t
            if want_body:
                size += b
            at += t + b
            p = q + 1
    return n, size, at, True


def _keys_at(
    hits, starts, n, docs, title, body, positions, escapes, mark, want_title, want_body, out
):
    """Writes the keys of the postings ``hits[:n]`` (found by :func:`_hits`) into ``out``;
    returns (keys written, sorted, ok). The escapes of the positions between two of them are
    counted, not read: each posting takes the escapes that follow those before it."""
    top = np.int64(1) << POSITION_BITS
    npos = len(positions)
    nesc = len(escapes)
    xi = 0
    done = np.int64(0)  # positions whose escapes are counted
    k = 0
    prev = np.int64(-1)
    ordered = True
    for h in range(n):
        p = hits[h]
        at = starts[h]
        d = np.int64(docs[p])
        t = np.int64(title[p])
        end = at + t + np.int64(body[p])
        if at < done or end > npos:
            return k, ordered, False
        if mark >= 0:
            skipped = 0
            between = positions[done:at]
            for q in range(len(between)):
                skipped += between[q] == mark
            xi += skipped
        for q in range(at, end):
            pos = np.int64(positions[q])
            if pos == mark:
                if xi >= nesc:
                    return k, ordered, False
                pos = np.int64(escapes[xi])
                xi += 1
            if pos < 0 or pos >= top:
                return k, ordered, False
            f = np.int64(0) if q < at + t else np.int64(1)
            if want_title if f == 0 else want_body:
                if k >= len(out):
                    return k, ordered, False
                key = d << 32 | f << POSITION_BITS | pos
                if key < prev:
                    ordered = False
                prev = key
                out[k] = key
                k += 1
        done = end
    return k, ordered, True


_HITS = compiled.kernel(_hits, calls=(_gallop,))
_KEYS_AT = compiled.kernel(_keys_at)


def position_keys_within(
    seg: Segment, s: int, e: int, fields: tuple[int, ...], within: np.ndarray
) -> np.ndarray | None:
    """``all_position_keys(seg, s, e, fields)`` kept to the documents of the position keys
    ``within`` (sorted: a phrase's anchors), made without the others' keys: a phrase's common word costs a pass over its doc numbers and frequencies and a
    count of the escapes among its positions, and keys only where its rarer words are.
    None when kernels are off or none is loaded yet (as :func:`position_keys`)."""
    if not compiled.loaded() and (e - s < scan.MIN_POSTINGS or compiled.one_query_only()):
        return None
    find = _HITS.get()
    write = _KEYS_AT.get()
    if find is None or write is None:
        return None
    tfs = seg.tfs(s, e)
    if len(tfs) != 2:  # the kernels know the title and the body
        return None
    title, body = tfs
    if title.dtype.kind == "i" and len(title) and min(int(title.min()), int(body.min())) < 0:
        # (A file may declare its frequencies signed: the kernel adds those it steps over
        # without a look at each.)
        raise IndexCorruptError(f"segment {seg.name}: postings {s}-{e} hold a negative frequency")
    docs = seg.docs(s, e)
    room = min(len(within), e - s)
    hits = np.empty(room, dtype=np.int64)
    starts = np.empty(room, dtype=np.int64)
    n, size, total, ok = find(
        docs, title, body, within, 0 in fields, 1 in fields, seg.ndocs, hits, starts
    )
    if not ok:
        raise IndexCorruptError(
            f"segment {seg.name}: postings {s}-{e} name a document or frequency out of range"
        )
    if size < 0:  # (doc numbers out of order: the keys are sorted whole, as numpy's way does)
        keys = position_keys(seg, s, e, fields)
        return None if keys is None else keys_in_docs(keys, within >> 32)
    out = np.empty(size, dtype=np.int64)
    if not n:
        return out
    stored, escapes, mark = seg.raw_positions(s, e, int(total))
    written, ordered, ok = write(
        hits,
        starts,
        n,
        docs,
        title,
        body,
        stored,
        escapes,
        np.int64(mark),
        0 in fields,
        1 in fields,
        out,
    )
    if not ok or written != size:
        raise IndexCorruptError(
            f"segment {seg.name}: postings {s}-{e} name a frequency or position out of range"
        )
    if not ordered:
        out.sort()
    return out


def position_keys(seg: Segment, s: int, e: int, fields: tuple[int, ...]) -> np.ndarray | None:
    """``all_position_keys(seg, s, e, fields)`` by the compiled pass; None when kernels are
    off or none is loaded yet (the numpy way answers).

    Loading numba and LLVM costs a process some 0.4 CPU s and 120 MB once (figures in
    benchmarks/RESULTS.md, "Compiled position keys"), so, as for OR-ed words
    (:data:`.scan.MIN_POSTINGS`), a word with fewer postings in the segment uses the kernel
    only once some query has paid that; a larger one loads it (a process that meets such a
    word will meet more), except in a process answering one query (the numpy path answers
    a phrase sooner than numba loads, at any size measured).
    """
    if not compiled.loaded() and (e - s < scan.MIN_POSTINGS or compiled.one_query_only()):
        return None
    fn = _KEYS.get()
    if fn is None:
        return None
    tfs = seg.tfs(s, e)
    if len(tfs) != 2:  # the kernel knows the title and the body
        return None
    title, body = tfs
    total = int(title.sum(dtype=np.int64)) + int(body.sum(dtype=np.int64))
    stored, escapes, mark = seg.raw_positions(s, e, total)
    size = int(sum(tfs[fi].sum(dtype=np.int64) for fi in fields)) if len(fields) < 2 else total
    out = np.zeros(size, dtype=np.int64)
    n, ordered, ok = fn(
        seg.docs(s, e),
        title,
        body,
        stored,
        escapes,
        np.int64(mark),
        0 in fields,
        1 in fields,
        seg.ndocs,
        out,
    )
    if not ok or n != size:
        raise IndexCorruptError(
            f"segment {seg.name}: postings {s}-{e} name a document, frequency or position "
            "out of range"
        )
    if not ordered:  # (as the numpy way: written sorted, sorted here if not)
        out.sort()
    return out


def _join(anchors, found, lo, hi, out):
    """Writes to ``out`` the anchors ``a`` (sorted) for which ``found`` (sorted) holds a key
    in ``[a + lo, a + hi]``; returns how many. The anchors grow, so the first key at or
    above ``a + lo`` never moves back: a merge when the keys are few per anchor, else each
    search gallops on from where the previous one ended."""
    n = 0
    j = 0
    m = len(found)
    if m <= 8 * len(anchors):
        # Dense: one merge step per anchor or key, without a branch on the keys' values
        # (which of the two moves on is data, not a jump the predictor keeps missing).
        k = 0
        na = len(anchors)
        while k < na and j < m:
            a = anchors[k]
            f = found[j]
            below = f < a + lo
            out[n] = a
            n += (not below) & (f <= a + hi)
            j += below
            k += not below
        return n
    for k in range(len(anchors)):
        a = anchors[k]
        j = _gallop(found, j, a + lo)
        if j < m and found[j] <= a + hi:
            out[n] = a
            n += 1
    return n


_JOIN = compiled.kernel(_join, calls=(_gallop,))


def join(anchors: np.ndarray, found: np.ndarray, lo: int, hi: int) -> np.ndarray | None:
    """The anchors (sorted keys) for which ``found`` (one word's sorted keys) holds a key
    within ``[anchor + lo, anchor + hi]``: what the numpy way's two ``searchsorted`` give
    (one when ``lo == hi``); None when kernels are off or none is loaded yet."""
    if not compiled.loaded():
        return None
    fn = _JOIN.get()
    if fn is None:
        return None
    out = np.empty(len(anchors), dtype=np.int64)
    return out[: fn(anchors, found, np.int64(lo), np.int64(hi), out)]
