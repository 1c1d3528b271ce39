"""Bit-packing at a width per block (index/bitpack.py): any values, widths and block sizes
unpack to what was packed, every value read alone as the compiled scan reads it, and a block
reaching past the words or wider than 32 bits is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.index import bitpack


@st.composite
def blocks_of_values(draw):
    """(values, counts): blocks of 0-200 values, each block's below a width of 0-32 bits."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    counts = draw(st.lists(st.sampled_from([0, 1, 2, 63, 64, 65, 127, 200]), max_size=12))
    parts = []
    for count in counts:
        width = draw(st.integers(0, bitpack.MAX_WIDTH))
        top = 1 << width
        part = rng.integers(0, top, count, dtype=np.int64) if width else np.zeros(count, np.int64)
        if count and width and draw(st.booleans()):
            part[rng.integers(0, count)] = top - 1  # the width's largest value
        parts.append(part)
    return np.concatenate([np.zeros(0, np.int64), *parts]), np.array(counts, dtype=np.int64)


@settings(max_examples=300, deadline=None)
@given(data=blocks_of_values())
def test_every_value_unpacks_as_packed(data):
    values, counts = data
    widths = bitpack.widths_of(values, counts)
    # Each block's width is its largest value's bit length (0 for zeros or no values).
    first = np.cumsum(counts) - counts
    for b, (f, c) in enumerate(zip(first.tolist(), counts.tolist())):
        top = int(values[f : f + c].max()) if c else 0
        assert widths[b] == top.bit_length()
    words, starts = bitpack.pack(values, widths, counts)
    assert words.dtype == np.uint64 and starts.dtype == np.int64
    assert len(words) == (int((counts * widths).sum()) + 63) // 64  # no padding between blocks
    assert np.array_equal(bitpack.unpack(words, starts, widths, counts), values.astype(np.uint64))
    # Any block alone, and any value alone from its bits (as the kernel's shifts read it).
    padded = np.append(words, np.zeros(2, np.uint64))
    for b in range(len(counts)):
        got = bitpack.unpack(words, starts[b : b + 1], widths[b : b + 1], counts[b : b + 1])
        assert np.array_equal(got, values[first[b] : first[b] + counts[b]].astype(np.uint64))
        w = int(widths[b])
        for i in range(0, int(counts[b]), 17):
            q = int(starts[b]) + i * w
            word = int(padded[q >> 6]) | (int(padded[(q >> 6) + 1]) << 64)
            assert (word >> (q & 63)) & ((1 << w) - 1) == values[first[b] + i]


def test_a_block_past_the_words_or_too_wide_is_refused():
    values = np.arange(100, dtype=np.int64)
    counts = np.array([100])
    widths = bitpack.widths_of(values, counts)
    words, starts = bitpack.pack(values, widths, counts)
    with pytest.raises(ValueError):
        bitpack.unpack(words[:-1], starts, widths, counts)
    with pytest.raises(ValueError):
        bitpack.unpack(words, starts + 64, widths, counts)
    with pytest.raises(ValueError):
        bitpack.unpack(words, starts, np.array([33]), counts)
    with pytest.raises(ValueError):
        bitpack.widths_of(np.array([1 << 32]), np.array([1]))
