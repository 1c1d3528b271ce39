"""Issue 7, "loses no data": a writer killed with SIGKILL at any point loses no commit.

A child process indexes the deterministic batches of ``faults_helpers.plan`` (one commit per
batch, small flush buffers so commits hold several segments, sometimes an optimize) and prints
``COMMITTED <batch> ...`` after each commit returns. The parent kills it, then checks that the
index opens on exactly the last printed commit, or on the next one when the kill landed
between the manifest rename and the print, never anything else; that ``newsindex check``
passes; that a new writer gets the lock at once and commits; and that this commit leaves no
debris of the killed one behind.

``NEWSINDEX_FAULT_TRIALS`` sets the number of random-delay trials (default 5); the ``slow``
variant (``pytest -m slow``) runs ``NEWSINDEX_SLOW_FAULT_TRIALS`` (default 60).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
from faults_helpers import (
    KILL_POINTS,
    REVISED,
    load_sample,
    model_hash,
    models_up_to,
    run_check_cli,
    spawn,
    stray_files,
)

from newsindex import Index, LockError

DOCS = load_sample()
UNIVERSE = [d["id"] for d in DOCS]
TRIALS = int(os.environ.get("NEWSINDEX_FAULT_TRIALS", "5"))
SLOW_TRIALS = int(os.environ.get("NEWSINDEX_SLOW_FAULT_TRIALS", "60"))


def _parse(stdout: str) -> list[tuple[int, int, int, str]]:
    out = []
    for line in stdout.splitlines(keepends=True):
        assert not line.startswith("MISMATCH"), line
        if line.startswith("COMMITTED ") and line.endswith("\n"):
            _, batch, gen, docs, digest = line.split()
            out.append((int(batch), int(gen), int(docs), digest))
    return out


def verify_after_kill(folder: Path, seed: int, committed: list, stderr: str) -> dict:
    """Everything the issue asks of a killed writer's index; returns what was observed."""
    last = committed[-1][0] if committed else 0
    models = models_up_to(seed, DOCS, last + 1)
    for batch, gen, ndocs, digest in committed:  # the child and the parent agree on the plan
        assert gen == batch and ndocs == len(models[batch]) and digest == model_hash(models[batch])
    debris = stray_files(folder)

    ix = Index.open(folder)  # always opens
    gen = ix.generation
    assert gen in (last, last + 1), (
        f"the index shows generation {gen}; the last completed commit was {last}\n{stderr}"
    )
    model = models[gen]
    assert ix.doc_count == len(model)
    assert Index.open(folder).doc_count == len(model)
    assert ix.count(f"title:{REVISED}") == sum(REVISED in t for t in model.values())
    # exactly the documents of that commit, each in its committed version
    live = {aid: art.title for aid in UNIVERSE if (art := ix.get(aid)) is not None}
    assert live == model

    out = run_check_cli(folder)
    assert out.returncode == 0 and "ok" in out.stdout, out.stdout + out.stderr

    # the kernel released the dead writer's flock: a new writer gets it at once and commits
    with ix.writer() as w:
        w.add({"id": "after-the-crash", "title": "recovered", "body": "a recovery commit"})
    assert ix.generation == gen + 1 and ix.doc_count == len(model) + 1
    assert "after-the-crash" in Index.open(folder)
    assert ix.check() == []
    assert stray_files(folder) == [], "the recovery commit left the killed writer's files"
    ix.close()
    return {"gen": gen, "last": last, "state": "last" if gen == last else "next", "debris": debris}


def _trial(tmp_path: Path, rng: random.Random, n: int) -> dict:
    folder = tmp_path / f"idx{n}"
    Index.create(folder).close()
    seed = rng.randrange(1 << 30)
    buffer_docs = rng.choice([7, 25, 10_000])
    delay = rng.uniform(0.0, 1.6)
    proc = spawn("kill-writer", folder, seed, buffer_docs)
    try:
        assert proc.stdout.readline() == "READY\n", proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    where = f"trial {n} (seed {seed}, buffer_docs {buffer_docs}, kill after {delay:.3f}s)"
    assert proc.returncode == -signal.SIGKILL, f"{where}: child ended ({proc.returncode}): {stderr}"
    try:
        result = verify_after_kill(folder, seed, _parse(stdout), stderr)
    except AssertionError as exc:
        raise AssertionError(f"{where}: {exc}") from exc
    result.update(seed=seed, buffer_docs=buffer_docs, delay=round(delay, 3))
    return result


def _run_trials(tmp_path, trials: int, master_seed: int) -> list[dict]:
    rng = random.Random(master_seed)
    results = [_trial(tmp_path, rng, n) for n in range(trials)]
    states = [r["state"] for r in results]
    print(
        f"\n{trials} kill -9 trials: {trials} opened on an allowed commit "
        f"({states.count('last')} on the last printed commit, {states.count('next')} on the one "
        f"after it), {trials} checks clean, {trials} recovery commits; "
        f"{sum(bool(r['debris']) for r in results)} kills left files of an unfinished flush or "
        f"commit ({_kinds(results)}), all removed by the recovery commit; "
        f"commits completed before the kill: {sorted(r['last'] for r in results)}"
    )
    return results


