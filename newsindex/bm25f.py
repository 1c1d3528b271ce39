"""BM25F as small pure functions of named statistics: what search scores with, and what
a segment's writer bounds its blocks' scores with (``index/blocks.py``).

score(term, doc) = idf(df, N) * tfn / (tfn + k1), with the field-weighted, length-normalised
term frequency tfn = sum_f w_f * tf_f / (1 - b_f + b_f * len_f / avglen_f)
(Robertson & Zaragoza's simple BM25F; Lucene's idf; Lucene 8+'s score without the constant
``k1 + 1`` factor, which does not change the ranking). A query term repeated n times counts n
times.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np


def idf(df: int, n: int) -> float:
    """Lucene's BM25 idf: ``ln(1 + (N - df + 0.5) / (df + 0.5))``, always > 0."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def length_norm(lengths: np.ndarray, avg_length: float, b: float) -> np.ndarray:
    """``1 - b + b * len / avglen`` per document (1 for every doc when the field is empty)."""
    if avg_length <= 0:
        return np.ones(len(lengths), dtype=np.float64)
    return (1.0 - b) + (b / avg_length) * lengths.astype(np.float64)


#: Largest per-document field factor ``w_f / norm``: a term frequency (< 2**32) times it,
#: summed over the text fields, stays far from overflow, so every ``tfn`` is finite.
MAX_FIELD_FACTOR = 1e290


def field_factors(lengths: np.ndarray, avg_length: float, b: float, weight: float) -> np.ndarray:
    """``w_f / (1 - b + b * len / avglen)`` per document, always finite.

    With ``b = 1`` an empty field's norm is 0: its term frequencies are all 0, so it gets 0
    (not ``w / 0 = inf``, whose product with a tf of 0 is NaN). Huge weights are capped at
    :data:`MAX_FIELD_FACTOR` for the same reason.
    """
    norm = length_norm(lengths, avg_length, b)
    out = np.zeros(len(norm), dtype=np.float64)
    with np.errstate(over="ignore"):  # capped just below
        np.divide(weight, norm, out=out, where=norm > 0)
    np.minimum(out, MAX_FIELD_FACTOR, out=out)
    return out


_Num = TypeVar("_Num", float, np.ndarray)


def saturate(tfn: _Num, k1: float) -> _Num:
    """``tfn / (tfn + k1)``: works on scalars and arrays; with ``k1 = 0``, 1 where ``tfn > 0``
    and 0 where it is 0 (a field weighted 0), never ``0 / 0``."""
    if k1 == 0:
        if isinstance(tfn, np.ndarray):
            return (tfn > 0).astype(np.float64)
        return 1.0 if tfn > 0 else 0.0
    return tfn / (tfn + k1)
