"""Term ids for indexing: every token of a batch of texts mapped to its index term."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import compress, repeat
from operator import is_

import numpy as np

from .analyzer import Analyzer, AnalyzerSpec
from .batch import MISSING, KnownTokens, chunks, tokenize_chunk

STOP = -1


class Vocabulary:
    """Maps analyzed terms to dense integer ids shared by every field of a writer.

    ``batch_ids(texts, analyzer)`` gives one id per surface token (``-1`` for a dropped token,
    so positions still count stop words). Each analyzer gets its own surface-token cache,
    because two fields may analyze the same token differently.
    """

    def __init__(self) -> None:
        self.terms: list[str] = []
        self._term_ids: dict[str, int] = {}
        self._caches: dict[object, dict[str, int]] = {}
        self._known: dict[object, KnownTokens] = {}
        self._crcs = np.zeros(0, dtype=np.uint32)

    def __len__(self) -> int:
        return len(self.terms)

    def term_id(self, term: str) -> int:
        """The id of an analyzed term, assigned if new."""
        tid = self._term_ids.get(term)
        if tid is None:
            tid = self._term_ids[term] = len(self.terms)
            self.terms.append(term)
        return tid

    def term_crcs(self) -> np.ndarray:
        """The CRC-32 of every term's UTF-8 bytes, by id (each term's computed once)."""
        known = len(self._crcs)
        if known < len(self.terms):
            new = np.fromiter(
                (zlib.crc32(t.encode("utf-8")) for t in self.terms[known:]),
                dtype=np.uint32,
                count=len(self.terms) - known,
            )
            self._crcs = np.concatenate([self._crcs, new])
        return self._crcs[: len(self.terms)]

    def surface(self, spec: AnalyzerSpec) -> dict[str, int]:
        """Every surface token analyzed so far with analyzer ``spec`` -> its term id (or STOP),
        in first-seen order: the cache itself, which the parallel writer extends with the
        tokens its workers analyzed."""
        return self._caches.setdefault(spec, {})

    def batch_ids(self, texts: Sequence[str], analyzer: Analyzer) -> tuple[np.ndarray, np.ndarray]:
        """The term id of every token of ``texts`` (``-1`` for a dropped one) in order, and the
        token count of each text, with tokens exactly as :func:`raw_tokens` gives them."""
        cache = self.surface(analyzer.spec)
        known = self._known.get(analyzer.spec)
        if known is None:
            known = self._known[analyzer.spec] = KnownTokens()
        ids, counts = [], []
        for start, end in chunks(texts):
            chunk = tokenize_chunk(texts[start:end], analyzer.spec.tokenizer)
            group_ids = known.lookup(chunk)
            missing = np.flatnonzero(group_ids == MISSING)
            if len(missing):
                # Tokens new to this table: by their text, through the token cache (which
                # also holds what forked workers analyzed) and the analyzer.
                tokens = chunk.strings(missing)
                try:
                    found_ids = list(map(cache.__getitem__, tokens))
                except KeyError:
                    self._learn(tokens, cache, analyzer)
                    found_ids = list(map(cache.__getitem__, tokens))
                found = np.array(found_ids, dtype=np.int32)
                group_ids[missing] = found
                known.learn(chunk, missing, found)
            ids.append(group_ids[chunk.inverse])
            counts.append(chunk.counts)
        if not ids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        return np.concatenate(ids), np.concatenate(counts).astype(np.int64)

    def _learn(self, tokens: list[str], cache: dict[str, int], analyzer: Analyzer) -> None:
        """Analyze the tokens ``cache`` lacks, in one batch, and add them to it."""
        new = list(dict.fromkeys(compress(tokens, map(is_, map(cache.get, tokens), repeat(None)))))
        term_ids, terms = self._term_ids, self.terms
        ids = []
        for term in analyzer.terms_for(new):
            if term is None:
                ids.append(STOP)
                continue
            tid = term_ids.get(term)
            if tid is None:
                tid = term_ids[term] = len(terms)
                terms.append(term)
            ids.append(tid)
        cache.update(zip(new, ids))
