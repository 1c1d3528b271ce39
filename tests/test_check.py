"""Corruption is detected and named: truncation, bit flips, missing files, newer formats."""

import json
import subprocess
import sys

import pytest

from newsindex import Index, IndexCorruptError, IndexFormatError
from newsindex.index import manifest as mf


@pytest.fixture
def built(tmp_path, sample_docs):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for d in sample_docs[:200]:
            w.add(d)
    with ix.writer() as w:
        w.delete(sample_docs[0]["id"])
    return tmp_path / "idx"


def _files(folder, suffix):
    return sorted(p for p in folder.iterdir() if p.name.endswith(suffix) or suffix in p.name)


def check(folder):
    return subprocess.run(
        [sys.executable, "-m", "newsindex", "check", str(folder)], capture_output=True, text=True
    )


def test_a_healthy_index_checks_clean(built):
    assert Index.open(built).check() == []
    out = check(built)
    assert out.returncode == 0 and "ok" in out.stdout


@pytest.mark.parametrize("suffix", [".arr", ".doc", ".npy"])
def test_truncation_is_named_on_open_and_by_check(built, suffix):
    path = _files(built, suffix)[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match=path.name):
        Index.open(built)
    out = check(built)
    assert out.returncode == 1 and path.name in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("suffix", [".arr", ".doc", ".npy"])
def test_bit_flips_fail_the_checksum(built, suffix):
    path = _files(built, suffix)[0]
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x10
    path.write_bytes(bytes(data))
    problems = check_problems(built)
    assert any(path.name in p and "checksum" in p for p in problems)
    if suffix == ".npy":  # verified on open
        with pytest.raises(IndexCorruptError, match=path.name):
            Index(built)
    elif suffix == ".arr":  # verified as it is read: reading every array meets the flip
        ix = Index(built)
        with pytest.raises(IndexCorruptError, match=path.name):
            for seg in ix._snap.searcher.segments:
                for name in seg._arrays.names():
                    seg._arrays[name]


def check_problems(folder):
    from newsindex.index.check import check_index

    return check_index(folder)


@pytest.mark.parametrize("suffix", [".arr", ".doc"])
def test_missing_files_are_named(built, suffix):
    path = _files(built, suffix)[0]
    path.unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        Index.open(built)
    assert any("missing" in p for p in check_problems(built))


def test_a_newer_format_is_refused_with_both_versions(built):
    manifest = max(built.glob("manifest-*.json"))
    data = json.loads(manifest.read_text())
    data["format"] = 99
    manifest.write_bytes(mf.encode(data))  # as a newer version would write it: checksum valid
    with pytest.raises(IndexFormatError, match=f"99.*{mf.FORMAT_VERSION}"):
        Index.open(built)


def test_a_garbled_manifest_is_named(built):
    manifest = max(built.glob("manifest-*.json"))
    manifest.write_text("{not json")
    with pytest.raises(IndexCorruptError, match=manifest.name):
        Index.open(built)


def test_a_checks_memory_does_not_grow_with_the_postings(tmp_path, monkeypatch):
    """``newsindex check`` over a segment of a million stories held 2.7 GB (an int64 array
    per posting, several at once; every position decoded to be counted): it reads postings,
    frequencies and positions a run at a time, so its peak is a run's, not the segment's."""
    import random
    import tracemalloc

    from newsindex.index import check as check_module
    from newsindex.index import docids
    from newsindex.index import positions as positions_format
    from newsindex.index.check import check_index

    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for i in range(4000):
            w.add({"id": f"d{i}", "body": " ".join(rng.choices(words, k=40))})
    (entry,) = mf.read_latest(tmp_path / "idx").segments
    ix.close()
    for module, name in (
        (docids, "_STEP"),
        (positions_format, "_STEP"),
        (check_module, "_STEP_POSTINGS"),
    ):
        monkeypatch.setattr(module, name, 1024)
    tracemalloc.start()
    try:
        assert check_index(tmp_path / "idx") == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert entry.postings > 100_000
    # One int64 a posting would be 8 bytes each; the file reads' 1 MiB chunks and a block of
    # stored stories come on top, whatever the segment's size.
    assert peak < 4 * entry.postings + (2 << 20), (peak, entry.postings)
