"""Build one immutable segment from a batch of articles, with whole-array numpy operations.

Per-token Python work is one dict lookup (see :class:`~newsindex.analysis.vocab.Vocabulary`);
everything after that — grouping tokens into postings, term frequencies per field, positions,
columns — is a handful of sorts and reductions over the whole batch.
"""

from __future__ import annotations

import json
from itertools import compress
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..analysis import Analyzer
from ..analysis.vocab import Vocabulary
from ..article import Article
from ..schema import KEYWORD_FIELDS, TEXT_FIELDS, day_number
from . import strtable
from .analyze import analyze
from .arrays import write_arrays
from .docstore import StoreWriter



def build_segment(
    folder: Path,
    name: str,
    articles: Sequence[Article],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    workers: int = 1,
) -> dict:
    """Write segment ``name`` into ``folder``; return its manifest entry."""
    days = np.fromiter((day_number(a.date) for a in articles), dtype=np.int64, count=len(articles))
    order = np.argsort(days, kind="stable")  # date order: date filters become doc-id ranges
    articles = [articles[i] for i in order]
    days = days[order].astype(np.int32)
    n = len(articles)

    arrays: dict[str, np.ndarray] = {"date": days}
    ids, docs, positions, fields = [], [], [], []
    field_lengths = {}
    with StoreWriter(folder / f"{name}.doc") as store:
        analyzed = analyze(articles, analyzers, vocab, store, workers)
        store_offsets, store_file = store.finish()
    for fi, fname in enumerate(TEXT_FIELDS):
        f_ids, f_docs, f_pos = _field_tokens(*analyzed[fi], n)
        lengths = np.bincount(f_docs, minlength=n).astype(np.int32)
        arrays[f"len.{fname}"] = lengths
        field_lengths[fname] = int(lengths.sum(dtype=np.int64))
        ids.append(f_ids)
        docs.append(f_docs)
        positions.append(f_pos)
        fields.append(np.full(len(f_ids), fi, dtype=np.uint8))
    postings, remap = _postings(np.concatenate(ids), np.concatenate(docs),
                                np.concatenate(positions), np.concatenate(fields), n, vocab)
    arrays.update(postings)
    stems = _stem_tables(analyzers, vocab, remap, arrays)
    arrays.update(strtable.build("ids", [a.id for a in articles]))
    for kname in KEYWORD_FIELDS:
        codes, values = _encode_keyword([getattr(a, kname) for a in articles])
        arrays[f"kw.{kname}"] = codes
        arrays.update(strtable.build(f"kwv.{kname}", values))

    arrays["store.offs"] = store_offsets
    arr_file = write_arrays(folder / f"{name}.arr", arrays)
    dated = days[days != np.iinfo(np.int32).min]
    return {
        "name": name,
        "docs": n,
        "terms": int(len(arrays["terms.offs"]) - 1),
        "postings": int(len(arrays["post.docs"])),
        "field_lengths": field_lengths,
        "min_day": int(dated[0]) if len(dated) else None,
        "max_day": int(dated[-1]) if len(dated) else None,
        "files": {f"{name}.arr": arr_file, f"{name}.doc": store_file},
        "stems": stems,
    }


def _field_tokens(term_ids, counts, n):
    """Term ids, doc numbers and positions of one field's kept tokens, in doc order."""
    docs = np.repeat(np.arange(n, dtype=np.int32), counts)
    starts = np.cumsum(counts) - counts
    positions = (np.arange(len(term_ids), dtype=np.int64) - np.repeat(starts, counts)).astype(
        np.uint32
    )
    keep = term_ids >= 0
    return term_ids[keep], docs[keep], positions[keep]


