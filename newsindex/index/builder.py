"""Build one immutable segment from a batch of articles, with whole-array numpy operations.

Per-token Python work is one dict lookup (see :class:`~newsindex.analysis.vocab.Vocabulary`);
everything after that — grouping tokens into postings, term frequencies per field, positions,
columns — is a handful of sorts and reductions over the whole batch.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping, Sequence
from itertools import compress
from pathlib import Path

import numpy as np

from ..analysis import Analyzer, AnalyzerSpec
from ..analysis.vocab import Vocabulary
from ..article import Article
from ..config import Scoring
from ..schema import KEYWORD_FIELDS, TEXT_FIELDS, day_number
from . import docids, minhash, strtable
from . import positions as positions_format
from .analyze import Analyzed, analyze
from .arrays import write_arrays
from .blocks import block_maxima, score_factors
from .docstore import StoreWriter
from .manifest import FileInfo, SegmentEntry, StemTableInfo
from .segment import TF_BODY_BITS, TF_TITLE_BITS


def build_segment(
    folder: Path,
    name: str,
    articles: Sequence[Article],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    workers: int = 1,
    store_body: bool = True,
    scoring: Scoring | None = None,
) -> SegmentEntry:
    """Write segment ``name`` into ``folder``; return its manifest entry (``store_body``:
    the index's setting; without it the stored rows hold an empty body; ``scoring``: the
    index's, which the blocks' score bounds are made for; None: none made)."""
    days = np.fromiter((day_number(a.date) for a in articles), dtype=np.int64, count=len(articles))
    order = np.argsort(days, kind="stable")  # date order: date filters become doc-id ranges
    articles = [articles[i] for i in order]
    days = days[order].astype(np.int32)
    n = len(articles)

    arrays: dict[str, np.ndarray] = {"date": days}
    with StoreWriter(folder / f"{name}.doc", store_body) as store:
        analyzed = analyze(articles, analyzers, vocab, store, workers)
        # Mostly numpy, which releases the GIL: the store's thread encodes meanwhile, and
        # another thread signs the documents.
        signing = _Signing(analyzed, vocab)
        postings, remap, lengths = _postings(analyzed, n, vocab)
        store_offsets, store_crcs, store_file = store.finish()
        arrays[minhash.ARRAY] = minhash.pack(signing.result())
    arrays.update(postings)
    field_lengths = {}
    for fname, field_len in zip(TEXT_FIELDS, lengths):
        arrays[f"len.{fname}"] = narrow_lengths(field_len)
        field_lengths[fname] = int(field_len.sum(dtype=np.int64))
    factors = None
    if scoring is not None:
        factors, arrays["blk.norm"] = score_factors(lengths, scoring)
    blocks = block_maxima(
        arrays["post.offs"],
        arrays["post.docs"],
        [arrays[f"post.tf.{f}"] for f in TEXT_FIELDS],
        lengths,
        factors,
    )
    arrays.update({name: a if name in _WIDE_BLOCKS else _narrow(a) for name, a in blocks.items()})
    arrays.update(docids.encode(arrays["post.offs"], arrays.pop("post.docs")))
    arrays.update(pack_tfs([arrays.pop(f"post.tf.{f}") for f in TEXT_FIELDS]))
    stems = _stem_tables(analyzers, vocab, remap, arrays)
    arrays.update(strtable.build("ids", [a.id for a in articles]))
    for kname in KEYWORD_FIELDS:
        codes, values = _encode_keyword([getattr(a, kname) for a in articles])
        arrays[f"kw.{kname}"] = narrow_codes(codes)
        arrays.update(strtable.build(f"kwv.{kname}", values))

    arrays["store.offs"] = store_offsets
    arrays["store.crc"] = store_crcs
    if store.dictionary is not None:
        arrays["store.dict"] = np.frombuffer(store.dictionary, dtype=np.uint8)
    arr_file = write_arrays(folder / f"{name}.arr", arrays)
    dated = days[days != np.iinfo(np.int32).min]
    return SegmentEntry(
        name=name,
        docs=n,
        terms=int(len(arrays["terms.offs"]) - 1),
        postings=int(arrays["post.offs"][-1]),
        field_lengths=field_lengths,
        min_day=int(dated[0]) if len(dated) else None,
        max_day=int(dated[-1]) if len(dated) else None,
        files={f"{name}.arr": FileInfo(**arr_file), f"{name}.doc": FileInfo(**store_file)},
        stems=stems,
    )


#: Block arrays kept in the dtype they are made in (offsets; float bounds).
_WIDE_BLOCKS = ("blk.offs", "blk.tfn")
#: Width of a posting sort key (a test narrows it to exercise the unpacked path).
_KEY_BITS = 64


def _postings(
    analyzed: Analyzed, n: int, vocab: Vocabulary
) -> tuple[dict[str, np.ndarray], np.ndarray, list[np.ndarray]]:
    """Group every kept token into postings sorted by (term, doc), with per-field tf and
    positions; also each field's length (kept tokens) per doc.

    Each token becomes one 64-bit key, (term, doc, field, position) packed from the top bits
    down, so a single sort of plain integers orders every posting and its positions, and the
    postings' columns are shifts and masks of the sorted keys. Dropped tokens (id -1) get the
    term after the last, so they sort to the end and are cut off.
    """
    # Counted one place up, so a dropped token (-1) lands in bin 0 and needs no filtering.
    counted = sum(
        (np.bincount(ids + 1, minlength=len(vocab) + 1) for ids, _ in analyzed),
        start=np.zeros(len(vocab) + 1, dtype=np.intp),
    )
    used = np.flatnonzero(counted[1:])
    strings = [vocab.terms[i] for i in used.tolist()]
    perm = sorted(range(len(strings)), key=strings.__getitem__)
    terms = [strings[i] for i in perm]
    nterms = len(terms)
    remap = np.full(len(vocab) + 1, nterms, dtype=np.uint64)  # [-1] (dropped) -> nterms
    remap[used[perm]] = np.arange(nterms, dtype=np.uint64)

    nfields = len(analyzed)
    longest = max((int(counts.max()) for _, counts in analyzed if len(counts)), default=0)
    pos_bits = max(longest - 1, 0).bit_length()
    field_bits = (nfields - 1).bit_length()
    doc_bits = max(n - 1, 0).bit_length()
    term_bits = nterms.bit_length()
    # Positions ride in the key when everything fits in 64 bits (always, short of documents
    # with millions of tokens in huge segments); otherwise a stable sort keeps them in order.
    packed = term_bits + doc_bits + field_bits + pos_bits <= _KEY_BITS
    low_bits = pos_bits if packed else 0
    doc_shift = field_bits + low_bits
    term_shift = doc_shift + doc_bits

    # Two token-sized arrays: the keys, and one scratch array that every temporary reuses
    # (8 bytes a token, the largest arrays of a build: fresh temporaries made its memory peak).
    total = sum(len(ids) for ids, _ in analyzed)
    key = np.empty(total, dtype=np.uint64)
    scratch = np.empty(total + 1, dtype=np.uint64)
    running = scratch.view(np.int64)  # running counts
    position_parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    at = 0
    for fi, (ids, counts) in enumerate(analyzed):
        ntok = len(ids)
        part = key[at : at + ntok]
        at += ntok
        starts = np.cumsum(counts) - counts
        kept = running[: ntok + 1]
        kept[0] = 0
        np.cumsum(ids >= 0, dtype=np.int64, out=kept[1:])
        lengths.append((kept[starts + counts] - kept[starts]).astype(np.int32))
        np.take(remap, ids, out=part)  # -1 (dropped) takes the last entry
        part <<= np.uint64(term_shift)
        per_doc = (np.arange(n, dtype=np.uint64) << np.uint64(doc_shift)) | np.uint64(
            fi << low_bits
        )
        if packed:
            low = scratch[:ntok]
            _doc_runs(low, per_doc, starts, counts)  # (doc, field) bits + position
            part += low
        else:
            part += np.repeat(per_doc, counts)
            position_parts.append(np.arange(ntok, dtype=np.int64) - np.repeat(starts, counts))
    if packed:
        key.sort()
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
        positions = np.concatenate(position_parts)[order]
    ntok = int(np.searchsorted(key, np.uint64(nterms) << np.uint64(term_shift)))
    key = key[:ntok]
    pos = _low_bits(key, pos_bits) if packed else positions[:ntok]

    change = np.empty(ntok, dtype=bool)
    if ntok:
        # A posting starts where (term, doc) changes: where the keys differ above doc_shift.
        diff = scratch[: ntok - 1]
        np.bitwise_xor(key[1:], key[:-1], out=diff)
        diff >>= np.uint64(doc_shift)
        change[0] = True
        np.not_equal(diff, 0, out=change[1:])
    starts = np.flatnonzero(change)
    heads = key[starts] >> np.uint64(doc_shift)
    post_term = (heads >> np.uint64(doc_bits)).astype(np.int64)
    out: dict[str, np.ndarray] = {
        "post.docs": (heads & np.uint64((1 << doc_bits) - 1)).astype(np.int32),
    }
    # Within a posting, tokens are in field order: the title's tf is its count of field-0
    # tokens, and so on; the last field's is what is left.
    fields = scratch[:ntok]
    np.right_shift(key, np.uint64(low_bits), out=fields)
    fields &= np.uint64((1 << field_bits) - 1)
    in_field = [fields == fi for fi in range(nfields - 1)]
    ends = np.append(starts[1:], ntok)
    rest = (ends - starts).astype(np.uint32)
    before = running[: ntok + 1]
    for fi, fname in enumerate(TEXT_FIELDS):
        if fi < nfields - 1:
            before[0] = 0
            np.cumsum(in_field[fi], dtype=np.int64, out=before[1:])
            tf = (before[ends] - before[starts]).astype(np.uint32)
            rest -= tf
        else:
            tf = rest
        out[f"post.tf.{fname}"] = _narrow(tf)
    post_offs = np.concatenate(([0], np.cumsum(np.bincount(post_term, minlength=nterms))))
    out["post.offs"] = post_offs.astype(np.int64)
    out["pos.offs"] = np.append(starts, ntok).astype(np.int64)[post_offs]
    out.update(positions_format.encode(pos, out["pos.offs"]))
    out.update(strtable.build("terms", terms))
    local = remap[:-1].astype(np.int64)
    local[local == nterms] = -1
    return out, local, lengths


def pack_tfs(tfs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The title's and the body's term frequencies of each posting in one byte (``post.tf``:
    ``title << TF_BODY_BITS | body``), as news titles are short: most postings have no title
    occurrence, and only some in a million more than 3 title or 63 body ones. Those are 0
    there (no posting has no occurrence) and listed in ``post.tf.big`` (posting numbers) and
    ``post.tf.bigv`` (their frequencies, one row each)."""
    title, body = (tf.astype(np.uint32) for tf in tfs)
    small = (title < 1 << TF_TITLE_BITS) & (body < 1 << TF_BODY_BITS)
    packed = (title << TF_BODY_BITS) | body
    packed[~small] = 0
    big = np.flatnonzero(~small)
    return {
        "post.tf": packed.astype(np.uint8),
        "post.tf.big": big.astype(np.int64),
        "post.tf.bigv": np.stack((title[big], body[big]), axis=1).astype(np.uint32),
    }


