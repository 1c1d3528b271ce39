"""Read side of a segment: mmap'd arrays, term and id tables, columns, deletions, stored fields."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property, partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..article import Article
from ..errors import IndexCorruptError
from ..schema import KEYWORD_FIELDS, TEXT_FIELDS, keyword_keys
from . import bitpack, blocks, minhash
from . import docids as docids_format
from . import positions as positions_format
from .arrays import ArrayFile
from .checksum import crc32
from .docids import OFFSET_ARRAYS, DocIds
from .docids import problems as docids_problems
from .docstore import DocStore
from .manifest import FileInfo, SegmentEntry, StemTableInfo
from .strtable import SortedStrings, StringTable

_TF_NAMES = tuple(f"post.tf.{f}" for f in TEXT_FIELDS)
#: ``post.tf`` (see builder.pack_tfs): bits of a posting's byte for the title's frequency
#: (the high ones) and for the body's (the low ones).
TF_TITLE_BITS, TF_BODY_BITS = 2, 6
#: Keyword filters (field, keys) whose matching codes a segment keeps (cleared when full).
_KEYWORD_CODES_CACHE_SIZE = 4096
#: Terms whose number and postings a segment remembers (cleared when full).
_TERM_CACHE_SIZE = 100_000
#: Postings layouts a segment remembers, verified (cleared when full).
_LAYOUT_CACHE_SIZE = 100_000
#: A segment whose term dictionary and stem tables hold at most this many entries together
#: reads them whole into dicts on its first lookup (see :class:`_Vocabulary`): a few
#: milliseconds and MB at most, once per process.
READ_AT_ONCE = 1 << 15
#: Up to this many entries, a segment reads them whole once its lookups would have paid
#: for it (see ``_LOOKUPS_PER_ENTRY``); a larger one never does.
WHOLE_VOCABULARY = 1 << 17
#: Entries read whole per word looked up before it does: reading an entry (checked, into a
#: dict) costs about a sixteenth of what a dict saves a lookup (benchmarks/RESULTS.md), so
#: a segment that reads its tables once its lookups would have paid for it never spends
#: more than about twice what the best choice in hindsight would have (rent or buy).
_LOOKUPS_PER_ENTRY = 16
#: A segment that reads its vocabulary whole and whose postings (what a scan reads of them
#: and their per-term entries) take at most this many bytes verifies them whole then and
#: lays out every term at once (see :class:`_Laid`).
LAY_OUT_BYTES = 1 << 23
#: The arrays a scan reads of every term it lays out (blk.tfn where the segment has it),
#: by the doc numbers' encoding: gaps, or format 3's offsets.
_LAID_ARRAYS = {
    True: ("post.offs", "blk.offs", *docids_format.GAP_NAMES, "post.tf"),
    False: ("post.offs", "blk.offs", *docids_format.OFFSET_NAMES, "post.tf"),
}


class Segment:
    """One immutable segment as of one commit (its deletions are those of that commit)."""

    def __init__(self, folder: Path, entry: SegmentEntry):
        self.name: str = entry.name
        self.entry = entry
        self.ndocs: int = entry.docs
        _check_sizes(folder, entry)
        arr_info = entry.files.get(f"{self.name}.arr")
        arr = self._arrays = ArrayFile(
            folder / f"{self.name}.arr", arr_info.crc32 if arr_info is not None else None
        )
        self.terms = StringTable(arr, "terms")
        self.ids = StringTable(arr, "ids")
        # Arrays are verified as they are read (see arrays.py): the postings through the
        # range accessors below, the per-document columns whole on first use.
        ndates = len(arr.unverified("date"))
        # Per-block maxima for pruning (see blocks.py); segments written before them have none.
        self.has_blocks = "blk.offs" in arr
        if ndates != self.ndocs or len(self.ids) != self.ndocs:
            raise IndexCorruptError(
                f"{arr.path}: holds {ndates} documents, the manifest says {self.ndocs}"
            )
        self.store = DocStore(
            folder / f"{self.name}.doc",
            arr["store.offs"],
            arr["store.crc"] if "store.crc" in arr else None,
            (lambda: arr["store.dict"]) if "store.dict" in arr else None,
        )
        self.deleted = _load_deletes(
            folder, entry.del_file, self.ndocs, entry.files.get(entry.del_file or "")
        )
        self.ndeleted = len(self.deleted)
        self.live: np.ndarray | None = None  # None: every document is live
        if self.ndeleted:
            live = np.ones(self.ndocs, dtype=bool)
            live[self.deleted] = False
            self.live = live
        self._stems = _stem_tables(arr, entry.stems)
        self._signatures: np.ndarray | None = None
        if minhash.ARRAY in arr:
            sig = arr.unverified(minhash.ARRAY)  # verified on first use, as the columns
            # (uint16, a bin each: segments written before signatures were packed)
            packed = sig.dtype == np.uint8 and sig.shape == (self.ndocs, minhash.PACKED)
            if not packed and (sig.dtype != np.uint16 or sig.shape != (self.ndocs, minhash.BINS)):
                raise IndexCorruptError(
                    f"{arr.path}: array {minhash.ARRAY!r} is {sig.dtype} {sig.shape}, "
                    f"expected uint8 ({self.ndocs}, {minhash.PACKED})"
                )
        # Doc numbers as gaps or offsets per block (see docids.py), or one int32 per posting
        # (older segments).
        coded = "post.gaps" in arr or "post.dw" in arr
        self._docids = DocIds(arr, self.ndocs) if coded else None
        # Positions in a byte each (see positions.py), or one uint16/uint32 each (older).
        self._positions = (
            positions_format.Positions(arr) if positions_format.NAMES[0] in arr else None
        )
        # term -> (its number or -1, its first posting, end): a word's first search in a
        # segment reads its entries once, and the postings layout the scan asks for next
        # (docids) with them.
        self._term_cache: dict[str, tuple[int, int, int]] = {}
        self._vocabulary: _Vocabulary | None = None
        self._laid: _Laid | None = None
        self._lookups = 0
        size = len(self.terms) + sum(
            table.size for _, table, _ in {t[2]: t for t in self._stems.values()}.values()
        )
        # The lookups after which the vocabulary is read whole (see _Vocabulary).
        self._read_after: float = (
            0
            if size <= READ_AT_ONCE
            else -(-size // _LOOKUPS_PER_ENTRY)
            if size <= WHOLE_VOCABULARY
            else math.inf
        )
        self._layouts: dict[tuple[int, int], tuple[int, int, int, int, int]] = {}
        self._keyword_index: dict[str, dict[str, list[int]]] = {}
        self._keyword_codes: dict[tuple[str, frozenset[str]], np.ndarray] = {}
        self._day_starts: tuple[list[int], list[int]] | None = None

    # -- columns, verified whole on first use ---------------------------------------------------
    @cached_property
    def dates(self) -> np.ndarray:
        return self._arrays["date"]

    @cached_property
    def lengths(self) -> tuple[np.ndarray, ...]:
        """Per text field, each document's length, as stored (uint8 or uint16 where they
        fit, else int32; read-only): an archive's segments would hold int32 copies of
        every story's lengths for the process's life."""
        return tuple(_column(self._arrays, f"len.{f}") for f in TEXT_FIELDS)

    @cached_property
    def length_codes(self) -> LengthCodes | None:
        """Both text fields' lengths of each document in one uint32, the title's above the
        body's (what the compiled scan reads per posting instead of two float64 norms: a
        quarter of the bytes, the norms then found in small tables by length); None when
        they do not fit in 32 bits, a length is negative, or tables by length would be
        larger than the norms of every document."""
        first, second = self.lengths
        if not len(first):
            return None
        low0, top0 = int(first.min()), int(first.max())
        low1, top1 = int(second.min()), int(second.max())
        bits = max(top1.bit_length(), 1)
        if (
            min(low0, low1) < 0
            or top0.bit_length() + bits > 32
            or top0 + top1 + 2 > 2 * self.ndocs + (1 << 16)
        ):
            return None
        codes = (first.astype(np.uint32) << np.uint32(bits)) | second.astype(np.uint32)
        codes.flags.writeable = False
        return LengthCodes(codes, bits, (top0, top1))

    @cached_property
    def keyword_codes(self) -> dict[str, np.ndarray]:
        """Per keyword field, each document's code (-1: none), as stored (int8, int16 or
        int32, read-only, as :attr:`lengths`)."""
        return {k: _column(self._arrays, f"kw.{k}") for k in KEYWORD_FIELDS}

    @cached_property
    def _keyword_values(self) -> dict[str, StringTable]:
        return {k: StringTable(self._arrays, f"kwv.{k}") for k in KEYWORD_FIELDS}

    # -- postings: whole arrays (verified whole), or slices (verified chunk by chunk) ----------
    @cached_property
    def post_offs(self) -> np.ndarray:
        return self._arrays["post.offs"]

    @cached_property
    def post_docs(self) -> np.ndarray:
        """The doc number of every posting (decoded whole: for ``check`` and tests; searches
        read ranges through :meth:`docs`)."""
        if self._docids is not None:
            return self._docids.whole()
        return self._arrays["post.docs"]

    @property
    def npostings(self) -> int:
        # (The length of an array, not its content: needs no verifying.)
        name = "post.docs" if self._docids is None else "post.tf"
        return len(self._arrays.unverified(name))

    @cached_property
    def post_tf(self) -> tuple[np.ndarray, ...]:
        """Per text field, the term frequency of every posting (decoded whole: for ``check``;
        searches read slices through :meth:`tfs`)."""
        return tuple(self.tfs(0, self.npostings))

    @cached_property
    def pos(self) -> np.ndarray:
        """Every position (decoded whole: for ``check`` and tests; searches read a term's
        through :meth:`positions`)."""
        if self._positions is not None:
            return self._positions.whole()
        return self._arrays[positions_format.PLAIN]

    @property
    def npositions(self) -> int:
        """How many positions the segment holds (the length of an array: nothing decoded)."""
        name = positions_format.PLAIN if self._positions is None else "pos.u8"
        return len(self._arrays.unverified(name))

    @cached_property
    def pos_offs(self) -> np.ndarray:
        return self._arrays["pos.offs"]

    def docs_problems(self) -> list[str]:
        """What ``newsindex check`` finds wrong with the postings' doc numbers."""
        if self._docids is not None:
            return docids_problems(self._arrays, self.ndocs)
        docs = self.post_docs
        if len(docs) and (docs.min() < 0 or docs.max() >= self.ndocs):
            return [f"{self._arrays.path}: postings name documents out of range"]
        return []

    def positions_problems(self) -> list[str]:
        """What ``newsindex check`` finds wrong with the positions' encoding."""
        if self._positions is None:
            return []
        return positions_format.problems(self._arrays, self.pos_offs)

    def docs(self, s: int, e: int) -> np.ndarray:
        """Doc numbers of the postings ``[s, e)``."""
        if self._docids is not None:
            return self._docids.docs(s, e)
        return self._arrays.range("post.docs", s, e)

    def tf(self, fi: int, s: int, e: int) -> np.ndarray:
        """Term frequencies in text field ``fi`` of the postings ``[s, e)``."""
        if not self._packed_tf:
            return self._arrays.range(_TF_NAMES[fi], s, e)
        return self.tfs(s, e)[fi]

    def tfs(self, s: int, e: int) -> list[np.ndarray]:
        """Per text field, the term frequencies of the postings ``[s, e)``."""
        arr = self._arrays
        if not self._packed_tf:  # segments written before the packed column
            return [arr.range(name, s, e) for name in _TF_NAMES]
        packed = arr.range("post.tf", s, e)
        title = packed >> TF_BODY_BITS
        body = packed & ((1 << TF_BODY_BITS) - 1)
        big = self._big_tfs
        if big is not None:
            s, e, _ = slice(s, e).indices(len(arr.unverified("post.tf")))
            a, b = big[0].searchsorted((s, e)).tolist()
            if b > a:
                at = big[0][a:b] - s
                title, body = title.astype(np.uint32), body.astype(np.uint32)
                title[at] = big[1][a:b, 0]
                body[at] = big[1][a:b, 1]
        return [title, body]

    def postings_many(self, spans: list[tuple[int, int]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The doc numbers and, per text field, the term frequencies of the postings of every
        span ``[s, e)`` (each within the postings), concatenated in the order given: what
        :meth:`docs` and :meth:`tfs` give span by span, decoded in one pass."""
        arr = self._arrays
        docs = np.concatenate([self.docs(s, e) for s, e in spans])
        if not self._packed_tf:
            tfs = [np.concatenate([arr.range(nm, s, e) for s, e in spans]) for nm in _TF_NAMES]
            return docs, tfs
        packed = np.concatenate([arr.range("post.tf", s, e) for s, e in spans])
        title = packed >> TF_BODY_BITS
        body = packed & ((1 << TF_BODY_BITS) - 1)
        big = self._big_tfs
        if big is not None:
            at_parts, rows = [], []
            start = 0  # where each span begins in the concatenation
            for s, e in spans:
                a, b = big[0].searchsorted((s, e)).tolist()
                if b > a:
                    at_parts.append(big[0][a:b] - s + start)
                    rows.append(big[1][a:b])
                start += e - s
            if at_parts:
                at = np.concatenate(at_parts)
                values = np.concatenate(rows)
                title, body = title.astype(np.uint32), body.astype(np.uint32)
                title[at] = values[:, 0]
                body[at] = values[:, 1]
        return docs, [title, body]

    @cached_property
    def raw_postings(self) -> tuple | None:
        """For a compiled reader: the raw doc-number arrays (:meth:`DocIds.raw`), the packed
        frequencies, the large ones' positions and values (int64), the block size and the
        body's bits; None for a segment without the offsets encoding or packed frequencies.
        Unverified: read only where :meth:`postings_layout` verified them."""
        if self._docids is None or not self._packed_tf:
            return None
        big = self._big_tfs
        at = np.zeros(0, np.int64) if big is None else big[0].astype(np.int64)
        values = np.zeros((0, 2), np.int64) if big is None else big[1].astype(np.int64)
        return (
            *self._docids.raw(),
            self._arrays.unverified("post.tf"),
            at,
            values,
            blocks.BLOCK_SIZE,
            TF_BODY_BITS,
        )

    @property
    def gap_coded(self) -> bool:
        """Whether its doc numbers are bit-packed gaps (docids.py): a compiled reader of
        :attr:`raw_postings` reads those with loops of their own."""
        return self._docids is not None and self._docids.gaps

    def postings_layout(self, s: int, e: int) -> tuple[int, int, int, int, int]:
        """:meth:`DocIds.layout` of the postings ``[s, e)`` (one term's, from a block start),
        their packed frequencies verified too (segments with :attr:`raw_postings` only), and
        their blocks' ``blk.tfn`` where the segment has it (:attr:`laid_block_tfn`)."""
        known = self._layouts.get((s, e))
        if known is None:  # (verified once: a chunk stays verified)
            assert self._docids is not None
            known = self._docids.layout(s, e)
            self._arrays.check("post.tf", s, e)
            if self._has_tfn:  # (blk.tfn's blocks are numbered as post.dbase's)
                first = known[2]
                self._arrays.check("blk.tfn", first, first + (e - s - 1) // blocks.BLOCK_SIZE + 1)
            if len(self._layouts) >= _LAYOUT_CACHE_SIZE:
                self._layouts.clear()
            self._layouts[(s, e)] = known
        return known

    def postings_layouts(self, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """:meth:`postings_layout` of each of ``spans`` (each a term's whole postings), as
        the rows of an int64 array."""
        laid = self._laid
        if laid is not None:
            term_at, offs = laid.term_at, laid.offs
            tids = []
            for s, e in spans:
                tid = term_at.get(s)
                if tid is None or offs[tid + 1] != e:
                    break
                tids.append(tid)
            else:
                return laid.layouts.take(tids, axis=0)
        return np.array([self.postings_layout(s, e) for s, e in spans], dtype=np.int64)

    @cached_property
    def _packed_tf(self) -> bool:
        return "post.tf" in self._arrays

    @cached_property
    def _has_tfn(self) -> bool:
        return "blk.tfn" in self._arrays

    @cached_property
    def laid_block_tfn(self) -> np.ndarray:
        """``blk.tfn`` unverified, for a reader of the blocks of postings whose
        :meth:`postings_layout` it has (which verified them)."""
        return self._arrays.unverified("blk.tfn")

    @cached_property
    def _big_tfs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Postings whose frequencies do not fit ``post.tf`` (read whole: a handful), or None."""
        where, values = self._arrays["post.tf.big"], self._arrays["post.tf.bigv"]
        n = len(self._arrays.unverified("post.tf"))
        if (
            values.shape != (len(where), 2)
            or (len(where) and (where[0] < 0 or where[-1] >= n))
            or np.any(np.diff(where) <= 0)
        ):
            raise IndexCorruptError(f"{self._arrays.path}: bad table of large frequencies")
        return (where, values) if len(where) else None

    def positions(self, s: int, e: int, count: int | None = None) -> np.ndarray:
        """The positions of every occurrence in the postings ``[s, e)``, which must start a
        term's postings: per posting, the title's in order, then the body's (``count``: their
        number, the sum of the postings' frequencies, when the caller has it)."""
        tid, start, count = self._positions_at(s, e, count)
        if self._positions is not None:
            return self._positions.read(tid, start, count)
        return self._arrays.range(positions_format.PLAIN, start, start + count)

    def raw_positions(self, s: int, e: int, count: int) -> tuple[np.ndarray, np.ndarray, int]:
        """For a compiled reader: what :meth:`positions` decodes, undecoded: the stored
        positions, the escaped values they take in order, and the byte that stands for the
        next one (-1: none, a segment written before the encoding; see positions.py), all
        verified; the reader checks it never takes more escapes than there are."""
        tid, start, count = self._positions_at(s, e, count)
        if self._positions is not None:
            u8, esc = self._positions.raw(tid, start, count)
            return u8, esc, positions_format.ESCAPE
        plain = self._arrays.range(positions_format.PLAIN, start, start + count)
        return plain, plain[:0], -1

    def _positions_at(self, s: int, e: int, count: int | None) -> tuple[int, int, int]:
        """(term, its first position, count) of the postings ``[s, e)`` (see positions())."""
        arr = self._arrays
        offs = arr.unverified("post.offs")
        tid = int(np.searchsorted(offs, s, "right")) - 1
        t0, t1 = arr.items("post.offs", tid, tid + 2)
        # Found through unverified entries; the two verified ones must agree, or the search
        # was misled (the offsets only grow: one term holds posting s).
        if not t0 == s < t1 or e > t1:
            raise IndexCorruptError(f"{arr.path}: postings offsets are inconsistent")
        start = arr.item("pos.offs", tid)
        if count is None:
            count = sum(int(tf.sum(dtype=np.int64)) for tf in self.tfs(s, e))
        return tid, start, count

    def positions_span(self, s: int, e: int) -> np.ndarray:
        """Entries ``[s, e)`` of the positions (a merge reads whole runs of terms: ``s`` is a
        term's first)."""
        if self._positions is None:
            return self._arrays.range(positions_format.PLAIN, s, e)
        offs = self._arrays.unverified("pos.offs")
        tid = int(np.searchsorted(offs, s, "left"))
        first = self._arrays.range("pos.offs", tid, tid + 1).tolist()
        if first != [s] and s < e:
            raise IndexCorruptError(f"{self._arrays.path}: positions offsets are inconsistent")
        return self._positions.span(tid, s, e) if s < e else np.zeros(0, self._positions.dtype)

    @property
    def nlive(self) -> int:
        return self.ndocs - self.ndeleted

    def term_id(self, term: str) -> int:
        """``term``'s number in this segment, or -1."""
        found = self._term_cache.get(term)
        if found is None:
            found = self._look_up(term)
        return found[0]

    def term_range(self, term: str) -> tuple[int, int]:
        """``[start, end)`` of ``term``'s postings (empty when absent)."""
        found = self._term_cache.get(term)
        if found is None:
            found = self._look_up(term)
        return found[1], found[2]

    def term_ranges(self, terms: Sequence[str]) -> list[tuple[int, int]]:
        """:meth:`term_range` of each of ``terms``: from the vocabulary's dicts where the
        segment holds them (none of the per-word calls and caches a lookup makes)."""
        whole, laid = self._vocabulary, self._laid
        if whole is None or laid is None:
            return [self.term_range(t) for t in terms]
        get, offs = whole.terms.get, laid.offs
        return [(offs[tid], offs[tid + 1]) if (tid := get(t, -1)) >= 0 else (0, 0) for t in terms]

    def _look_up(self, term: str) -> tuple[int, int, int]:
        """``(number or -1, first posting, end)`` of ``term``, read (verified) and kept."""
        whole = self._vocabulary or self._read_whole()
        tid = whole.terms.get(term, -1) if whole is not None else self.terms.find(term)
        laid = self._laid
        if tid < 0:
            found = (-1, 0, 0)
        elif laid is not None:
            found = (tid, laid.offs[tid], laid.offs[tid + 1])
        elif self._docids is not None:  # (its other entries too: a scan asks for them next)
            t0, t1, *_ = self._docids.term(tid)
            found = (tid, t0, t1)
        else:
            s, e = self._arrays.items("post.offs", tid, tid + 2)
            found = (tid, s, e)
        if len(self._term_cache) >= _TERM_CACHE_SIZE:
            self._term_cache.clear()
        self._term_cache[term] = found
        return found

    def term_blocks(self, term: str) -> tuple[int, int]:
        """``[first, end)`` of ``term``'s blocks in the ``blk.*`` arrays (empty when absent
        or when the segment has no block maxima)."""
        tid = self.term_id(term)
        if tid < 0 or not self.has_blocks:
            return 0, 0
        b0, b1 = self._arrays.items("blk.offs", tid, tid + 2)
        return b0, b1

    def block_maxima(self, b0: int, b1: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per text field, the largest tf and the smallest field length of blocks ``[b0, b1)``
        (see blocks.py)."""
        arr = self._arrays
        return (
            [arr.range(f"blk.tf.{f}", b0, b1) for f in TEXT_FIELDS],
            [arr.range(f"blk.len.{f}", b0, b1) for f in TEXT_FIELDS],
        )

    @cached_property
    def tfn_params(self) -> np.ndarray | None:
        """The ``blk.norm`` its ``blk.tfn`` was written with (see blocks.py), or None for a
        segment written without them."""
        arr = self._arrays
        if "blk.tfn" not in arr or "blk.norm" not in arr:
            return None
        return np.asarray(arr["blk.norm"], dtype=np.float64)

    def block_tfn(self, b0: int, b1: int) -> np.ndarray:
        """Each block's largest length-normalised frequency of blocks ``[b0, b1)``, under the
        scoring of :attr:`tfn_params` (see blocks.py)."""
        return self._arrays.range("blk.tfn", b0, b1)

    def day_starts(self) -> tuple[list[int], list[int]]:
        """The distinct dates of the (date-sorted) documents, and the first doc of each: a date
        range becomes a doc range with two ``bisect`` calls on short lists."""
        if self._day_starts is None:
            days, starts = np.unique(self.dates, return_index=True)
            self._day_starts = (days.tolist(), starts.tolist())
        return self._day_starts

    def stem_of(self, field: str, analyzer: dict, word: str) -> str | None:
        """The stem ``field``'s analyzer (``analyzer``: its spec as a dict) gave ``word`` (a
        stemmer input) when this segment was written, if the segment holds that word."""
        read = self.stem_reader(field, analyzer)
        return None if read is None else read(word)

    def stem_reader(self, field: str, analyzer: dict) -> Callable[[str], str | None] | None:
        """:meth:`stem_of` of ``field`` and ``analyzer`` as a call of the word alone (the
        analyzers compared once), or None where it answers None to every word."""
        found = self._stems.get(field)
        if found is None or found[0] != analyzer:
            return None
        return partial(self._stem, found[1], found[2])

    def stem_table(self, field: str, analyzer: dict) -> dict[str, str] | None:
        """Every word of :meth:`stem_of`'s table with its stem, where this segment holds its
        vocabulary whole (reading it now if it reads it at its first lookup); None otherwise,
        and where another analyzer made the table (read-only)."""
        found = self._stems.get(field)
        if found is None or found[0] != analyzer:
            return None
        whole = self._vocabulary
        if whole is None and self._read_after == 0:
            whole = self._read_whole()
        return None if whole is None else whole.stems[found[2]]

    def _stem(self, table: SortedStrings, numbers: str, word: str) -> str | None:
        whole = self._vocabulary or self._read_whole()
        if whole is not None:
            return whole.stems[numbers].get(word)
        i = table.find(word)
        if i < 0:
            return None
        term = self._arrays.item(numbers, i)
        if not 0 <= term < len(self.terms):
            raise IndexCorruptError(f"{self._arrays.path}: {numbers!r} names no term")
        return self.terms[term]

    def _read_whole(self) -> _Vocabulary | None:
        """The whole vocabulary, read once this segment has been asked about enough words
        (None until then, and always for the largest segments): counts the lookup."""
        self._lookups = lookups = self._lookups + 1
        if lookups < self._read_after:
            return None
        path = self._arrays.path
        words = self.terms.strings()
        self.terms.check()
        terms = dict(zip(words, range(len(words))))
        if len(terms) != len(words):
            raise IndexCorruptError(f"{path}: the term dictionary holds a term twice")
        stems: dict[str, dict[str, str]] = {}
        for _, table, numbers in self._stems.values():
            if numbers in stems:
                continue  # (fields analyzed alike share one table)
            inputs = table.strings()
            found = self._arrays[numbers]
            if len(found) != len(inputs) or (
                len(found) and (int(found.min()) < 0 or int(found.max()) >= len(words))
            ):
                raise IndexCorruptError(f"{path}: {numbers!r} names no term")
            stems[numbers] = dict(zip(inputs, map(words.__getitem__, found.tolist())))
        # (Threads may read it at once: each makes the same, one is kept.)
        self._laid = self._lay_out()
        self._vocabulary = _Vocabulary(terms, words, stems)
        return self._vocabulary

    def _lay_out(self) -> _Laid | None:
        """Every term's entries and postings layout, the arrays a scan reads verified whole,
        for a segment small enough (``LAY_OUT_BYTES``) with coded doc numbers and packed
        frequencies; None otherwise, and where anything fails a check: each term is then
        read, and any fault found, as a lookup finds it."""
        arr = self._arrays
        if self._docids is None or not self._packed_tf:
            return None
        gaps = self._docids.gaps
        laid = _LAID_ARRAYS[gaps]
        names = (*laid, "blk.tfn") if self._has_tfn else laid
        if not all(n in arr for n in names):
            return None
        views = {name: arr.unverified(name) for name in names}
        if sum(v.nbytes for v in views.values()) > LAY_OUT_BYTES:
            return None
        try:
            for name in names:
                arr.check(name, 0, len(views[name]))
        except IndexCorruptError:
            return None
        n = len(self.terms)
        offs = views["post.offs"].astype(np.int64)
        first = views["blk.offs"].astype(np.int64)
        if len(offs) != n + 1 or len(first) < n:
            return None
        first = first[:n]
        counts = np.diff(offs)
        nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
        # What DocIds.term, DocIds.layout and postings_layout check of each term.
        ok = (counts > 0) & (first >= 0)
        if gaps:
            # (As DocIds.layout checks each term's: the blocks' widths and bits.)
            gapw, gapbit = views["post.gapw"], views["post.gapbit"]
            whole = views["blk.offs"].astype(np.int64)
            if (
                len(whole) != n + 1
                or whole[0] != 0
                or np.any(np.diff(whole) != nblocks)
                or len(gapw) != whole[-1]
                or len(gapbit) != whole[-1]
            ):
                return None
            ends = docids_format.gap_ends(offs, whole, gapw, gapbit)
            if len(gapw) and (
                int(gapw.max()) > bitpack.MAX_WIDTH
                or int(gapbit.min()) < 0
                or int(ends.max()) > 64 * len(views["post.gaps"])
            ):
                return None
            widths = np.full(n, docids_format.GAPS, dtype=np.int64)
            dpos = np.zeros(n, dtype=np.int64)
        else:
            widths = views["post.dw"].astype(np.int64)
            dpos = views["post.dpos"].astype(np.int64)
            if len(widths) != n or len(dpos) != n:
                return None
            ok &= (dpos >= 0) & np.isin(widths, tuple(OFFSET_ARRAYS))
            for width, name in OFFSET_ARRAYS.items():
                ok &= (widths != width) | (dpos + counts <= len(views[name]))
        ok &= first + nblocks <= len(views["post.dbase"])
        if self._has_tfn:
            ok &= first + nblocks <= len(views["blk.tfn"])
        if not ok.all() or offs[0] < 0 or offs[-1] > len(views["post.tf"]):
            return None
        layouts = np.stack((widths, dpos, first, offs[:-1], offs[1:]), axis=1)
        starts = offs.tolist()
        return _Laid(starts, dict(zip(starts[:-1], range(n))), layouts)

    def surface_words(self, field: str, analyzer: dict) -> tuple[list[str], np.ndarray] | None:
        """The stemmer inputs of ``field``'s stem table (the words as the index saw them,
        lowercased and folded) and their term numbers; None for a segment without one, or
        whose table another analyzer made."""
        found = self._stems.get(field)
        if found is None or found[0] != analyzer:
            return None
        _, table, numbers = found
        return table.strings(), np.asarray(self._arrays[numbers])

    def signatures(self, docs: np.ndarray | None = None) -> np.ndarray:
        """The MinHash signatures (:mod:`.minhash`) of ``docs`` (None: every document), read
        from the builder's stored bytes each time (unpacked, 128 bytes a story: a whole
        archive's would not be kept), or rebuilt once from the postings of a segment written
        before it stored them (and kept: that costs a scan of the postings)."""
        if minhash.ARRAY in self._arrays:
            packed = self._arrays[minhash.ARRAY]
            return minhash.stored(packed if docs is None else packed[docs])
        if self._signatures is None:
            self._signatures = self.signatures_from_postings()
        return self._signatures if docs is None else self._signatures[docs]

    def packed_signatures(self) -> np.ndarray:
        """The signatures as :func:`minhash.pack` stores them: the stored bytes themselves
        where they are in that form (a merge copies rows of them), packed here otherwise."""
        if minhash.ARRAY in self._arrays:
            found = self._arrays[minhash.ARRAY]
            if found.dtype == np.uint8 and found.shape == (self.ndocs, minhash.PACKED):
                return found
        return minhash.pack(self.signatures())

    def signatures_from_postings(self) -> np.ndarray:
        """The signatures the builder gives these documents, rebuilt from the postings."""
        arr = self._arrays
        if "terms.crc" in arr:
            crcs = np.empty(len(self.terms), dtype=np.uint32)
            crcs[arr["terms.hord"]] = arr["terms.crc"]
        else:
            crcs = minhash.crc_of_terms(self.terms.strings())
        return minhash.from_postings(
            crcs, self.post_offs, self.post_docs, self.post_tf, self.pos, self.ndocs
        )

    def find_id(self, article_id: str) -> int:
        """Local doc number of a live article id, or -1."""
        doc = self.ids.find(article_id)
        if doc >= 0 and self.live is not None and not self.live[doc]:
            return -1
        return doc

    def find_ids(self, article_ids: Sequence[str], hashed: dict | None = None) -> list[int]:
        """Local doc numbers of the live articles among ``article_ids`` (absent ones left out),
        as :meth:`find_id` gives them, in one vectorized lookup (see ``StringTable.find_many``)."""
        docs = self.ids.find_many(article_ids, hashed)
        docs = docs[docs >= 0]
        if self.live is not None:
            docs = docs[self.live[docs]]
        return docs.tolist()

    def article(self, doc: int) -> Article:
        return self.store.get(doc)

    def keyword_value(self, kname: str, code: int) -> str:
        return self._keyword_values[kname][code]

    def keyword_values(self, kname: str) -> list[str]:
        return self._keyword_values[kname].strings()  # one checked read, not one per value

    def keyword_codes_for(self, kname: str, keys: Iterable[str]) -> np.ndarray:
        """Codes of column ``kname`` whose value matches one of the normalized ``keys``
        (see :func:`~newsindex.schema.keyword_matches`)."""
        if not isinstance(keys, frozenset):  # a hand-built plan may pass any collection
            keys = frozenset(keys)
        cached = self._keyword_codes.get((kname, keys))
        if cached is not None:
            return cached
        index = self._keyword_index.get(kname)
        if index is None:
            index = self._keyword_index[kname] = _keyword_index(self.keyword_values(kname), kname)
        found = np.asarray(
            sorted({code for key in keys for code in index.get(key, ())}), dtype=np.int32
        )
        found.flags.writeable = False  # shared by every query with these keys
        if len(self._keyword_codes) >= _KEYWORD_CODES_CACHE_SIZE:
            self._keyword_codes.clear()
        self._keyword_codes[(kname, keys)] = found
        return found

    def close(self) -> None:
        self.store.close()


class LengthCodes(NamedTuple):
    """:attr:`Segment.length_codes`: per document ``title_length << bits | body_length``."""

    codes: np.ndarray
    bits: int
    #: Each field's largest length (its table by length has one more entry).
    tops: tuple[int, int]


def _column(arr: ArrayFile, name: str) -> np.ndarray:
    """Per-document column ``name`` as stored: integers of at most 32 bits, which every
    reader takes, indexes or widens as it goes (segments written before narrow columns
    store int32)."""
    column = arr[name]
    if column.dtype.kind not in "iu" or column.dtype.itemsize > 4 or column.dtype == np.uint32:
        raise IndexCorruptError(f"{arr.path}: array {name!r} has dtype {column.dtype}")
    return column


def _keyword_index(values: list[str], kname: str) -> dict[str, list[int]]:
    """normalized query key -> codes of the values it matches."""
    index: dict[str, list[int]] = {}
    for code, value in enumerate(values):
        for key in keyword_keys(value, kname):
            index.setdefault(key, []).append(code)
    return index


def _check_sizes(folder: Path, entry: SegmentEntry) -> None:
    """The cheap check on open: every file exists with the size the manifest recorded."""
    for fname, meta in entry.files.items():
        path = folder / fname
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: file is missing") from None
        if size != meta.size:
            raise IndexCorruptError(
                f"{path}: {size} bytes, the manifest says {meta.size} (truncated or replaced)"
            )


def _load_deletes(
    folder: Path, del_file: str | None, ndocs: int, info: FileInfo | None
) -> np.ndarray:
    if not del_file:
        return np.zeros(0, dtype=np.int32)
    path = folder / del_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IndexCorruptError(f"{path}: deletions file is missing") from None
    if info is not None and info.crc32 is not None and crc32(raw) != info.crc32:
        raise IndexCorruptError(f"{path}: checksum mismatch (the file's content changed)")
    try:
        deleted = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # numpy's header parser raises several kinds
        raise IndexCorruptError(f"{path}: unreadable deletions file ({exc})") from None
    if (
        deleted.ndim != 1
        or deleted.dtype.kind not in "iu"
        or (len(deleted) and (deleted.min() < 0 or deleted.max() >= ndocs))
    ):
        raise IndexCorruptError(f"{path}: deletions out of range for {ndocs} documents")
    return deleted.astype(np.int32)


def stem_lookup(
    segments: Sequence[Segment], field: str, analyzer: dict
) -> Callable[[str], str | None]:
    """The stem the first of ``segments`` holding a word gave it (:meth:`Segment.stem_of`),
    each segment's table matched to ``analyzer`` once, here: an analyzer asks for every
    word a query meets first."""
    readers = [r for seg in segments if (r := seg.stem_reader(field, analyzer)) is not None]
    if len(readers) == 1:
        return readers[0]

    def look_up(word: str) -> str | None:
        for read in readers:
            term = read(word)
            if term is not None:
                return term
        return None

    return look_up


def known_stems(
    segments: Sequence[Segment], field: str, analyzer: dict
) -> Callable[[], list[tuple[str, dict[str, str]]] | None]:
    """A call giving, in the order of ``segments``, the name and stem table
    (:meth:`Segment.stem_table`) of each segment :func:`stem_lookup` asks, once every one of
    them holds its vocabulary whole; None before that."""

    def known() -> list[tuple[str, dict[str, str]]] | None:
        tables = []
        for seg in segments:
            if seg.stem_reader(field, analyzer) is None:
                continue
            table = seg.stem_table(field, analyzer)
            if table is None:
                return None
            tables.append((seg.name, table))
        return tables

    return known


class _Vocabulary(NamedTuple):
    """A small segment's term dictionary and stem tables as dicts, read whole.

    A word's lookup in the tables as written (a bisection of their hashes or strings, each
    step a few Python operations, every string read checked) costs a query a few
    microseconds per word and segment: most of a long query's cost where the postings are
    short, each time a process meets a word first. A segment of at most ``READ_AT_ONCE``
    entries reads them all (checked, as a lookup reads its own) on its first lookup and
    answers from dicts, as an engine that loads its vocabulary when it opens does (the
    first search pays it, not the open); a larger one only once its lookups would have
    cost about as much (see ``_LOOKUPS_PER_ENTRY``), and a segment of more than
    ``WHOLE_VOCABULARY`` never.
    """

    #: term -> its number
    terms: dict[str, int]
    #: number -> term
    words: list[str]
    #: per stem table (by the name of its array of term numbers): stemmer input -> term
    stems: dict[str, dict[str, str]]


class _Laid(NamedTuple):
    """A small segment's per-term entries read whole, and every term's
    :meth:`Segment.postings_layout` (its postings verified): a word met first in a long
    query costs a dict lookup there, not a few verified reads of each array."""

    #: ``post.offs`` (each term's first posting, then the end)
    offs: list[int]
    #: first posting -> term number
    term_at: dict[int, int]
    #: each term's layout of its whole postings: (width, offset, first block, start, end)
    layouts: np.ndarray


#: A field's stem table: (analyzer spec dict, sorted stemmer inputs, the name of the array
#: of their term numbers).
StemTable = tuple[Mapping[str, Any], SortedStrings, str]


def _stem_tables(arr: ArrayFile, stems: Mapping[str, StemTableInfo]) -> dict[str, StemTable]:
    """field -> (analyzer spec dict, sorted stemmer inputs, the name of the array of their
    term numbers, read an item at a time) (segments written before these tables have none)."""
    out: dict[str, StemTable] = {}
    for field, info in stems.items():
        prefix = f"stem.{info.table}"
        if f"{prefix}.term" in arr:
            out[field] = (info.analyzer, SortedStrings(arr, prefix), f"{prefix}.term")
    return out