def _kinds(results) -> str:
    kinds = {"segment files": (".arr", ".doc"), "deletions": (".npy",), "manifest .tmp": (".tmp",)}
    return ", ".join(
        f"{sum(any(n.endswith(k) for n in r['debris']) for r in results)} with {name}"
        for name, k in kinds.items()
    )


def test_kill_9_at_random_points(tmp_path):
    _run_trials(tmp_path, TRIALS, master_seed=20240607)


@pytest.mark.slow
def test_kill_9_at_random_points_long(tmp_path):
    results = _run_trials(tmp_path, SLOW_TRIALS, master_seed=7)
    assert len(results) == SLOW_TRIALS


# -- kills at chosen points inside flush and commit ---------------------------------------------
# (point, batch, nth): the child dies at the nth event of that kind while committing `batch`.
# Seed 11 with buffer 7: several flushes per batch, deletions of committed articles in batch 3,
# and batch 4 holds enough changes for garbage collection to unlink files.
CHOSEN = [
    ("arr-write", 3, 9),  # in the middle of the arrays of the 2nd segment of the batch
    ("doc-write", 3, 2),
    ("del-write", 3, 2),
    ("manifest-write", 3, 1),
    ("before-rename", 3, 1),
    ("after-rename", 3, 1),
    ("after-dir-fsync", 3, 1),
    ("gc", 4, 1),  # before the first unlink of the collection
    ("gc", 4, 3),  # part-way through it
]
SEED, BUFFER = 11, 7


@pytest.mark.parametrize("point, batch, nth", CHOSEN, ids=[f"{p}-{b}-{n}" for p, b, n in CHOSEN])
def test_kill_9_at_chosen_points(tmp_path, point, batch, nth):
    folder = tmp_path / "idx"
    Index.create(folder).close()
    proc = spawn("kill-writer", folder, SEED, BUFFER, point, batch, nth)
    stdout, stderr = proc.communicate(timeout=60)
    assert "NOT-KILLED" not in stdout, f"{point} #{nth} never happened in batch {batch}"
    assert proc.returncode == -signal.SIGKILL, f"exit {proc.returncode}: {stderr}"
    committed = _parse(stdout)
    assert [c[0] for c in committed] == list(range(1, batch))
    result = verify_after_kill(folder, SEED, committed, stderr)
    want = KILL_POINTS[point][1]
    assert result["state"] == want, (
        f"killed {KILL_POINTS[point][0]}: expected the {want} commit, got generation "
        f"{result['gen']}"
    )
    if want == "last":  # the kill left the partial file it interrupted (the recovery removed it)
        assert any(n.endswith(DEBRIS[point]) for n in result["debris"]), result["debris"]


DEBRIS = {
    "arr-write": ".arr",
    "doc-write": ".doc",
    "del-write": ".npy",
    "manifest-write": ".json.tmp",
    "before-rename": ".json.tmp",
}


def test_kill_9_during_a_merge(tmp_path):
    """An optimize merges everything; a kill after the merged segment is written loses nothing."""
    # find a batch of the plan that optimizes, with something to merge before it
    seed = next(s for s in range(1000) if _first_optimize(s) in (3, 4, 5))
    batch = _first_optimize(seed)
    folder = tmp_path / "idx"
    Index.create(folder).close()
    proc = spawn("kill-writer", folder, seed, 7, "merge-done", batch, 1)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"exit {proc.returncode}: {stdout} {stderr}"
    result = verify_after_kill(folder, seed, _parse(stdout), stderr)
    assert result["state"] == "last" and result["gen"] == batch - 1
    assert any(n.endswith(".arr") for n in result["debris"]), result["debris"]


def _first_optimize(seed: int) -> int:
    from faults_helpers import plan

    for batch, _, optimize, _ in plan(seed, DOCS):
        if optimize or batch > 6:
            return batch


def test_killed_writer_releases_the_lock_even_while_its_analysis_worker_runs(tmp_path):
    """A flush of >= 4000 articles forks analysis workers; kill the writer while one runs."""
    folder = tmp_path / "idx"
    Index.create(folder).close()
    proc = spawn("slow-worker", folder)
    worker = None
    try:
        for line in proc.stdout:
            if line.startswith("WORKER "):
                worker = int(line.split()[1])
                break
        assert worker, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        ix = Index.open(folder)
        assert ix.generation == 0 and ix.doc_count == 0
        try:  # at once (the worker would run 8 s more): the writer is dead
            w = ix.writer(timeout=1.0)
        except LockError as exc:
            pytest.fail(f"the lock outlives the killed writer: {exc}")
        w.rollback()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if worker:
            try:
                os.kill(worker, signal.SIGKILL)  # the orphaned worker we caused
            except ProcessLookupError:
                pass