def _stem_tables(
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    remap: np.ndarray,
    arrays: dict[str, np.ndarray],
) -> dict[str, StemTableInfo]:
    """The stems of the segment's words: for every stemmer input (a word after possessive
    stripping and accent folding) whose stem is a term of the segment, that term's number,
    sorted by input. Queries look there before the stemmer, so words the index has seen need
    no stemmer.

    One table per distinct analyzer, named by the first field using it; returns, per field,
    the table's name and the analyzer it was made with (a reader with other settings skips it).
    """
    out: dict[str, StemTableInfo] = {}
    made: dict[AnalyzerSpec, str] = {}
    for field in TEXT_FIELDS:
        analyzer = analyzers[field]
        spec = analyzer.spec
        if spec not in made:
            cache = vocab.surface(spec)
            tids = np.fromiter(cache.values(), dtype=np.int64, count=len(cache))
            local = remap[np.maximum(tids, 0)] if len(remap) else np.full(len(tids), -1)
            keep = (tids >= 0) & (local >= 0)
            keys = list(map(analyzer.stem_input, compress(cache, keep.tolist())))
            stems = {
                key: term
                for key, term in zip(keys, local[keep].tolist())
                if key is not None and not key.isdigit()  # digits are never stemmed
            }
            inputs = sorted(stems)
            arrays.update(strtable.build_sorted(f"stem.{field}", inputs))
            arrays[f"stem.{field}.term"] = np.fromiter(
                map(stems.__getitem__, inputs), dtype=np.int32, count=len(inputs)
            )
            made[spec] = field
        # As JSON gives it back, so a reader compares like with like.
        out[field] = StemTableInfo(made[spec], json.loads(json.dumps(spec.to_dict())))
    return out


