"""Segments dropped by a refresh release their descriptors and mappings once nothing uses them."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

import newsindex


def _open_files(folder: Path) -> tuple[set[str], set[str]]:
    """Names of files in ``folder`` this process holds open, and those it has mapped."""
    prefix = str(folder.resolve()) + os.sep
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(prefix):
            fds.add(target[len(prefix) :].removesuffix(" (deleted)"))
    maps = set()
    with open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith(prefix):
                maps.add(parts[5].rstrip("\n")[len(prefix) :].removesuffix(" (deleted)"))
    return fds, maps


def _live_files(ix: newsindex.Index) -> tuple[set[str], set[str]]:
    names = [s.name for s in ix._searcher.segments]
    return {f"{n}.doc" for n in names}, {f"{n}.arr" for n in names}


@pytest.fixture
def no_cyclic_gc():
    """Files must go when their last user does, not when the cyclic collector happens to run:
    with it off, a reference cycle that holds a segment shows up as a leak every time."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_descriptors_and_maps_track_the_snapshot_over_hundreds_of_commits(
    tmp_path, sample_docs, no_cyclic_gc
):
    folder = tmp_path / "idx"
    ix = newsindex.Index.create(folder)
    other = newsindex.Index.open(folder)  # a second reader that only refreshes
    peak = 0
    for i in range(300):
        with ix.writer() as w:
            w.add(sample_docs[i % len(sample_docs)])
            if i % 7 == 3:
                w.delete(sample_docs[(i - 3) % len(sample_docs)]["id"])
        other.refresh()
        assert ix.search("oil", limit=1).total >= 0
        fds, maps = _open_files(folder)
        docs, arrs = _live_files(ix)
        assert other.generation == ix.generation
        # exactly the snapshot's files: a descriptor per stored-fields file, a mapping per
        # array file (whose mmap keeps a descriptor of its own)
        assert fds == docs | arrs, (i, sorted(fds - docs - arrs))
        assert maps == arrs, (i, sorted(maps - arrs))
        peak = max(peak, len(fds) + len(maps))
    assert peak <= 2 * 2 * 40
    ix.close()
    other.close()
    del ix, other


def test_results_of_an_older_snapshot_keep_their_segments_until_dropped(tmp_path, sample_docs):
    folder = tmp_path / "idx"
    ix = newsindex.Index.create(folder)
    for start in (0, 50):
        with ix.writer() as w:
            for d in sample_docs[start : start + 50]:
                w.add(d)
    old = ix.search("oil", limit=5)
    old_names = {s.name for s in ix._searcher.segments}
    ix.optimize()  # one new segment
    for d in sample_docs[100:102]:  # two more commits: garbage collection unlinks the old files
        with ix.writer() as w:
            w.add(d)
    assert not any((folder / f"{n}.doc").exists() for n in old_names)
    assert {s.name for s in ix._searcher.segments}.isdisjoint(old_names)
    # the old page still loads its articles from the unlinked files
    assert all(h.article.id == h.id for h in old)
    fds, _ = _open_files(folder)
    assert any(n.removesuffix(".doc") in old_names for n in fds)
    del old
    fds, maps = _open_files(folder)
    docs, arrs = _live_files(ix)
    assert (fds, maps) == (docs | arrs, arrs)
    ix.close()
