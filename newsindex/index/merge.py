"""Merging segments: a tiered policy, and the merge itself.

Each commit may add a segment; searching many small segments costs a fixed overhead per
segment, so the writer folds them. Segments are grouped into tiers by the order of magnitude
of their live documents; when a tier holds ``MERGE_FACTOR`` segments, they become one (which
may cascade to the next tier); at its commit, a writer merges a tier of that many segments
it flushed itself whole, however many. A segment that is mostly deletions is rewritten
alone. As with Lucene's TieredMergePolicy, a merge never makes a segment of more than
:data:`MAX_MERGED_DOCS` live documents, and segments of more than half that are merged no
more (unless mostly deleted): this bounds the time and disk of every merge whatever the size
of the index (its memory grows with its documents, not its postings: see below). A writer
merges the segments it flushes as it goes, in bulk (see :func:`plan_merges`): a long build
then merges each article about once, as a sort merges its runs, not once per tier.

The merge works on the segments' arrays, never on their text: the live documents of the
inputs are put in date order (as the builder orders a segment's documents, ties in input
order), each term's postings are the inputs' postings with their documents renumbered,
re-sorted by document, positions and term frequencies following them; the per-document
columns are permuted, the block maxima recomputed, and the stored rows re-encoded with a
zstd dictionary trained for the new segment (as rows: parsed from their blocks and written
back as JSON, never made articles, which would cost as much again). So a merged segment is what building the same
live articles in the same order gives (``tests/test_merge_arrays.py`` holds the two equal),
and, as corpus statistics count live documents only, scores are identical before and after.
Its largest output arrays (doc numbers, frequencies, position bytes, signatures: most of a
segment) go to scratch files beside it as they are made (:class:`.arrays.Spill`) and are
copied into the segment's file at the end, so its memory is its per-document and per-term
arrays plus one step of :data:`_STEP_POSTINGS` postings, not the output's arrays: ``optimize``
of a whole archive fits where its build did.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import Analyzer, AnalyzerSpec
from ..config import Scoring
from ..errors import IndexCorruptError
from ..schema import KEYWORD_FIELDS, TEXT_FIELDS
from . import docids, minhash, positions, strtable
from .arrays import Spill, write_arrays
from .blocks import block_maxima, score_factors
from .builder import _narrow, narrow_codes, narrow_lengths, pack_tfs
from .check import file_crc32
from .docstore import BLOCK_DOCS, StoreWriter, compress_encoded, encode_rows
from .manifest import FileInfo, SegmentEntry, StemTableInfo
from .segment import Segment

MERGE_FACTOR = 10
#: A segment with more than this share of deleted documents is rewritten to drop them.
MAX_DELETED_SHARE = 0.5
#: The most live documents a merge makes a segment of (Lucene's max merged segment size, in
#: documents): a 10M build ends in a handful of segments, each merge rewriting at most this
#: many. (Its memory, its per-document columns and a step of postings, is a few hundred MB a
#: million stories: benchmarks/RESULTS.md, "Tenth run".)
MAX_MERGED_DOCS = 3_000_000
#: The most of a writer's flushed segments merged at once (``plan_merges(bulk=True)``): a
#: merge's cost per article hardly depends on its number of inputs, and this bounds the
#: segments a writer holds when its buffers are small.
BULK_FACTOR = 128
#: Postings merged at a time: the temporaries of one step (keys, order, positions' index).
_STEP_POSTINGS = 1 << 20
#: Stored articles re-encoded at a time (a multiple of the store's blocks), or fewer when
#: they hold more than :data:`_STORE_CHARS` characters of title and body. In news, the first
#: step holds the builder's sample for the segment's zstd dictionary (its first 2048
#: articles), so both train alike.
_STORE_STEP = 4096
_STORE_CHARS = 32 << 20
#: Signature rows gathered at a time.
_SIGNATURE_ROWS = 1 << 16

#: Makes a spill for an array: (array name, dtype, row shape) -> the spill.
_SpillMaker = Callable[[str, Any, tuple[int, ...]], Spill]


def plan_merges(
    entries: Sequence[SegmentEntry],
    factor: int = MERGE_FACTOR,
    max_docs: int = MAX_MERGED_DOCS,
    bulk: bool = False,
    commit_bytes: int | None = None,
) -> list[list[int]]:
    """Groups of entry indexes to merge (each group becomes one segment).

    ``bulk``: the policy for a writer's own flushed segments before its commit. A tier is
    merged once its segments add up to more than half of ``max_docs`` (a segment merged no
    more), up to :data:`BULK_FACTOR` of them at once: its buffers make segments of about
    one size, so a long build merges each article once on its way to a largest segment,
    where ``factor`` at a time would merge it once per tier.

    ``commit_bytes`` (with ``bulk``): the pass at a writer's commit. A tier of at least
    ``factor`` flushed segments is merged whole as well, whatever it adds up to, in groups
    whose inputs' arrays take at most ``commit_bytes`` (the writer's memory budget, so a
    smaller budget makes smaller merges; a merge's memory is a few times its inputs'
    arrays): the buffers cut a long write into them, and left so, every search would visit
    each (a million stories in one write ended in nine segments, six of them small)."""
    tiers: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    for i, e in enumerate(entries):
        if e.docs and e.deleted / e.docs > MAX_DELETED_SHARE:
            groups.append([i])
        elif 2 * e.live <= max_docs:
            tiers.setdefault(int(math.log10(max(e.live, 1))), []).append(i)
    full = factor  # the segments that fill a tier
    if bulk:
        factor = BULK_FACTOR
        full = full if commit_bytes is not None else factor
    for members in tiers.values():
        members.sort(key=lambda i: entries[i].live)
        while len(members) >= full or (
            bulk and len(members) > 1 and 2 * sum(entries[i].live for i in members) > max_docs
        ):
            group: list[int] = []
            total = size = 0
            for i in members[:factor]:
                if total + entries[i].live > max_docs:
                    break
                grown = size + _array_bytes(entries[i])
                if commit_bytes is not None and group and grown > commit_bytes:
                    break
                group.append(i)
                total += entries[i].live
                size = grown
            if len(group) < 2:
                break
            groups.append(group)
            members = members[len(group) :]
    return groups


def _array_bytes(entry: SegmentEntry) -> int:
    """The size of a segment's array file (what a merge of it maps and makes again)."""
    return sum(info.size for name, info in entry.files.items() if name.endswith(".arr"))


