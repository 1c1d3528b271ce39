"""String tables: the term dictionary and id tables of a segment."""

import numpy as np
import pytest
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


def _sorted_unique(strings: list[str]) -> list[str]:
    return sorted(set(strings), key=lambda s: s.encode("utf-8"))


class _Lookups:
    """Tables built inside it bisect their strings alone (``bisect``: the path of tables
    too large for prefix keys), make their prefix keys on the first lookup (``prefix``), or
    switch from one to the other once their lookups pay for the keys (``switch``, as
    tables do)."""

    def __init__(self, mode: str):
        self.mode = mode

    def __enter__(self):
        self.old = strtable.PREFIX_KEYS_MAX, strtable.PREFIX_KEYS_RATIO
        if self.mode == "bisect":
            strtable.PREFIX_KEYS_MAX = 0
        elif self.mode == "prefix":
            strtable.PREFIX_KEYS_RATIO = 1 << 40

    def __exit__(self, *exc):
        strtable.PREFIX_KEYS_MAX, strtable.PREFIX_KEYS_RATIO = self.old


_MODES = st.sampled_from(["bisect", "prefix", "switch"])


# Words over few letters share their first 8 bytes often (the prefix keys' ties), some
# ending in NUL (zero padding's ties), some not ASCII.
_CLOSE_WORDS = st.text(alphabet="ab\x00é", max_size=14)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(max_size=12), max_size=80) | st.lists(_CLOSE_WORDS, max_size=80),
    st.lists(st.text(max_size=12) | _CLOSE_WORDS, max_size=30),
    _MODES,
)
def test_sorted_find_is_each_strings_index_or_minus_one(tmp_path_factory, strings, probes, mode):
    """The stem tables' lookup (by prefix keys, or the raw-view bisection with its checked
    bracket) against a plain dict, for present and absent words and the empty table, from
    memory and from a segment file."""
    with _Lookups(mode):
        _check_sorted_find(tmp_path_factory, strings, probes)


def _check_sorted_find(tmp_path_factory, strings, probes):
    from newsindex.index.arrays import ArrayFile, write_arrays

    strings = _sorted_unique(strings)
    arrays = strtable.build_sorted("s", strings)
    path = tmp_path_factory.mktemp("sorted") / "t.arr"
    write_arrays(path, arrays)
    index = {s: i for i, s in enumerate(strings)}
    probes = probes + strings + [s + "\x00" for s in strings[:5]] + [s[:-1] for s in strings[:5]]
    for table in (
        strtable.SortedStrings(arrays, "s"),
        strtable.SortedStrings(ArrayFile(path), "s"),
    ):
        assert table.size == len(strings) and table.strings() == strings
        assert [table.find(p) for p in probes] == [index.get(p, -1) for p in probes]


def _big_table(seed: int) -> list[str]:
    """Enough words that the blob and offsets span several checksum chunks."""
    import random

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzé"
    words = {"".join(rng.choices(letters, k=rng.randint(1, 10))) for _ in range(6000)}
    return _sorted_unique(list(words))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 3),
    st.sampled_from(["s.blob", "s.offs"]),
    st.floats(0.0, 0.999),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    _MODES,
)
def test_sorted_find_on_a_corrupt_table_is_right_or_index_corrupt(
    tmp_path_factory, seed, name, where, picks, mode
):
    """A flipped byte anywhere in the table's arrays: every lookup either raises
    IndexCorruptError or gives the genuine answer, never a wrong one (the bisection reads
    unchecked entries, which a flip may make lie)."""
    with _Lookups(mode):
        _check_corrupt_sorted_find(tmp_path_factory, seed, name, where, picks)


def _check_corrupt_sorted_find(tmp_path_factory, seed, name, where, picks):
    from newsindex.index.arrays import ArrayFile, write_arrays

    strings = _big_table(seed)
    index = {s: i for i, s in enumerate(strings)}
    path = tmp_path_factory.mktemp("corrupt") / "t.arr"
    write_arrays(path, strtable.build_sorted("s", strings))
    slot = ArrayFile(path)._slots[name]
    at = slot.offset + int(where * slot.nbytes)
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    table = strtable.SortedStrings(ArrayFile(path), "s")
    probes = [strings[p % len(strings)] for p in picks] + [f"{p}" for p in picks]
    probes += [strings[p % len(strings)] + "z" for p in picks]
    _right_or_corrupt(table, probes, index)


