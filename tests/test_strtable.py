"""String tables: the term dictionary and id tables of a segment."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.index import strtable


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(max_size=12), unique=True, max_size=60),
    st.lists(st.text(max_size=12), max_size=20),
)
def test_find_gives_each_string_its_index_and_misses_others(strings, probes):
    table = strtable.StringTable(strtable.build("t", strings), "t")
    assert len(table) == len(strings)
    assert table.strings() == strings
    for i, s in enumerate(strings):
        assert table.find(s) == i and table[i] == s
    for p in probes:
        assert table.find(p) == (strings.index(p) if p in strings else -1)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(max_size=12), unique=True, max_size=60),
    st.lists(st.text(max_size=12), max_size=40),
)
def test_find_many_is_find_of_each_string(strings, probes):
    """The writer's vectorized lookup (every added id in every segment at commit) answers
    exactly as one find per string, for present, absent and repeated strings, and with the
    hashes shared between tables."""
    probes = probes + strings[::2] + ["plumless", "buckeroo"]  # a CRC-32 collision pair
    tables = [
        strtable.StringTable(strtable.build("t", strings), "t"),
        strtable.StringTable(strtable.build("t", strings + ["plumless"]), "t"),
    ]
    hashed: dict = {}
    for table in tables:
        want = [table.find(p) for p in probes]
        assert table.find_many(probes, hashed).tolist() == want
        assert table.find_many(probes).tolist() == want


def test_crc_collisions_are_resolved_by_the_bytes():
    # "plumless" and "buckeroo" share a CRC-32: both must still be found, each as itself.
    import zlib

    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    table = strtable.StringTable(strtable.build("t", ["plumless", "buckeroo", "x"]), "t")
    assert [table.find(s) for s in ("plumless", "buckeroo", "x", "y")] == [0, 1, 2, -1]


def test_tables_of_older_segments_hashed_with_blake2b_are_still_read():
    strings = ["trade", "bank", "café", "Türkiye"]
    arrays = strtable.build("t", strings)
    # The arrays an older writer made: 64-bit BLAKE2b hashes under "t.hash".
    encoded = [s.encode("utf-8") for s in strings]
    hashes = np.array([strtable.string_hash(b) for b in encoded], dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    old = {
        "t.blob": arrays["t.blob"],
        "t.offs": arrays["t.offs"],
        "t.hash": hashes[order],
        "t.hord": order.astype(np.int32),
    }
    table = strtable.StringTable(old, "t")
    assert [table.find(s) for s in strings + ["cafe"]] == [0, 1, 2, 3, -1]