def merge(
    folder: Path,
    name: str,
    entries: Sequence[SegmentEntry],
    analyzers: Mapping[str, Analyzer],
    store_body: bool = True,
    scoring: Scoring | None = None,
) -> SegmentEntry:
    """Write segment ``name`` holding the live documents of ``entries``; return its entry.

    Every input byte it copies is verified first (array chunks as they are read, stored
    blocks by their checksums, or the whole stored file against the manifest for segments
    written without them): a corrupted input raises IndexCorruptError, never gets copied
    under fresh checksums. (``analyzers``, ``store_body``: the index's; the stem tables
    kept are those of these analyzers; the rows of an index that stores no bodies have
    none, and its bodies' terms are in the postings, which a merge copies; ``scoring``: the
    index's, for the blocks' score bounds, as ``build_segment`` makes them.)"""
    segs: list[Segment] = []
    try:
        for entry in entries:
            seg = Segment(folder, entry)
            segs.append(seg)
            if not seg.store.verified:
                _verify_whole(folder / f"{entry.name}.doc", entry)
        return _merge(folder, name, segs, analyzers, store_body, scoring)
    finally:
        for seg in segs:
            seg.close()


def _verify_whole(path: Path, entry: SegmentEntry) -> None:
    """A merge must never copy corrupted text into a segment with fresh checksums: stored
    fields written without block checksums are checked whole against the manifest first."""
    info = entry.files.get(path.name)
    if info is None or info.crc32 is None or file_crc32(path) != info.crc32:
        raise IndexCorruptError(f"{path}: checksum mismatch (refusing to merge it)")


