"""Positions in a byte each with escapes (index/positions.py): every term's positions, and
every prefix of them, decode to the plain array (codec level, values of every width);
phrase, proximity, explain and snippet answers on segments written the new way equal those
on the same segments written the old way (plain ``pos``); and escapes that do not add up,
with valid checksums, are an IndexCorruptError naming the segment (kernels on and off) or
a problem for ``check``, never a read out of bounds."""

from __future__ import annotations

import dataclasses
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import compiled
from newsindex.errors import IndexCorruptError
from newsindex.index import manifest as mf
from newsindex.index import positions as positions_format
from newsindex.index.arrays import ArrayFile, write_arrays
from newsindex.index.check import check_index
from newsindex.index.segment import Segment
from tests.crafting import craft

_EDGES = [0, 1, 254, 255, 256, 511, 65_535, 65_536, (1 << 24) - 1]


@st.composite
def term_positions(draw):
    """Per term, its positions (at least one each): small ones, and values at every edge
    of the byte, of uint16 and of the keys' 24 bits."""
    top = draw(st.sampled_from([10, 254, 255, 300, 70_000, 1 << 24]))
    value = st.one_of(st.integers(0, top - 1), st.sampled_from([v for v in _EDGES if v < top]))
    return draw(st.lists(st.lists(value, min_size=1, max_size=40), max_size=12))


@settings(max_examples=150, deadline=None)
@given(terms=term_positions(), data=st.data())
def test_every_term_and_prefix_decodes_to_the_plain_positions(tmp_path_factory, terms, data):
    flat = [p for t in terms for p in t]
    plain = np.array(flat, dtype=np.uint32 if flat and max(flat) > 65_535 else np.uint16)
    offs = np.concatenate(([0], np.cumsum([len(t) for t in terms]))).astype(np.int64)
    coded = positions_format.encode(plain, offs)
    assert coded["pos.u8"].dtype == np.uint8 and len(coded["pos.u8"]) == len(plain)
    # Only what does not fit a byte is escaped, in the narrowest dtype that holds it.
    assert coded["pos.esc"].tolist() == [p for p in flat if p >= positions_format.ESCAPE]
    assert coded["pos.esc"].dtype == (np.uint32 if flat and max(flat) > 65_535 else np.uint16)
    assert positions_format.decode(coded["pos.u8"], coded["pos.esc"]).tolist() == flat
    path = tmp_path_factory.mktemp("codec") / "a.arr"
    write_arrays(path, {"pos.offs": offs, **coded})
    arr = ArrayFile(path)
    reader = positions_format.Positions(arr)
    assert reader.whole().tolist() == flat
    assert positions_format.problems(arr, offs) == []
    for tid, want in enumerate(terms):
        start = int(offs[tid])
        count = data.draw(st.integers(1, len(want)))
        assert reader.read(tid, start, count).tolist() == want[:count]
        assert reader.read(tid, start, len(want)).tolist() == want
        end = data.draw(st.integers(tid + 1, len(terms)))
        assert reader.span(tid, start, int(offs[end])).tolist() == flat[start : int(offs[end])]
    assert reader.span(0, 0, 0).tolist() == []


@settings(max_examples=150, deadline=None)
@given(terms=term_positions(), data=st.data())
def test_encoding_in_runs_of_terms_equals_encoding_at_once(terms, data):
    """A merge encodes a step's terms at a time: any cut into runs gives the same arrays, and
    each term's escape offset counts the escapes before it (counted here from the values)."""
    flat = [p for t in terms for p in t]
    plain = np.array(flat, dtype=np.uint32 if flat and max(flat) > 65_535 else np.uint16)
    offs = np.concatenate(([0], np.cumsum([len(t) for t in terms]))).astype(np.int64)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(terms)), max_size=6))))
    encoder = positions_format.Encoder(offs)
    for t0, t1 in zip([0, *cuts], [*cuts, len(terms)]):
        encoder.add(t0, t1, plain[offs[t0] : offs[t1]])
    runs = encoder.finish()
    whole = positions_format.encode(plain, offs)
    assert runs.keys() == whole.keys()
    for name in whole:
        assert runs[name].dtype == whole[name].dtype and runs[name].tolist() == whole[name].tolist()
    before = [sum(p >= positions_format.ESCAPE for p in flat[: int(o)]) for o in offs]
    assert runs["pos.escoffs"].tolist() == before


