"""Corrupted index files give IndexCorruptError or the exact original answers, never others."""

from __future__ import annotations

import json
import random
import shutil
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import newsindex
from newsindex.errors import IndexCorruptError
from newsindex.index import manifest as mf
from newsindex.index.arrays import ALIGN, MAGIC

COMPAT = Path(__file__).parent / "data" / "compat" / "format-1" / "index"
QUERIES = ["oil prices", "bank AND rates", '"crude oil"', "export*", "section:grain", "-oil"]
#: Flips per file kind (seeded: the same flips on every run).
FLIPS = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_docs) -> Path:
    """Three commits and a fourth with deletions and a replace: four segments, deletion files."""
    folder = tmp_path_factory.mktemp("corrupt") / "idx"
    docs = [d for d in sample_docs if len(d["body"]) < 900][:45]
    docs[4] = {**docs[4], "title": "Zürich café — " + docs[4]["title"]}  # a UTF-8 block
    ix = newsindex.Index.create(folder)
    for part in (docs[:15], docs[15:30], docs[30:]):
        with ix.writer() as w:
            for d in part:
                w.add(d)
    with ix.writer() as w:
        w.delete(docs[1]["id"])
        w.delete(docs[20]["id"])
        w.add({**docs[2], "title": "Replaced"})
    ix.close()
    return folder


def answers(folder: Path) -> tuple:
    """Everything a reader can see: hits with scores, totals, facets, stored articles."""
    with newsindex.Index.open(folder) as ix:
        out = []
        for q in QUERIES:
            res = ix.search(q, limit=50, facets=True)
            out.append(
                (
                    q,
                    res.total,
                    [(h.id, h.score, h.date_day, h.article.to_dict()) for h in res.hits],
                    json.dumps(res.facets.to_dict()),
                )
            )
        ids = sorted(ix.search("-zzzznotaword", limit=1000).hits, key=lambda h: h.id)
        stored = [(h.id, ix.get(h.id).to_dict()) for h in ids]
        return out, stored, ix.doc_count, ix.check()


def _kinds(folder: Path) -> dict[str, list[Path]]:
    newest = max(folder.glob("manifest-*.json"))
    return {
        "manifest": [newest],
        "older manifest": [p for p in folder.glob("manifest-*.json") if p != newest],
        "arrays (.arr)": sorted(folder.glob("*.arr")),
        "stored fields (.doc)": sorted(folder.glob("*.doc")),
        "deletions (.npy)": sorted(folder.glob("*.npy")),
        "latest-generation": [folder / mf.RECORD_NAME],
    }