def _merge(
    folder: Path,
    name: str,
    segs: Sequence[Segment],
    analyzers: Mapping[str, Analyzer],
    store_body: bool,
    scoring: Scoring | None,
) -> SegmentEntry:
    lives = [
        np.flatnonzero(seg.live) if seg.live is not None else np.arange(seg.ndocs) for seg in segs
    ]
    days = np.concatenate([seg.dates[live] for seg, live in zip(segs, lives)])
    # Date order, ties in input order: the builder's stable sort of the same articles.
    order = np.argsort(days, kind="stable")
    n = len(order)
    source = np.repeat(np.arange(len(segs)), [len(live) for live in lives])[order]
    arrays: dict[str, np.ndarray] = {"date": days[order].astype(np.int32)}
    del days
    with ExitStack() as scratch:
        spilled: dict[str, Spill] = {}

        def spill(array: str, dtype: Any, row: tuple[int, ...] = ()) -> Spill:
            made = spilled[array] = Spill(folder / f"{name}.{array}.spill", dtype, row)
            scratch.callback(made.close)  # removed however the merge ends
            return made

        with StoreWriter(folder / f"{name}.doc", store_body) as store:
            # The stored rows are JSON work that holds the GIL; the postings are numpy work
            # that mostly releases it: the rows are re-encoded on a thread meanwhile.
            copying = _Copying(store, segs, source)
            try:
                stems = _columns(segs, lives, order, source, analyzers, arrays, scoring, spill)
            except BaseException:
                copying.stop()
                raise
            copying.join()
            store_offsets, store_crcs, store_file = store.finish()
        arrays["store.offs"] = store_offsets
        arrays["store.crc"] = store_crcs
        if store.dictionary is not None:
            arrays["store.dict"] = np.frombuffer(store.dictionary, dtype=np.uint8)
        arr_file = write_arrays(folder / f"{name}.arr", {**arrays, **spilled})
    dates = arrays["date"]
    dated = dates[dates != np.iinfo(np.int32).min]
    return SegmentEntry(
        name=name,
        docs=n,
        terms=int(len(arrays["terms.offs"]) - 1),
        postings=int(arrays["post.offs"][-1]),
        field_lengths={f: int(arrays[f"len.{f}"].sum(dtype=np.int64)) for f in TEXT_FIELDS},
        min_day=int(dated[0]) if len(dated) else None,
        max_day=int(dated[-1]) if len(dated) else None,
        files={f"{name}.arr": FileInfo(**arr_file), f"{name}.doc": FileInfo(**store_file)},
        stems=stems,
    )


def _columns(
    segs: Sequence[Segment],
    lives: Sequence[np.ndarray],
    order: np.ndarray,
    source: np.ndarray,
    analyzers: Mapping[str, Analyzer],
    arrays: dict[str, np.ndarray],
    scoring: Scoring | None,
    spill: _SpillMaker,
) -> dict[str, StemTableInfo]:
    """Every array but the stored fields' into ``arrays`` (the largest into spills made by
    ``spill``); returns the stem tables' info. Merged doc ``j`` is doc ``docs[j]`` of input
    ``source[j]``."""
    n = len(order)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    new_docs = []  # per input: its doc -> the merged doc, -1 for a deleted one
    at = 0
    for seg, live in zip(segs, lives):
        renumber = np.full(seg.ndocs, -1, dtype=np.int64)
        renumber[live] = rank[at : at + len(live)]
        at += len(live)
        new_docs.append(renumber)
    del rank
    docs = np.concatenate(lives)[order]
    _signatures(segs, source, docs, spill(minhash.ARRAY, np.uint8, (minhash.PACKED,)))
    lengths = [
        np.concatenate([seg.lengths[fi][live] for seg, live in zip(segs, lives)])[order].astype(
            np.int32
        )
        for fi in range(len(TEXT_FIELDS))
    ]
    factors = None
    if scoring is not None:
        factors, arrays["blk.norm"] = score_factors(lengths, scoring)
    postings, tmaps = _postings(segs, new_docs, n, lengths, factors, spill)
    del new_docs
    arrays.update(postings)
    for fname, field_len in zip(TEXT_FIELDS, lengths):
        arrays[f"len.{fname}"] = narrow_lengths(field_len)
    stems = _stem_tables(segs, tmaps, analyzers, arrays)
    ids = strtable.gather("ids", [seg.ids for seg in segs], source, docs)
    arrays.update(ids if ids is not None else strtable.build("ids", _ids(segs, lives, order)))
    for kname in KEYWORD_FIELDS:
        codes, values = _keyword(segs, lives, order, kname)
        arrays[f"kw.{kname}"] = narrow_codes(codes)
        arrays.update(strtable.build(f"kwv.{kname}", values))
    return stems