def _postings(term_ids, docs, positions, fields, n, vocab):
    """Group tokens into postings sorted by (term, doc), with per-field tf and positions."""
    used = np.flatnonzero(np.bincount(term_ids, minlength=len(vocab)))
    strings = [vocab.terms[i] for i in used.tolist()]
    perm = sorted(range(len(strings)), key=strings.__getitem__)
    remap = np.full(len(vocab), -1, dtype=np.int64)
    remap[used[perm]] = np.arange(len(perm))
    terms = [strings[i] for i in perm]
    nterms = len(terms)

    # Tokens arrive field by field, each field in (doc, position) order. A stable sort by doc
    # (two sorted runs: linear) then a stable radix sort by term yields (term, doc, field,
    # position) order without ever sorting 64-bit keys.
    by_doc = np.argsort(docs, kind="stable")
    local = remap[term_ids[by_doc]]
    by_term = _radix_argsort(local, nterms)
    order = by_doc[by_term]
    t_sorted = local[by_term]
    d_sorted = docs[order]
    ntok = len(order)
    if ntok:
        change = (t_sorted[1:] != t_sorted[:-1]) | (d_sorted[1:] != d_sorted[:-1])
        starts = np.flatnonzero(np.concatenate(([True], change)))
    else:
        starts = np.zeros(0, dtype=np.int64)
    post_term = t_sorted[starts]
    sorted_fields = fields[order]
    # Positions are relative to their field: within a posting, the first tf[title] positions
    # are the title's, the next tf[body] the body's. Small dtypes where the values allow.
    out = {
        "post.docs": d_sorted[starts].astype(np.int32),
        "pos": _narrow(positions[order]),
    }
    for fi, fname in enumerate(TEXT_FIELDS):
        tf = np.add.reduceat((sorted_fields == fi).astype(np.uint32), starts) if ntok else (
            np.zeros(0, dtype=np.uint32)
        )
        out[f"post.tf.{fname}"] = _narrow(tf)
    post_offs = np.searchsorted(post_term, np.arange(nterms + 1)).astype(np.int64)
    out["post.offs"] = post_offs
    out["pos.offs"] = np.append(starts, ntok).astype(np.int64)[post_offs]
    out.update(strtable.build("terms", terms))
    return out, remap


def _stem_tables(analyzers, vocab, remap, arrays) -> dict[str, dict]:
    """The stems of the segment's words: for every stemmer input (a word after possessive
    stripping and accent folding) whose stem is a term of the segment, that term's number,
    sorted by input. Queries look there before the stemmer, so words the index has seen need
    no stemmer (nor nltk's import, most of a search process's memory).

    One table per distinct analyzer, named by the first field using it; returns, per field,
    the table's name and the analyzer it was made with (a reader with other settings skips it).
    """
    out: dict[str, dict] = {}
    made: dict = {}
    for field in TEXT_FIELDS:
        analyzer = analyzers[field]
        spec = analyzer.spec
        if spec not in made:
            cache = vocab.surface(spec)
            tids = np.fromiter(cache.values(), dtype=np.int64, count=len(cache))
            local = remap[np.maximum(tids, 0)] if len(remap) else np.full(len(tids), -1)
            keep = (tids >= 0) & (local >= 0)
            stems: dict[str, int] = {}
            for token, term in zip(compress(cache, keep.tolist()), local[keep].tolist()):
                key = analyzer.stem_input(token)
                if key is not None and not key.isdigit():  # digits are never stemmed
                    stems[key] = term
            keys = sorted(stems)
            arrays.update(strtable.build_sorted(f"stem.{field}", keys))
            arrays[f"stem.{field}.term"] = np.fromiter(
                map(stems.__getitem__, keys), dtype=np.int32, count=len(keys)
            )
            made[spec] = field
        # As JSON gives it back, so a reader compares like with like.
        out[field] = {"table": made[spec], "analyzer": json.loads(json.dumps(spec.to_dict()))}
    return out


def _narrow(values: np.ndarray) -> np.ndarray:
    """The smallest unsigned dtype that holds ``values``."""
    top = int(values.max()) if len(values) else 0
    for dtype in (np.uint8, np.uint16):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values.astype(np.uint32)


def _radix_argsort(values: np.ndarray, bound: int) -> np.ndarray:
    """Stable argsort of non-negative ints below ``bound`` using numpy's 16-bit radix sort."""
    if bound <= 1 << 16:
        return np.argsort(values.astype(np.uint16), kind="stable")
    low = np.argsort((values & 0xFFFF).astype(np.uint16), kind="stable")
    high = np.argsort((values[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def _encode_keyword(values):
    """Small-integer codes for a keyword column (-1 = no value) and the table of values."""
    table: dict[str, int] = {}
    codes = np.fromiter(
        (-1 if v is None else table.setdefault(v, len(table)) for v in values),
        dtype=np.int32,
        count=len(values),
    )
    return codes, list(table)