@pytest.mark.parametrize("mode", ["bisect", "prefix"])
@pytest.mark.parametrize("case", ["found", "bracket"])
def test_sorted_find_of_a_word_whose_bytes_are_corrupt_is_index_corrupt(
    tmp_path, case, mode, monkeypatch
):
    """``found``: the word's own bytes flipped. ``bracket``: the word is the last to start in
    the blob's first checksum chunk and its first byte is zeroed, so an unchecked bisection
    passes it and ends on the next word, which lies in a sound chunk: only a checked read of
    the bracket's lower end sees the damage."""
    from newsindex.errors import IndexCorruptError
    from newsindex.index.arrays import CHUNK, ArrayFile, write_arrays

    strings = _big_table(7)
    path = tmp_path / "t.arr"
    arrays = strtable.build_sorted("s", strings)
    write_arrays(path, arrays)
    offs = arrays["s.offs"]
    if case == "found":
        target = len(strings) // 3
    else:
        target = int(np.searchsorted(offs, CHUNK, "right")) - 1
        assert offs[target] < CHUNK <= offs[target + 1]
    slot = ArrayFile(path)._slots["s.blob"]
    data = bytearray(path.read_bytes())
    at = slot.offset + int(offs[target])
    data[at] = 0 if case == "bracket" else data[at] ^ 0x01
    path.write_bytes(bytes(data))
    if mode == "bisect":
        monkeypatch.setattr(strtable, "PREFIX_KEYS_MAX", 0)
    else:
        monkeypatch.setattr(strtable, "PREFIX_KEYS_RATIO", 1 << 40)
    table = strtable.SortedStrings(ArrayFile(path), "s")
    with pytest.raises(IndexCorruptError):
        table.find(strings[target])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 3),
    st.lists(
        st.tuples(st.sampled_from(["t.crc", "t.hord", "t.offs", "t.blob"]), st.floats(0, 0.999)),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
)
def test_find_on_a_corrupt_table_is_right_or_index_corrupt(tmp_path_factory, seed, flips, picks):
    """Term and id tables: with bytes flipped anywhere in their arrays, every lookup raises
    IndexCorruptError or gives the genuine answer, the words whose entries hold a flipped
    byte (and their neighbours in both orders) among those looked up."""
    from newsindex.index.arrays import ArrayFile, write_arrays

    strings = _big_table(seed)  # (its hashes span two checksum chunks)
    index = {s: i for i, s in enumerate(strings)}
    path = tmp_path_factory.mktemp("corrupt") / "t.arr"
    arrays = strtable.build("t", strings)
    write_arrays(path, arrays)
    slots = ArrayFile(path)._slots
    data = bytearray(path.read_bytes())
    probes = [strings[p % len(strings)] for p in picks] + [f"{p}" for p in picks]
    for name, where in flips:
        # The words whose entries hold the byte, and their neighbours in each order.
        k = _flip(data, slots, arrays, name, where)
        near = range(max(k - 1, 0), min(k + 2, len(strings)))
        if name in ("t.crc", "t.hord"):
            probes += [strings[arrays["t.hord"][j]] for j in near]
        else:
            probes += [strings[j] for j in near]
    path.write_bytes(bytes(data))
    table = strtable.StringTable(ArrayFile(path), "t")
    _right_or_corrupt(table, probes, index)


def _flip(data: bytearray, slots, arrays, name: str, where: float) -> int:
    """Flip the byte at ``where`` (0-1) of array ``name`` of a table's file ``data``; the
    entry it belongs to (for ``t.blob``, the string whose bytes hold it)."""
    at = int(where * slots[name].nbytes)
    data[slots[name].offset + at] ^= 0xFF
    k = at // arrays[name].itemsize
    if name == "t.blob":
        k = int(np.searchsorted(arrays["t.offs"], k, "right")) - 1
    return k