def _postings(
    segs: Sequence[Segment],
    new_docs: Sequence[np.ndarray],
    n: int,
    lengths: list[np.ndarray],
    factors: list[np.ndarray] | None,
    spill: _SpillMaker,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The merged postings, positions, packed frequencies, term table and block maxima (the
    doc numbers' offsets, the frequencies and the position bytes into spills); and per
    input, its term numbers -> the merged ones (-1: a term only deleted docs held)."""
    offs = [seg.post_offs.astype(np.int64) for seg in segs]
    pos_offs = [seg.pos_offs.astype(np.int64) for seg in segs]
    counts = [_live_counts(seg, o, p) for seg, o, p in zip(segs, offs, pos_offs)]
    strings = [seg.terms.strings() for seg in segs]
    # Input tables are sorted, and Python's order of str is the builder's (code points).
    terms = sorted(
        set().union(*(compress(s, (c[0] > 0).tolist()) for s, c in zip(strings, counts)))
    )
    number = dict(zip(terms, range(len(terms))))
    nterms = len(terms)
    npost = np.zeros(nterms, dtype=np.int64)
    npos = np.zeros(nterms, dtype=np.int64)
    tmaps = []
    for s, (pc, qc) in zip(strings, counts):
        tmap = np.fromiter((number.get(t, -1) for t in s), dtype=np.int64, count=len(s))
        tmap[pc == 0] = -1
        ok = tmap >= 0
        # An input's terms map to distinct merged ones: plain fancy-index sums.
        npost[tmap[ok]] += pc[ok]
        npos[tmap[ok]] += qc[ok]
        tmaps.append(tmap)
    del strings, number, counts
    post_offs = np.concatenate(([0], np.cumsum(npost))).astype(np.int64)
    out_pos_offs = np.concatenate(([0], np.cumsum(npos))).astype(np.int64)
    del npost, npos
    # Monotone versions of the maps (a dropped term takes the number before it), so each
    # step's run of merged terms is one searchsorted range of each input's terms.
    climbs = [np.maximum.accumulate(t) if len(t) else t for t in tmaps]
    gaps = docids.use_gaps(int(post_offs[-1]))
    joined = docids.joiner(
        gaps, {name: spill(name, dtype, ()) for name, dtype in docids.spilled(gaps).items()}
    )
    out_tf = spill("post.tf", np.uint8, ())
    out_pos = positions.Encoder(out_pos_offs, spill("pos.u8", np.uint8, ()))
    big: list[np.ndarray] = []
    bigv: list[np.ndarray] = []
    blk: dict[str, list[np.ndarray]] = {}
    nblocks = 0
    for t0, t1 in _steps(post_offs):
        p0, p1 = int(post_offs[t0]), int(post_offs[t1])
        keys, tfs, occ, first, runs = [], [], [], [], []
        base = 0
        for seg, o, po, tmap, climb, renumber in zip(segs, offs, pos_offs, tmaps, climbs, new_docs):
            lo, hi = np.searchsorted(climb, (t0, t1)).tolist()
            if lo >= hi:
                continue
            ps, pe = int(o[lo]), int(o[hi])
            docs = renumber[seg.docs(ps, pe)]
            tf = seg.tfs(ps, pe)
            per = sum((x.astype(np.int64) for x in tf[1:]), start=tf[0].astype(np.int64))
            q0, q1 = int(po[lo]), int(po[hi])
            if q1 - q0 != int(per.sum()):
                raise IndexCorruptError(f"{seg.name}: positions disagree with frequencies")
            runs.append(seg.positions_span(q0, q1))
            term = np.repeat(tmap[lo:hi] - t0, np.diff(o[lo : hi + 1]))
            term *= n
            term += docs
            starts = np.cumsum(per)
            starts -= per - base
            base += q1 - q0
            if seg.live is not None:  # drop the deleted docs' postings
                keep = docs >= 0
                term, per, starts = term[keep], per[keep], starts[keep]
                tf = [x[keep] for x in tf]
            keys.append(term)
            tfs.append(tf)
            occ.append(per)
            first.append(starts)
        key = np.concatenate(keys)
        if len(key) != p1 - p0:
            raise IndexCorruptError("postings disagree with their offsets")
        # Each input's part is sorted by (term, merged doc): the stable sort merges the runs.
        by: np.ndarray | slice = np.argsort(key, kind="stable") if len(keys) > 1 else slice(None)
        docs = (key[by] % n).astype(np.int32)
        del key
        step_tfs = [np.concatenate([t[fi] for t in tfs])[by] for fi in range(len(TEXT_FIELDS))]
        per = np.concatenate(occ)[by]
        starts = np.concatenate(first)[by]
        del tfs, occ, first
        # Each posting's positions, gathered in the new posting order.
        total = int(per.sum())
        gather = np.arange(total, dtype=np.int64)
        gather += np.repeat(starts - (np.cumsum(per) - per), per)
        out_pos.add(t0, t1, np.concatenate(runs)[gather])
        del gather, runs
        run = post_offs[t0 : t1 + 1] - p0
        joined.add(run, docids.encode(run, docs, gaps))
        packed = pack_tfs(step_tfs)
        out_tf.append(packed["post.tf"])
        big.append(packed["post.tf.big"] + p0)
        bigv.append(packed["post.tf.bigv"])
        blocks = block_maxima(post_offs[t0 : t1 + 1] - p0, docs, step_tfs, lengths, factors)
        offsets = blocks.pop("blk.offs")
        blk.setdefault("blk.offs", []).append(offsets[:-1] + nblocks)
        nblocks += int(offsets[-1])
        for bname, values in blocks.items():
            blk.setdefault(bname, []).append(values)
    out = {
        **joined.finish(),
        **out_pos.finish(),
        "post.offs": post_offs,
        "pos.offs": out_pos_offs,
    }
    out.update(strtable.build("terms", terms))
    out["blk.offs"] = np.concatenate([*blk.pop("blk.offs", []), [nblocks]]).astype(np.int64)
    for fname in TEXT_FIELDS:
        for kind, dtype in (("tf", np.uint8), ("len", np.int64)):
            bname = f"blk.{kind}.{fname}"
            out[bname] = _narrow(np.concatenate(blk.get(bname, [np.zeros(0, dtype)])))
    if factors is not None:
        out["blk.tfn"] = np.concatenate([np.zeros(0, np.float32), *blk.get("blk.tfn", [])])
    out["post.tf.big"] = np.concatenate([np.zeros(0, np.int64), *big])
    out["post.tf.bigv"] = np.concatenate([np.zeros((0, 2), np.uint32), *bigv])
    return out, tmaps


def _signatures(segs: Sequence[Segment], source: np.ndarray, docs: np.ndarray, out: Spill) -> None:
    """The signature rows of doc ``docs[j]`` of input ``source[j]``, in order, into ``out``."""
    found = [seg.packed_signatures() for seg in segs]
    for a in range(0, len(docs), _SIGNATURE_ROWS):
        inputs, rows = source[a : a + _SIGNATURE_ROWS], docs[a : a + _SIGNATURE_ROWS]
        part = np.empty((len(rows), minhash.PACKED), dtype=np.uint8)
        for i, sigs in enumerate(found):
            mine = np.flatnonzero(inputs == i)
            if len(mine):
                part[mine] = sigs[rows[mine]]
        out.append(part)


def _steps(offs: np.ndarray) -> Iterator[tuple[int, int]]:
    """Runs ``[t0, t1)`` of terms of about :data:`_STEP_POSTINGS` postings (a longer term
    alone)."""
    nterms = len(offs) - 1
    t = 0
    while t < nterms:
        end = int(np.searchsorted(offs, offs[t] + _STEP_POSTINGS, "right")) - 1
        end = min(max(end, t + 1), nterms)
        yield t, end
        t = end


def _live_counts(
    seg: Segment, offs: np.ndarray, pos_offs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per term of ``seg``: its postings, and its positions, in live documents."""
    if seg.live is None:
        return np.diff(offs), np.diff(pos_offs)
    live = seg.live
    nterms = len(offs) - 1
    npost = np.zeros(nterms, dtype=np.int64)
    npos = np.zeros(nterms, dtype=np.int64)
    for t0, t1 in _steps(offs):
        s, e = int(offs[t0]), int(offs[t1])
        keep = live[seg.docs(s, e)]
        tf = seg.tfs(s, e)
        per = sum((x.astype(np.int64) for x in tf[1:]), start=tf[0].astype(np.int64))
        bounds = offs[t0 : t1 + 1] - s
        for out, values in ((npost, keep), (npos, per * keep)):
            running = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
            out[t0:t1] = running[bounds[1:]] - running[bounds[:-1]]
    return npost, npos


def _stem_tables(
    segs: Sequence[Segment],
    tmaps: Sequence[np.ndarray],
    analyzers: Mapping[str, Analyzer],
    arrays: dict[str, np.ndarray],
) -> dict[str, StemTableInfo]:
    """The inputs' stem tables (see builder._stem_tables) made with the index's analyzers,
    as one, less the words whose stems only deleted documents held."""
    out: dict[str, StemTableInfo] = {}
    made: dict[AnalyzerSpec, str] = {}
    for field in TEXT_FIELDS:
        spec = analyzers[field].spec
        as_stored = json.loads(json.dumps(spec.to_dict()))
        if spec not in made:
            stems: dict[str, int] = {}
            for seg, tmap in zip(segs, tmaps):
                found = seg.surface_words(field, as_stored)
                if found is None:
                    continue
                words, tids = found
                merged = tmap[np.asarray(tids, dtype=np.int64)]
                for word, term in zip(words, merged.tolist()):
                    if term >= 0:
                        stems.setdefault(word, term)
            inputs = sorted(stems)
            arrays.update(strtable.build_sorted(f"stem.{field}", inputs))
            arrays[f"stem.{field}.term"] = np.fromiter(
                map(stems.__getitem__, inputs), dtype=np.int32, count=len(inputs)
            )
            made[spec] = field
        out[field] = StemTableInfo(made[spec], as_stored)
    return out


def _ids(segs: Sequence[Segment], lives: Sequence[np.ndarray], order: np.ndarray) -> list[str]:
    ids: list[str] = []
    for seg, live in zip(segs, lives):
        every = seg.ids.strings()
        ids.extend(every if seg.live is None else [every[i] for i in live.tolist()])
    return [ids[i] for i in order.tolist()]


def _keyword(
    segs: Sequence[Segment], lives: Sequence[np.ndarray], order: np.ndarray, kname: str
) -> tuple[np.ndarray, list[str]]:
    """The merged column's codes and values, in first-seen order as the builder gives them."""
    number: dict[str, int] = {}
    parts = []
    for seg, live in zip(segs, lives):
        values = seg.keyword_values(kname)
        table = np.fromiter(
            (number.setdefault(v, len(number)) for v in values), dtype=np.int64, count=len(values)
        )
        # A missing value (-1) takes the appended last entry.
        parts.append(np.append(table, -1)[seg.keyword_codes[kname][live]])
    merged = np.concatenate(parts)[order] if parts else np.zeros(0, np.int64)
    found, first = np.unique(merged, return_index=True)
    seen = found[found >= 0][np.argsort(first[found >= 0], kind="stable")]
    code = np.full(len(number) + 1, -1, dtype=np.int64)
    code[seen] = np.arange(len(seen))
    names = list(number)
    return code[merged].astype(np.int32), [names[i] for i in seen.tolist()]


class _Copying:
    """Re-encodes the live stored rows in the merged order on a thread of its own."""

    def __init__(self, store: StoreWriter, segs: Sequence[Segment], source: np.ndarray):
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(store, segs, source), name="newsindex-merge-store", daemon=True
        )
        self._thread.start()

    def _run(self, store: StoreWriter, segs: Sequence[Segment], source: np.ndarray) -> None:
        try:
            # Each input's live docs keep their relative order in the merged one. Rows are
            # copied as stored (their blocks' checksums verified), never made articles: the
            # bytes written are those the articles' rows would give.
            readers = [seg.store.iter_rows(seg.live) for seg in segs]
            dictionary = None
            part: list[list[Any]] = []
            chars = 0
            written = 0
            for i in source.tolist():
                row = next(readers[i])
                part.append(row)
                chars += len(row[1]) + len(row[2])  # title, body
                if len(part) % BLOCK_DOCS or (len(part) < _STORE_STEP and chars < _STORE_CHARS):
                    continue
                if self._stop.is_set():
                    return
                dictionary = self._write(store, part, written, dictionary, len(source))
                written += len(part)
                part, chars = [], 0
            if part:
                self._write(store, part, written, dictionary, len(source))
        except BaseException as exc:  # raised again by join(), in the merging thread
            self._error = exc

    @staticmethod
    def _write(
        store: StoreWriter,
        rows: list[list[Any]],
        written: int,
        dictionary: bytes | None,
        total: int,
    ) -> bytes | None:
        encoded = encode_rows(rows, store.store_body)
        if not written:  # the first part trains the segment's dictionary, as in a build
            dictionary = store.train_encoded(encoded, total)
        store.append_compressed(*compress_encoded(encoded, dictionary))
        return dictionary

    def stop(self) -> None:
        """Stop early (the merge failed) and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def join(self) -> None:
        """Wait for the thread; raise its error, if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error