def test_runs_out_of_order_or_missing_are_refused():
    offs = np.array([0, 2, 3], dtype=np.int64)
    pos = np.array([1, 300, 2], dtype=np.uint16)
    encoder = positions_format.Encoder(offs)
    with pytest.raises(ValueError):
        encoder.add(1, 2, pos[2:])  # term 0 skipped
    encoder.add(0, 1, pos[:2])
    with pytest.raises(ValueError):
        encoder.finish()  # term 1 missing


def test_no_positions_encode_to_empty_arrays(tmp_path):
    coded = positions_format.encode(np.zeros(0, np.uint16), np.zeros(1, np.int64))
    assert [len(a) for a in coded.values()] == [0, 0, 1]
    write_arrays(tmp_path / "a.arr", {"pos.offs": np.zeros(1, np.int64), **coded})
    assert positions_format.Positions(ArrayFile(tmp_path / "a.arr")).whole().tolist() == []


_WORDS = "oil opec crude price barrel saudi output quota cut rise fall market".split()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Stories long enough that many positions need escapes (bodies of up to 900 words,
    some over 65,536 tokens would be too slow here: the codec test covers those), in
    several segments, one with a deletion."""
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("long") / "idx"
    ix = newsindex.Index.create(folder)
    for batch in range(3):
        with ix.writer() as w:
            for i in range(40):
                n = rng.choice([5, 60, 300, 900])
                w.add(
                    {
                        "id": f"s{batch}-{i}",
                        "title": " ".join(rng.choices(_WORDS[:6], k=rng.randint(2, 8))),
                        "body": " ".join(rng.choices(_WORDS, k=n)),
                        "date": f"2016-0{batch + 1}-1{i % 9}",
                    }
                )
    with ix.writer() as w:  # a merge of two of them, and a deletion in the last
        w.delete("s2-3")
    ix.close()
    return folder


def _as_old_positions(folder: Path, out: Path) -> None:
    """A copy of the index at ``folder`` whose segments hold plain ``pos`` (as segments
    written before the escapes did), every checksum valid."""
    shutil.copytree(folder, out)
    manifest = mf.read_latest(out)
    entries = []
    for entry in manifest.segments:
        path = out / f"{entry.name}.arr"
        seg = Segment(out, entry)
        arrays = {name: np.array(seg._arrays[name]) for name in seg._arrays.names()}
        seg.close()
        assert "pos" not in arrays
        plain = positions_format.decode(arrays.pop("pos.u8"), arrays.pop("pos.esc"))
        del arrays["pos.escoffs"]
        arrays["pos"] = plain
        path.unlink()
        info = write_arrays(path, arrays)
        files = {**entry.files, path.name: mf.FileInfo(info["size"], info["crc32"])}
        entries.append(dataclasses.replace(entry, files=files))
    generation = manifest.generation + 1
    mf.write(out, dataclasses.replace(manifest, generation=generation, segments=tuple(entries)))
    mf.record_generation(out, generation)


_QUERIES = [
    '"oil price"',
    '"crude oil price"',
    '"price oil"~3',
    'title:"opec crude"',
    'body:"saudi output"~1',
    '"oil oil"~2',
    '"market market market"',
    "oil price barrel",
    '"quota cut" rise',
]


def _answers(folder: Path) -> list:
    out = []
    ix = newsindex.Index.open(folder)
    try:
        for q in _QUERIES:
            for scoring in (None, newsindex.Scoring(proximity=0.5)):
                res = ix.search(q, limit=30, scoring=scoring)
                hits = [(h.id, h.score) for h in res.hits]
                out.append((q, res.total, hits, ix.count(q)))
                if res.hits:
                    top = res.hits[0]
                    out.append((str(ix.explain(q, top.id, scoring=scoring)), top.snippet()))
    finally:
        ix.close()
    return out


def test_the_long_stories_hold_escaped_and_plain_positions(built):
    ix = newsindex.Index.open(built)
    seg = max(ix._searcher.segments, key=lambda s: s.ndocs)
    assert len(seg.pos) // 4 < len(seg._arrays["pos.esc"]) < len(seg.pos) // 2
    ix.close()


@pytest.mark.parametrize("kernels", [True, False])
def test_answers_equal_those_of_plain_positions(built, tmp_path, kernels):
    old = tmp_path / "old"
    _as_old_positions(built, old)
    if kernels:
        assert _answers(built) == _answers(old)
    else:
        with compiled.disabled():
            assert _answers(built) == _answers(old)
    assert check_index(old) == [] and check_index(built) == []


def _craft(folder: Path, out: Path, change) -> str:
    """A copy with the largest segment's arrays ``change``d, checksums valid; its name."""
    return craft(folder, out, change, largest=True)