class _Signing:
    """Each document's MinHash signature (see :mod:`.minhash`) from its kept tokens,
    computed on a thread of its own (numpy work, mostly without the GIL) while the
    postings are built."""

    def __init__(self, analyzed: Analyzed, vocab: Vocabulary):
        self._out: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(analyzed, vocab), name="newsindex-minhash", daemon=True
        )
        self._thread.start()

    def _run(self, analyzed: Analyzed, vocab: Vocabulary) -> None:
        try:
            self._out = _signatures(analyzed, vocab)
        except BaseException as exc:  # raised again by result(), in the building thread
            self._error = exc

    def result(self) -> np.ndarray:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out


def _signatures(analyzed: Analyzed, vocab: Vocabulary) -> np.ndarray:
    n = len(analyzed[0][1]) if analyzed else 0
    return minhash.signatures(analyzed, minhash.term_hashes(vocab.term_crcs()), n)


def _doc_runs(out: np.ndarray, per_doc: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> None:
    """``out[i] = per_doc[d] + i - starts[d]`` for every token ``i`` of doc ``d``: ones, with a
    jump at each document's first token, summed in place (no per-token temporaries)."""
    docs = np.flatnonzero(counts)
    if not len(docs):
        return
    values = per_doc[docs]
    jumps = values.copy()
    # Just before doc k's first token the sum stands at doc k-1's value plus its last position.
    jumps[1:] -= values[:-1] + (counts[docs[:-1]] - 1).astype(np.uint64)
    out.fill(1)
    out[starts[docs]] = jumps
    np.cumsum(out, out=out)


def _low_bits(key: np.ndarray, bits: int) -> np.ndarray:
    """The low ``bits`` bits of each key, read through a narrow view (no 64-bit temporary)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        width = np.dtype(dtype).itemsize * 8
        if bits <= width:
            step = 64 // width
            view: np.ndarray = key.view(dtype)[
                (0 if sys.byteorder == "little" else step - 1) :: step
            ]
            return view & dtype((1 << bits) - 1)
    return key & np.uint64((1 << bits) - 1)


def _narrow(values: np.ndarray) -> np.ndarray:
    """``values`` in the smallest unsigned dtype that holds them."""
    return values.astype(narrow_dtype(int(values.max()) if len(values) else 0))


def narrow_dtype(top: int) -> type[np.unsignedinteger]:
    """The smallest unsigned dtype (of 8, 16 or 32 bits) that holds ``0..top``."""
    for dtype in (np.uint8, np.uint16):
        if top <= np.iinfo(dtype).max:
            return dtype
    return np.uint32


def narrow_lengths(lengths: np.ndarray) -> np.ndarray:
    """Field lengths in uint8 or uint16 when they fit, else int32 (read as stored:
    Segment.lengths)."""
    top = int(lengths.max()) if len(lengths) else 0
    return lengths.astype(np.int32) if top > np.iinfo(np.uint16).max else _narrow(lengths)


def narrow_codes(codes: np.ndarray) -> np.ndarray:
    """Keyword codes (-1 = no value) in the smallest signed dtype that holds them (read as
    stored: Segment.keyword_codes)."""
    top = int(codes.max()) if len(codes) else 0
    for dtype in (np.int8, np.int16):
        if top <= np.iinfo(dtype).max:
            return codes.astype(dtype)
    return codes.astype(np.int32)


def _encode_keyword(values):
    """Small-integer codes for a keyword column (-1 = no value) and the table of values, in
    first-seen order."""
    table = [v for v in dict.fromkeys(values) if v is not None]
    code = dict(zip(table, range(len(table))))
    code[None] = -1
    codes = np.fromiter(map(code.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, table
