"""Issue 7: readers searching while a writer commits never fail and never see a mix of commits.

A writer process makes commit g = generation g: it adds the articles ``g<g>-*`` (bodies holding
``common batch<g>``), rewrites ``g<g-1>-0`` to hold ``replaced<g>``, deletes batch g-3 and every
4th commit merges everything (so old segment files are collected while readers still use them).
Three reader processes search in a loop, two refreshing one ``Index`` and one opening a new
``Index`` each time; for the generation they see they check the document count, the count of
``common``, the exact hits of a ``batch<b>`` query and the stored bodies behind them, and the
``replaced<j>`` counts (see ``faults_helpers.conc_*``).
"""

from __future__ import annotations

import json
import time

from faults_helpers import spawn

from newsindex import Index

COMMITS = 20
READERS = ("refresh", "refresh", "reopen")


def test_readers_see_exactly_one_commit_while_a_writer_commits(tmp_path):
    folder = tmp_path / "idx"
    Index.create(folder).close()
    stop = tmp_path / "stop"
    started = time.monotonic()
    readers = [spawn("conc-reader", folder, mode, stop, seed) for seed, mode in enumerate(READERS)]
    writer = None
    try:
        for r in readers:
            assert r.stdout.readline() == "READY\n", r.stderr.read()
        writer = spawn("conc-writer", folder, COMMITS)
        w_out, w_err = writer.communicate(timeout=60)
        assert writer.returncode == 0, w_err
        assert w_out.splitlines()[-1] == f"COMMITTED {COMMITS}"
        time.sleep(0.3)  # let the readers check the last generation too
        stop.touch()
        reports = []
        for r in readers:
            out, err = r.communicate(timeout=30)
            assert r.returncode == 0, err
            reports.append(json.loads(out.splitlines()[-1]))
    finally:
        stop.touch()
        for p in readers + ([writer] if writer else []):
            if p.poll() is None:
                p.kill()
                p.wait()
    elapsed = time.monotonic() - started
    for mode, rep in zip(READERS, reports):
        assert rep["errors"] == [], f"{mode} reader:\n" + "\n".join(rep["errors"][:5])
        assert rep["checks"] >= 20, rep
        assert len(rep["gens"]) >= 5, f"{mode} reader saw too few generations: {rep['gens']}"
    assert any(COMMITS in rep["gens"] for rep in reports)
    print(
        f"\n{COMMITS} commits, readers: "
        + ", ".join(
            f"{m}: {r['checks']} checks over {len(r['gens'])} generations"
            for m, r in zip(READERS, reports)
        )
        + f"; {elapsed:.1f}s"
    )
    ix = Index.open(folder)
    assert ix.generation == COMMITS and ix.check() == []


# -- the races, made deterministic --------------------------------------------------------------
# Two commits landing between a reader's listing of the manifests and its reading of the newest
# one make garbage collection (which keeps 2 generations) remove what the reader is about to read.
def _commit(ix, aid, optimize=False):
    with ix.writer() as w:
        w.add({"id": aid, "title": f"article {aid}", "body": "common words"})
        if optimize:
            w.optimize()


def _two_commits_after_first_read(monkeypatch, writer_ix, name):
    """Patch ``manifest.<name>`` so that two commits (merging) land right after its first call."""
    from newsindex.index import manifest as mf

    real = getattr(mf, name)
    fired = []

    def racing(*args, **kwargs):
        if fired:
            return real(*args, **kwargs)
        fired.append(True)
        if name == "read":  # between the listing and the read
            _commit(writer_ix, "c", optimize=True)
            _commit(writer_ix, "d", optimize=True)
            return real(*args, **kwargs)
        out = real(*args, **kwargs)  # read, then the commits
        _commit(writer_ix, "c", optimize=True)
        _commit(writer_ix, "d", optimize=True)
        return out

    monkeypatch.setattr(mf, name, racing)
    return fired


def test_refresh_retries_when_its_manifest_is_collected_under_it(tmp_path, monkeypatch):
    folder = tmp_path / "idx"
    writer_ix = Index.create(folder)
    _commit(writer_ix, "a")
    reader = Index.open(folder)
    _commit(writer_ix, "b")
    fired = _two_commits_after_first_read(monkeypatch, writer_ix, "read")
    assert reader.refresh() is True
    assert fired and reader.generation == 4 and reader.doc_count == 4


def test_refresh_retries_when_segment_files_are_collected_under_it(tmp_path, monkeypatch):
    """The case refresh does handle: the manifest read, its segment files then collected."""
    folder = tmp_path / "idx"
    writer_ix = Index.create(folder)
    _commit(writer_ix, "a")
    reader = Index.open(folder)
    _commit(writer_ix, "b")
    fired = _two_commits_after_first_read(monkeypatch, writer_ix, "read_latest")
    assert reader.refresh() is True
    assert fired and reader.generation == 4 and reader.doc_count == 4
    assert {h.id for h in reader.search("common", limit=10).hits} == {"a", "b", "c", "d"}


def test_check_during_commits_reports_no_false_corruption(tmp_path, monkeypatch):
    from newsindex.index.check import check_index

    folder = tmp_path / "idx"
    writer_ix = Index.create(folder)
    _commit(writer_ix, "a")
    _commit(writer_ix, "b")
    fired = _two_commits_after_first_read(monkeypatch, writer_ix, "read_latest")
    assert check_index(folder) == []
    assert fired
