"""One Index shared by threads: no crash, no error, and every answer equal to a serial run.

The threaded work runs in a child process (``python tests/test_threads.py <program> ...``):
a crash there (python-zstandard contexts shared by threads segfault) fails one test with its
exit status instead of killing the test session.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # the children run from any folder
    sys.path.insert(0, str(ROOT))

import newsindex  # noqa: E402

#: Words of the sample (Reuters) for the reader threads' queries.
WORDS = "oil prices opec crude bank rate dollar trade wheat tonnes company shares said".split()


def _child(*args: object, timeout: float = 300) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(HERE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, f"child exited {proc.returncode}: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- children ------------------------------------------------------------------------------------
def _run_threads(n: int, work) -> list[str]:
    """Run ``work(i)`` on ``n`` threads started together; the errors they raised, as text."""
    errors: list[str] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # reported to the parent, which fails the test
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def child_articles(path: str, nthreads: int, rounds: int) -> dict:
    """``nthreads`` threads read every article ``rounds`` times, by ``get`` and by
    ``hit.article``, each in its own order; every article must equal a serial read."""
    ix = newsindex.Index.open(path)
    hits = ix.search(" OR ".join(WORDS), limit=100_000).hits
    ids = [h.id for h in hits]
    expected = {i: ix.get(i) for i in ids}
    wrong: list[str] = []
    reads = [0] * nthreads

    def work(t: int) -> None:
        rng = random.Random(t)
        for _ in range(rounds):
            order = ids[:]
            rng.shuffle(order)
            for i in order:
                if ix.get(i) != expected[i]:
                    wrong.append(f"get({i!r})")
                reads[t] += 1
            # Hits of a fresh search load their articles lazily, in the threads.
            for h in ix.search(rng.choice(WORDS), limit=50).hits:
                if h.article != expected.get(h.id, ix.get(h.id)):
                    wrong.append(f"hit.article {h.id!r}")
                reads[t] += 1

    errors = _run_threads(nthreads, work)
    return {
        "reads": sum(reads),
        "wanted": nthreads * rounds * len(ids),
        "errors": errors,
        "wrong": wrong[:20],
    }


# -- tests ---------------------------------------------------------------------------------------
def test_threads_reading_articles_get_exact_articles(sample_index):
    """Four threads decompressing stored articles at once (a shared zstd context crashed)."""
    out = _child("articles", sample_index.path, 4, 4)
    assert out["errors"] == []
    assert out["wrong"] == []
    assert out["reads"] >= out["wanted"]


if __name__ == "__main__":
    program, *rest = sys.argv[1:]
    if program == "articles":
        result = child_articles(rest[0], int(rest[1]), int(rest[2]))
    else:
        raise SystemExit(f"unknown program {program!r}")
    print(json.dumps(result))
