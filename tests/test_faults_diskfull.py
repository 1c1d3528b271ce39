"""Issue 7: a commit that runs out of disk space fails clearly and loses nothing.

Simulated: one of the writes of a commit raises ``OSError(ENOSPC)`` (the stored fields, the
arrays, a deletions file, the manifest, an fsync, a merge, a flush inside ``add``). Real: a
2 MB tmpfs, when this process may mount one (root in a container that allows it).

What must hold: the error is an OSError whose message says "No space left on device"; the last
commit is intact (same generation, documents, search results; check clean); the lock is
released (a new writer commits); the failed commit leaves no file behind (the disk is full:
its debris is exactly what must go).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import string
import subprocess
import sys

import pytest
from faults_helpers import child_env, load_sample, proxy_open, stray_files

import newsindex.index.arrays as arrays
import newsindex.index.docstore as docstore
import newsindex.index.manifest as manifest
import newsindex.index.writer as writer_mod
from newsindex import Index, cli

DOCS = load_sample()
QUERIES = ["oil prices", "bank rate", "title:gold", '"trade deficit"', "coffee -brazil"]


def enospc(*_):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class Fault:
    """Raise ENOSPC from the ``nth`` write (counting from 1) of the files ``module`` opens."""

    def __init__(self, nth=1, only_file=None):
        self.nth, self.only_file, self.writes, self.opens = nth, only_file, 0, 0

    def on_write(self, real, data):
        if self.only_file is not None and self.opens != self.only_file:
            return
        self.writes += 1
        if self.writes == self.nth:
            real.write(data[: len(data) // 2])  # a full disk takes part of a write
            real.flush()
            enospc()

    def opener(self):
        fake = proxy_open(self.on_write)

        def counting_open(file, mode="r", *args, **kwargs):
            if "w" in mode:
                self.opens += 1
            return fake(file, mode, *args, **kwargs)

        return counting_open


def _fsync_fault(monkeypatch, suffix):
    real = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(suffix):
            enospc()
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def inject(monkeypatch, point):
    """Arrange for the commit's ``point`` to hit ENOSPC; return the writer's options."""
    if point == "stored-fields":
        monkeypatch.setattr(docstore, "open", Fault(2).opener(), raising=False)
    elif point == "arrays":
        monkeypatch.setattr(arrays, "open", Fault(5).opener(), raising=False)
    elif point == "arrays-fsync":
        _fsync_fault(monkeypatch, ".arr")
    elif point == "deletions":
        monkeypatch.setattr(writer_mod, "open", Fault(1).opener(), raising=False)
    elif point == "manifest":
        monkeypatch.setattr(manifest, "open", Fault(1).opener(), raising=False)
    elif point == "manifest-fsync":
        _fsync_fault(monkeypatch, ".json.tmp")
    elif point == "merge":  # the 1st arrays file is the flush, the 2nd the merged segment
        monkeypatch.setattr(arrays, "open", Fault(3, only_file=2).opener(), raising=False)
    elif point == "second-flush":  # add() flushes every 40 articles: the 2nd flush fails
        monkeypatch.setattr(arrays, "open", Fault(3, only_file=2).opener(), raising=False)
        return {"buffer_docs": 40}
    else:
        raise AssertionError(point)
    return {}


@pytest.fixture
def base(tmp_path):
    """An index with two commits (three segments, deletions) and what it answers."""
    folder = tmp_path / "idx"
    ix = Index.create(folder)
    with ix.writer(buffer_docs=150) as w:
        for d in DOCS[:300]:
            w.add(d)
    with ix.writer() as w:
        for d in DOCS[300:400]:
            w.add(d)
        for d in DOCS[:10]:
            w.delete(d["id"])
    return folder, snapshot(ix)


def snapshot(ix):
    return {
        "generation": ix.generation,
        "docs": ix.doc_count,
        "results": {
            q: [(h.id, round(h.score, 6)) for h in ix.search(q, limit=20).hits] for q in QUERIES
        },
        "files": sorted(os.listdir(ix.path)),
    }


def failing_commit(ix, point, options):
    w = ix.writer(**options)
    with pytest.raises(OSError) as err:
        with w:  # an error inside the block rolls back
            for d in DOCS[400:500]:
                w.add(d)
            for d in DOCS[20:30]:  # committed articles: the commit writes deletions files
                w.delete(d["id"])
            if point == "merge":
                w.optimize()
    return err.value


POINTS = [
    "stored-fields",
    "arrays",
    "arrays-fsync",
    "deletions",
    "manifest",
    "manifest-fsync",
    "merge",
    "second-flush",
]


@pytest.mark.parametrize("point", POINTS)
def test_enospc_fails_clearly_and_keeps_the_last_commit(base, monkeypatch, point):
    folder, before = base
    ix = Index.open(folder)
    options = inject(monkeypatch, point)
    exc = failing_commit(ix, point, options)
    monkeypatch.undo()
    assert exc.errno == errno.ENOSPC and "No space left on device" in str(exc)
    for view in (ix, Index.open(folder)):
        now = snapshot(view)
        assert {k: now[k] for k in ("generation", "docs", "results")} == {
            k: before[k] for k in ("generation", "docs", "results")
        }
    assert ix.check() == []
    # not one of the failed commit's changes shows: its deletions nor its additions
    assert DOCS[20]["id"] in ix and DOCS[450]["id"] not in ix and DOCS[0]["id"] not in ix
    # the lock was released: a new writer commits what failed before
    with ix.writer() as w:
        for d in DOCS[400:500]:
            w.add(d)
    assert ix.doc_count == before["docs"] + 100 and ix.check() == []


# A failed commit leaves no debris: partial segments, deletion files and the manifest temp
# file are removed by the rollback.
@pytest.mark.parametrize("point", POINTS)
def test_enospc_leaves_no_files_behind(base, monkeypatch, point):
    folder, before = base
    ix = Index.open(folder)
    options = inject(monkeypatch, point)
    failing_commit(ix, point, options)
    monkeypatch.undo()
    assert stray_files(folder) == []
    assert sorted(os.listdir(folder)) == before["files"]


def test_cli_index_on_a_full_disk_reports_the_error(base, monkeypatch, tmp_path, capsys):
    folder, before = base
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(d) + "\n" for d in DOCS[400:500]))
    monkeypatch.setattr(arrays, "open", Fault(1).opener(), raising=False)
    rc = cli.main(["index", str(folder), str(feed)])
    err = capsys.readouterr().err
    assert rc == 1 and "No space left on device" in err
    assert Index.open(folder).doc_count == before["docs"]


# -- a real full disk ---------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a real disk-full test needs root to mount a 2 MB tmpfs")
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    yield mnt
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _big_body() -> str:
    """1 MB of random 7-letter words: 130,000 distinct terms, compresses to 0.6 MB."""
    rng = random.Random(3)
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(130_000))


def _fill_and_fail(folder):
    """Commit 60 articles, then try 140 more and 1 MB of text: returns (snapshot, error)."""
    ix = Index.create(folder)
    with ix.writer() as w:
        for d in DOCS[:60]:
            w.add(d)
    before = snapshot(ix)
    w = ix.writer()
    with pytest.raises(OSError) as err:
        with w:
            for d in DOCS[60:200]:
                w.add(d)
            w.add({"id": "big", "body": _big_body()})
            w.delete(DOCS[0]["id"])
    return ix, before, err.value


def test_real_disk_full_keeps_the_last_commit(tiny_disk):
    folder = tiny_disk / "idx"
    ix, before, exc = _fill_and_fail(folder)
    assert exc.errno == errno.ENOSPC and "No space left on device" in str(exc)
    now = snapshot(Index.open(folder))
    assert {k: now[k] for k in ("generation", "docs", "results")} == {
        k: before[k] for k in ("generation", "docs", "results")
    }
    assert ix.check() == []
    out = subprocess.run(
        [sys.executable, "-m", "newsindex", "check", str(folder)],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ix.writer().rollback()  # the lock is free
    ix.close()


def test_real_disk_full_rollback_frees_the_space(tiny_disk):
    folder = tiny_disk / "idx"
    ix, before, _ = _fill_and_fail(folder)
    assert stray_files(folder) == []
    assert sorted(os.listdir(folder)) == before["files"]
    with ix.writer() as w:
        w.add({"id": "small", "title": "one small article"})
    assert ix.doc_count == before["docs"] + 1
    ix.close()


def test_real_disk_full_cli_says_no_space(tiny_disk, tmp_path):
    folder = tiny_disk / "idx"
    Index.create(folder).close()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(json.dumps(d) + "\n" for d in DOCS[:100])
        + json.dumps({"id": "big", "body": _big_body()})
        + "\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "newsindex", "index", str(folder), str(feed)],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert out.returncode == 1
    assert "No space left on device" in out.stderr and "Traceback" not in out.stderr
    assert Index.open(folder).doc_count == 0