def _right_or_corrupt(table, probes: list[str], index: dict[str, int]) -> None:
    """Each probe is found where the clean table has it (or not at all), or the lookup
    says the table is corrupt."""
    from newsindex.errors import IndexCorruptError

    for p in probes:
        try:
            found = table.find(p)
        except IndexCorruptError:
            continue
        assert found == index.get(p, -1), p


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 3),
    st.lists(st.integers(0, 10**6), max_size=40),
    st.lists(st.tuples(st.sampled_from(["t.offs", "t.blob"]), st.floats(0, 0.999)), max_size=2),
)
def test_many_is_each_string_or_index_corrupt(tmp_path_factory, seed, picks, flips):
    """A page of ids read in one call (StringTable.many, ArrayFile.slices) is the strings at
    those indices, in their order, repeats kept, on a table read from a file and on the
    arrays in memory; with bytes flipped in the offsets or the strings, it is that or
    IndexCorruptError (never other strings: the flipped entries are among those read)."""
    from newsindex.errors import IndexCorruptError
    from newsindex.index.arrays import ArrayFile, write_arrays

    strings = _big_table(seed)  # (its strings span two checksum chunks)
    path = tmp_path_factory.mktemp("many") / "t.arr"
    arrays = strtable.build("t", strings)
    write_arrays(path, arrays)
    indices = [p % len(strings) for p in picks]
    want = [strings[i] for i in indices]
    assert strtable.StringTable(arrays, "t").many(indices) == want
    assert strtable.StringTable(ArrayFile(path), "t").many(indices) == want
    slots = ArrayFile(path)._slots
    data = bytearray(path.read_bytes())
    for name, where in flips:
        k = _flip(data, slots, arrays, name, where)
        indices.append(min(k, len(strings) - 1))
        want.append(strings[indices[-1]])
    path.write_bytes(bytes(data))
    table = strtable.StringTable(ArrayFile(path), "t")
    try:
        got = table.many(indices)
    except IndexCorruptError:
        assert flips
    else:
        assert got == want


def test_many_refuses_an_index_outside_the_table():
    table = strtable.StringTable(strtable.build("t", ["a", "b"]), "t")
    for bad in ([2], [0, -1]):
        with pytest.raises(IndexError):
            table.many(bad)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.text(max_size=10), unique=True, max_size=30), min_size=1, max_size=4),
    st.data(),
)
def test_gather_is_build_of_the_picked_strings(tables, data):
    """A merge's id table is gathered from its inputs' tables as bytes and CRC-32s: it must
    be exactly the table ``build`` makes of the same strings (every array, every dtype)."""
    found = [strtable.StringTable(strtable.build("ids", t), "ids") for t in tables]
    picks = [(i, j) for i, t in enumerate(tables) for j in range(len(t))]
    picks = data.draw(st.permutations(picks)) if picks else []
    picks = picks[: data.draw(st.integers(0, len(picks)))]
    source = np.array([i for i, _ in picks], dtype=np.int64)
    rows = np.array([j for _, j in picks], dtype=np.int64)
    got = strtable.gather("ids", found, source, rows)
    want = strtable.build("ids", [tables[i][j] for i, j in picks])
    assert got is not None and list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name])


def test_gather_refuses_a_table_whose_hash_order_is_not_a_permutation():
    from newsindex.errors import IndexCorruptError

    arrays = strtable.build("ids", ["a", "b", "c"])
    arrays["ids.hord"] = np.array([0, 0, 2], dtype=np.int32)  # (as a bad writer could)
    table = strtable.StringTable(arrays, "ids")
    with pytest.raises(IndexCorruptError, match="not a permutation"):
        strtable.gather("ids", [table], np.zeros(3, np.int64), np.arange(3))
    older = strtable.build("ids", ["a"])
    older["ids.hash"] = older.pop("ids.crc").astype(np.uint64)
    assert (
        strtable.gather("ids", [strtable.StringTable(older, "ids")], np.zeros(1), np.zeros(1))
        is None
    )