def _arr_region(path: Path, offset: int) -> str:
    """Which part of an array file ``offset`` falls in (for the report)."""
    data = path.read_bytes()
    (hlen,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = -(-(len(MAGIC) + 8 + hlen + 4) // ALIGN) * ALIGN  # + the header's CRC-32
    if offset < start:
        return "header"
    header = json.loads(data[len(MAGIC) + 8 : len(MAGIC) + 8 + hlen])
    for name, e in header["arrays"].items():
        size = int(e["shape"][0]) * int(e["dtype"][2:]) if e["shape"] else 0
        lo = start + e["offset"]
        if lo <= offset < lo + size:
            for prefix, region in (
                ("terms.", "term table"),
                ("ids.", "id table"),
                ("kwv.", "keyword tables"),
                ("stem.", "stem tables"),
                ("post.", "postings"),
                ("pos", "positions"),
                ("store.", "stored-field offsets/crcs"),
            ):
                if name.startswith(prefix):
                    return region
            return "columns"
    return "padding"


def _flip_trials(built: Path, tmp_path: Path, flips: int, seed: int):
    expected = answers(built)
    assert expected[3] == [] and expected[2] > 30
    rng = random.Random(seed)
    report: dict[str, Counter] = {}
    trial = 0
    for kind, paths in _kinds(built).items():
        assert paths, kind
        for _ in range(flips):
            source = rng.choice(paths)
            size = source.stat().st_size
            offset, bit = rng.randrange(size), rng.randrange(8)
            label = kind
            if source.suffix == ".arr":
                label = f"{kind}: {_arr_region(source, offset)}"
            folder = tmp_path / f"t{trial}"
            trial += 1
            shutil.copytree(built, folder)
            target = folder / source.name
            data = bytearray(target.read_bytes())
            data[offset] ^= 1 << bit
            target.write_bytes(bytes(data))
            counts = report.setdefault(label, Counter())
            counts["flips"] += 1
            try:
                got = answers(folder)
            except IndexCorruptError:
                counts["detected"] += 1
            else:
                # check() reading everything must agree: the answers are exact only if the
                # flip landed where nothing reads it (JSON layout, alignment padding...)
                counts["exact" if got[:3] == expected[:3] else "wrong"] += 1
            shutil.rmtree(folder)
    return report


def _print(report: dict[str, Counter]) -> None:
    print("\nfile kind: flips / detected / exact / wrong")
    for label, c in sorted(report.items()):
        print(f"  {label}: {c['flips']} / {c['detected']} / {c['exact']} / {c['wrong']}")


def test_bit_flips_in_every_file_kind_are_detected_or_harmless(built, tmp_path):
    report = _flip_trials(built, tmp_path, FLIPS, seed=20261205)
    _print(report)
    assert {label: c["wrong"] for label, c in report.items() if c["wrong"]} == {}
    by_kind = Counter()
    for label, c in report.items():
        by_kind[label.split(":")[0]] += c["detected"]
    # every kind that holds data anything reads is actually verified
    for kind in ("manifest", "arrays (.arr)", "stored fields (.doc)", "deletions (.npy)"):
        assert by_kind[kind] > FLIPS // 2, (kind, report)


@pytest.mark.slow
def test_bit_flips_long(built, tmp_path):
    report = _flip_trials(built, tmp_path, 400, seed=7)
    _print(report)
    assert {label: c["wrong"] for label, c in report.items() if c["wrong"]} == {}


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("source", ["current", "format-1"])
def test_merge_refuses_corrupted_stored_fields(built, tmp_path, source):
    """optimize must not re-write corrupted text under a fresh checksum (check would then pass)."""
    folder = tmp_path / "idx"
    shutil.copytree(built if source == "current" else COMPAT, folder)
    doc = sorted(folder.glob("*.doc"))[0]
    _flip(doc)
    ix = newsindex.Index.open(folder)
    generation = ix.generation
    with pytest.raises(IndexCorruptError, match=doc.name):
        ix.optimize()
    ix.refresh()
    assert ix.generation == generation
    assert any(doc.name in p for p in ix.check())


def test_deleting_the_newest_manifest_is_not_a_silent_rollback(built, tmp_path):
    folder = tmp_path / "idx"
    shutil.copytree(built, folder)
    gens = mf.generations(folder)
    newest = folder / mf.manifest_name(gens[-1])
    newest.unlink()
    with pytest.raises(IndexCorruptError, match=newest.name):
        newsindex.Index.open(folder)
    with pytest.raises(IndexCorruptError, match=newest.name):
        newsindex.Index.open(folder).writer()
    # the error says how to accept the older commit; doing so opens it
    (folder / mf.RECORD_NAME).unlink()
    with newsindex.Index.open(folder) as ix:
        assert ix.generation == gens[-2]


# -- array-file headers (issue 13.9: a corrupt header raised a raw TokenError) -------------------
_DTYPES = ["<i8", "<i4", "|u1", "<f8", "|b1", "<u4"]
_BAD_DTYPES = ["<i8,", "(2,", "(2,)i4", "O", "V8", "M8", "<i8,<i4", ">i8", "", "i8)", "S3"]


def _array_file(tmp_path: Path, header: bytes, body: bytes = bytes(256), v1: bool = True) -> Path:
    """An array file with ``header`` in format 1, or in format 2 with a valid header checksum
    (the fuzzed JSON then reaches the parser, as a file written with a bad header would)."""
    from newsindex.index.arrays import MAGIC, MAGIC_V1

    path = tmp_path / "x.arr"
    head = (MAGIC_V1 if v1 else MAGIC) + struct.pack("<Q", len(header)) + header
    if not v1:
        head += struct.pack("<I", zlib.crc32(head))
    head += b"\0" * (-len(head) % ALIGN)
    path.write_bytes(head + body)
    return path


def _opens_within_bounds(path: Path) -> None:
    from newsindex.index.arrays import ArrayFile

    try:
        arr = ArrayFile(path)
    except IndexCorruptError:
        return
    size = path.stat().st_size
    for name in arr.names():
        a = arr.unverified(name)
        assert a.dtype.kind in "biuf" and a.nbytes <= size
        try:  # verifying reads only within the file, whatever the header claims
            arr.range(name, 0, 1 << 62) if a.ndim == 1 else arr[name]
        except IndexCorruptError:
            pass


@pytest.mark.parametrize("v1", [True, False])
def test_bad_dtype_strings_are_index_corrupt(tmp_path, v1):
    for spec in _BAD_DTYPES:
        entry = {"dtype": spec, "shape": [2], "offset": 0, "crcs": "AAAAAA=="}
        header = json.dumps({"format": 1 if v1 else 2, "chunk": 16384, "arrays": {"a": entry}})
        from newsindex.index.arrays import ArrayFile

        with pytest.raises(IndexCorruptError, match="array 'a'"):
            ArrayFile(_array_file(tmp_path, header.encode(), v1=v1))


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    given = None

if given is not None:
    _values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats()
        | st.text(max_size=6),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
        max_leaves=8,
    )
    _entry = st.fixed_dictionaries(
        {
            "dtype": st.sampled_from(_DTYPES + _BAD_DTYPES) | st.text(max_size=8) | _values,
            "shape": st.lists(st.integers(-5, 2**40), max_size=3) | _values,
            "offset": st.integers(-(2**65), 2**65) | _values,
            "crcs": st.sampled_from(["", "AAAAAA==", "AAAAAAAAAAA=", "!!", "AAAAAA"]) | _values,
        }
    )

    @settings(max_examples=300, deadline=None)
    @given(
        arrays=st.dictionaries(st.text(max_size=5), _entry | _values, max_size=4),
        top=st.sampled_from(["arrays", "arrayz"]),
        chunk=st.sampled_from([16384, 1, 0, -5, "x", None]),
        v1=st.booleans(),
    )
    def test_any_header_json_is_index_corrupt_or_in_bounds(
        tmp_path_factory, arrays, top, chunk, v1
    ):
        header = json.dumps({"format": 1 if v1 else 2, "chunk": chunk, top: arrays}).encode()
        _opens_within_bounds(_array_file(tmp_path_factory.mktemp("h"), header, v1=v1))

    @settings(max_examples=300, deadline=None)
    @given(header=st.binary(max_size=200), hlen_delta=st.integers(-300, 300))
    def test_any_header_bytes_are_index_corrupt_or_in_bounds(tmp_path_factory, header, hlen_delta):
        from newsindex.index.arrays import MAGIC, MAGIC_V1

        for magic in (MAGIC_V1, MAGIC):
            path = tmp_path_factory.mktemp("b") / "x.arr"
            hlen = max(0, len(header) + hlen_delta)
            path.write_bytes(magic + struct.pack("<Q", hlen) + header + bytes(128))
            _opens_within_bounds(path)


# -- arrays verified as read (chunk checksums): any flip in a slice read is caught -------------
if given is not None:
    _ARRAY_DTYPES = ["<i4", "<i8", "|u1", "<u2", "<f8"]

    @settings(max_examples=150, deadline=None)
    @given(
        data=st.data(),
        sizes=st.lists(st.integers(0, 20_000), min_size=1, max_size=4),
    )
    def test_a_read_slice_is_verified_or_refused(tmp_path_factory, data, sizes):
        """Any bit flipped anywhere in an array file: every read (a slice, an item, items, a
        check for a raw reader, a whole array) gives the written values or an
        IndexCorruptError, and one covering the flip is always the error (reads check only
        the chunks they cover, the first time); bounds past the array are refused."""
        from newsindex.index.arrays import ArrayFile, write_arrays

        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        written = {}
        for i, n in enumerate(sizes):
            dtype = np.dtype(data.draw(st.sampled_from(_ARRAY_DTYPES)))
            written[f"a{i}"] = rng.integers(0, 100, n).astype(dtype)
        path = tmp_path_factory.mktemp("c") / "x.arr"
        write_arrays(path, written)
        raw = bytearray(path.read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= 1 << data.draw(st.integers(0, 7))
        path.write_bytes(bytes(raw))
        try:
            arr = ArrayFile(path)
        except IndexCorruptError:
            return
        for _ in range(6):
            name = data.draw(st.sampled_from(sorted(written)))
            want = written[name]
            s = data.draw(st.integers(0, len(want)))
            e = data.draw(st.integers(s, len(want) + 3))
            how = data.draw(st.sampled_from(["whole", "range", "items", "item", "check"]))
            if how == "item":
                e = s + 1
            view = arr.unverified(name)
            lo = view.ctypes.data - np.frombuffer(arr._mm, np.uint8).ctypes.data
            covers = lo + s * want.itemsize <= at < lo + min(e, len(want)) * want.itemsize
            try:
                if how == "whole":
                    got = arr[name]
                elif how == "range":
                    got = arr.range(name, s, e)
                elif how == "items":
                    got = arr.items(name, s, e).tolist()
                elif how == "item":
                    got = [arr.item(name, s)]
                else:
                    arr.check(name, s, e)
                    got = view[s:e]  # what a raw reader then reads
            except IndexCorruptError as exc:
                assert path.name in str(exc)
                continue
            if how == "whole":
                assert not lo <= at < lo + want.nbytes
                assert np.array_equal(got, want)
                continue
            assert not covers
            assert how == "range" or e <= len(want)  # (only range takes numpy's bounds)
            assert np.array_equal(got, want[s:e])


@pytest.mark.parametrize("seed", range(4))
def test_threads_reading_new_chunks_keep_the_count_left_exact(tmp_path, seed):
    """Threads reading overlapping ranges of an array verify its chunks as they go: the
    count of chunks left to verify (which lets reads of a fully verified array skip the
    checks) stays the number of chunks not marked, so it reaches 0 exactly when every chunk
    is verified, never before; and what every thread read is what was written."""
    import threading

    from newsindex.index.arrays import CHUNK, ArrayFile, write_arrays

    rng = np.random.default_rng(seed)
    want = rng.integers(0, 1 << 40, (CHUNK // 8) * 57 + 13).astype("<i8")
    path = tmp_path / "x.arr"
    write_arrays(path, {"a": want})
    arr = ArrayFile(path)
    slot = arr._slots["a"]
    assert slot.left == len(slot.done) == 58
    # (Reads end before the last chunks: those stay for the whole-array check below.)
    starts = rng.integers(0, 50 * CHUNK // 8, (8, 40))
    widths = rng.integers(1, 3 * CHUNK // 8, (8, 40))
    bad: list[str] = []

    def read(t: int) -> None:
        for s, w in zip(starts[t].tolist(), widths[t].tolist()):
            e = min(s + w, len(want))
            if not np.array_equal(arr.range("a", s, e), want[s:e]):
                bad.append(f"{s}-{e}")

    threads = [threading.Thread(target=read, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
    assert slot.left == slot.done.count(0)
    assert 0 < slot.left < 58
    arr.check("a", 0, len(want))
    assert slot.left == 0 == slot.done.count(0)


@pytest.mark.parametrize("seed", range(3))
def test_the_checksum_is_zlibs_crc32_whatever_computes_it(tmp_path, seed):
    """Index files record zlib's CRC-32 (old ones too): index/checksum.py's, from zlib-ng
    where installed, gives the same value for any bytes, in one call or running on, from
    bytes, memoryview slices and an mmap."""
    import mmap

    from newsindex.index import checksum

    rng = np.random.default_rng(seed)
    for size in [0, 1, 7, 64, 4095, 16384, 16385, 100_003, 1 << 20]:
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert checksum.crc32(data) == zlib.crc32(data)
        cut = size // 3
        running = checksum.crc32(data[cut:], checksum.crc32(data[:cut]))
        assert running == zlib.crc32(data) == zlib.crc32(data[cut:], zlib.crc32(data[:cut]))
        view = memoryview(data)[cut : size - cut]
        assert checksum.crc32(view) == zlib.crc32(view)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert checksum.crc32(mm) == zlib.crc32(data)


# -- spilled arrays (a merge's largest) write the file in-memory ones write ---------------
if given is not None:

    @settings(max_examples=60, deadline=None)
    @given(
        sizes=st.lists(st.integers(0, 3 * 16384 + 5), min_size=1, max_size=4),
        spilled=st.lists(st.booleans(), min_size=4, max_size=4),
        parts=st.integers(1, 5),
        piece_chunks=st.integers(1, 3),
        seed=st.integers(0, 2**32 - 1),
    )
    def test_spilled_arrays_write_the_file_in_memory_arrays_write(
        tmp_path_factory, sizes, spilled, parts, piece_chunks, seed
    ):
        """A merge's largest arrays go to scratch files (Spill) a part at a time and are copied
        into the segment's file a piece at a time: the file must be byte for byte the one the
        same arrays in memory give (headers, chunk checksums, whole-file CRC), and the scratch
        files gone once closed."""
        from newsindex.index.arrays import CHUNK, ArrayFile, Spill, write_arrays

        rng = np.random.default_rng(seed)
        folder = tmp_path_factory.mktemp("spill")
        arrays = {}
        for i, n in enumerate(sizes):
            row = (3,) if i == 1 else ()
            dtype = np.dtype(_ARRAY_DTYPES[i % len(_ARRAY_DTYPES)])
            arrays[f"a{i}"] = rng.integers(0, 100, (n, *row)).astype(dtype)
        mixed: dict = {}
        spills = []
        old_piece = Spill.PIECE
        Spill.PIECE = piece_chunks * CHUNK
        try:
            for (name, arr), spill in zip(arrays.items(), spilled):
                if not spill:
                    mixed[name] = arr
                    continue
                s = Spill(folder / f"{name}.spill", arr.dtype, arr.shape[1:])
                spills.append(s)
                for part in np.array_split(arr, parts):
                    s.append(part)
                mixed[name] = s
            a = write_arrays(folder / "mixed.arr", mixed)
        finally:
            Spill.PIECE = old_piece
            for s in spills:
                s.close()
        b = write_arrays(folder / "plain.arr", arrays)
        assert a == b
        assert (folder / "mixed.arr").read_bytes() == (folder / "plain.arr").read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == ["mixed.arr", "plain.arr"]
        got = ArrayFile(folder / "mixed.arr")
        for name, arr in arrays.items():
            assert np.array_equal(got[name], arr)