def _one_escape_too_many(arrays, seg):
    # A small position's byte made an escape: its term's escapes run out one early.
    u8 = arrays["pos.u8"]
    u8[int(np.flatnonzero(u8 != positions_format.ESCAPE)[-1])] = positions_format.ESCAPE


def _escape_offsets_shifted(arrays, seg):
    arrays["pos.escoffs"][1:] += 1


def _escape_offsets_past_the_end(arrays, seg):
    arrays["pos.escoffs"][-1] += 1000


@pytest.mark.parametrize(
    "change", [_one_escape_too_many, _escape_offsets_shifted, _escape_offsets_past_the_end]
)
@pytest.mark.parametrize("kernels", [True, False])
def test_escapes_that_do_not_add_up_are_index_corrupt(built, tmp_path, change, kernels):
    name = _craft(built, tmp_path / "bad", change)
    assert any(name in p for p in check_index(tmp_path / "bad"))
    ix = newsindex.Index.open(tmp_path / "bad")
    try:
        with pytest.raises(IndexCorruptError, match=name):
            if kernels:
                for q in _QUERIES:
                    ix.search(q, limit=10)
            else:
                with compiled.disabled():
                    for q in _QUERIES:
                        ix.search(q, limit=10)
    finally:
        ix.close()


@settings(max_examples=150, deadline=None)
@given(terms=term_positions(), data=st.data())
def test_check_finds_the_same_a_run_of_terms_at_a_time(tmp_path_factory, terms, data):
    """``problems`` reads the bytes a run of terms at a time (its memory does not grow with
    the segment's): whatever the runs' size, and whatever was damaged, it finds what
    reading them all at once finds."""
    flat = [p for t in terms for p in t]
    plain = np.array(flat, dtype=np.uint32)
    offs = np.concatenate(([0], np.cumsum([len(t) for t in terms]))).astype(np.int64)
    arrays = {"pos.offs": offs, **positions_format.encode(plain, offs)}
    damage = data.draw(st.sampled_from(["none", "byte", "escoffs", "offs"]))
    u8 = arrays["pos.u8"]
    if damage == "byte" and len(u8):
        at = data.draw(st.integers(0, len(u8) - 1))
        u8[at] = positions_format.ESCAPE if u8[at] != positions_format.ESCAPE else 7
    elif damage == "escoffs":
        at = data.draw(st.integers(0, len(arrays["pos.escoffs"]) - 1))
        arrays["pos.escoffs"][at] += data.draw(st.sampled_from([1, 1000]))
    elif damage == "offs" and len(offs) > 2:
        at = data.draw(st.integers(1, len(offs) - 2))
        offs[at] = data.draw(st.integers(0, int(offs[-1])))
    path = tmp_path_factory.mktemp("runs") / "a.arr"
    write_arrays(path, arrays)
    arr = ArrayFile(path)
    step = positions_format._STEP
    try:
        positions_format._STEP = 1 << 40
        whole = positions_format.problems(arr, offs)
        positions_format._STEP = data.draw(st.integers(1, 50))
        assert positions_format.problems(arr, offs) == whole
    finally:
        positions_format._STEP = step
    if damage == "none":
        assert whole == []
