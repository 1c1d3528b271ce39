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


#: Queries of every kind the readers run: words, phrases, operators, fields, prefixes, filters.
QUERIES = [
    "oil",
    "oil prices",
    '"crude oil"',
    "opec AND price",
    "oil -gas",
    "+bank rate",
    "title:bank",
    "co*",
    "tonne*",
    "date:1987-03 oil",
    "section:earn profit",
    "NOT section:earn trade",
    "(wheat OR grain) AND export*",
    '"said it"~2 company',
    "zzrevised",
    "dollar^2 yen",
]
#: Search options the readers vary.
OPTIONS = [
    {"limit": 10},
    {"limit": 5, "offset": 3},
    {"limit": 20, "sort": "date"},
    {"limit": 7, "sort": "oldest"},
    {"limit": 10, "facets": True, "date_bucket": "month"},
]


def _answer(ix, kind: str, q: str, opt: int):
    """What one call returns, as plain data comparable across runs."""
    if kind == "count":
        return ix.count(q)
    if kind == "search":
        res = ix.search(q, **OPTIONS[opt])
        hits = [[h.id, h.score, h.rank, h.article.id, h.article.title] for h in res.hits]
        facets = None
        if res.facets is not None:
            facets = [res.facets.sources, res.facets.sections, res.facets.dates]
        return [res.total, hits, repr(facets)]
    if kind == "explain":
        return repr(ix.explain(q, str(opt)))
    art = ix.get(str(opt))  # kind == "get"
    return None if art is None else [art.id, art.title, art.body]


def _commit_plan(docs: list[dict], commits: int) -> list[tuple[list[dict], list[str]]]:
    """Per commit: the articles to add (new ones, and revised old ones) and ids to delete."""
    rng = random.Random(13)
    plan, nxt = [], 300
    for _ in range(commits):
        adds = [dict(d) for d in docs[nxt : nxt + 40]]
        nxt += 40
        for d in rng.sample(docs[:nxt], 5):
            adds.append(dict(d, title=f"{d['title']} zzrevised"))
        plan.append((adds, [d["id"] for d in rng.sample(docs[:nxt], 3)]))
    return plan


def child_mixed(path: str, readers: int, commits: int) -> dict:
    """``readers`` threads run varied searches, counts, explains and gets on one Index while a
    writer thread commits ``commits`` times through it and another thread refreshes it.

    Each answer is recorded with the generations read just before and after it (they only
    grow, so the answer's snapshot lies between them: most often they are equal); afterwards
    it is computed again, serially, on Indexes opened at those generations (opened by the
    writer thread just after each commit, kept open so their files stay readable) and must
    be identical to one of them: an answer mixing two commits matches none.
    """
    import gzip

    with gzip.open(ROOT / "newsindex" / "data" / "reuters-sample.jsonl.gz", "rt") as fh:
        docs = [json.loads(line) for line in fh]
    ix = newsindex.Index.create(path)
    with ix.writer() as w:
        for d in docs[:300]:
            w.add(d)
    pinned = {ix.generation: newsindex.Index.open(path)}
    stop = threading.Event()
    done = [0] * readers
    errors: list[str] = []
    records: list[list] = []

    def reader(t: int) -> None:
        rng = random.Random(t)
        while not stop.is_set():
            kind = rng.choice(["search", "search", "search", "count", "explain", "get"])
            q = rng.choice(QUERIES)
            opt = rng.randrange(len(OPTIONS)) if kind == "search" else rng.randrange(1, 600)
            before = ix.generation
            try:
                got = _answer(ix, kind, q, opt)
            except Exception as exc:  # counted: the test wants none
                errors.append(f"{kind} {q!r}: {type(exc).__name__}: {exc}")
                continue
            records.append([before, ix.generation, kind, q, opt, got])
            done[t] += 1

    def refresher() -> None:
        while not stop.is_set():
            try:
                ix.refresh()
            except Exception as exc:
                errors.append(f"refresh: {type(exc).__name__}: {exc}")

    def writer() -> None:
        try:
            for adds, deletes in _commit_plan(docs, commits):
                # Let the readers work on this generation before the next commit.
                goal = sum(done) + 4 * readers
                while sum(done) < goal and not errors and any(t.is_alive() for t in threads):
                    stop.wait(0.001)
                with ix.writer(timeout=30) as w:
                    for d in adds:
                        w.add(d)
                    for i in deletes:
                        w.delete(i)
                ref = newsindex.Index.open(path)
                pinned[ref.generation] = ref
        except Exception as exc:
            errors.append(f"writer: {type(exc).__name__}: {exc}")
        finally:
            goal = sum(done) + 4 * readers  # and on the last one
            while sum(done) < goal and not errors:
                stop.wait(0.001)
            stop.set()

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(readers)]
    others = [threading.Thread(target=refresher), threading.Thread(target=writer)]
    for t in threads + others:
        t.start()
    for t in threads + others:
        t.join()

    wrong = []
    serial: dict[tuple, object] = {}
    for lo, hi, kind, q, opt, got in records:
        for gen in range(lo, hi + 1):
            key = (gen, kind, q, opt)
            if key not in serial:
                serial[key] = _answer(pinned[gen], kind, q, opt)
            if serial[key] == got:
                break
        else:
            want = serial[(lo, kind, q, opt)]
            wrong.append(f"gen {lo}-{hi} {kind} {q!r} {opt}: {str(got)[:200]} != {str(want)[:200]}")
    return {
        "errors": errors[:20],
        "wrong": wrong[:20],
        "checked": len(records),
        "straddling": sum(r[0] != r[1] for r in records),
        "generations": sorted({r[0] for r in records if r[0] == r[1]}),
        "committed": sorted(pinned),
    }


# -- tests ---------------------------------------------------------------------------------------
def test_threads_reading_articles_get_exact_articles(sample_index):
    """Four threads decompressing stored articles at once (a shared zstd context crashed)."""
    out = _child("articles", sample_index.path, 4, 4)
    assert out["errors"] == []
    assert out["wrong"] == []
    assert out["reads"] >= out["wanted"]


def test_readers_beside_a_writer_and_a_refresher_answer_as_a_serial_run(tmp_path):
    """Six threads searching (every query kind and option), counting, explaining and getting
    while a writer commits and a refresher refreshes: no error, and every answer equal to a
    serial run on the commit it was computed on."""
    out = _child("mixed", tmp_path / "idx", 6, 12)
    assert out["errors"] == []
    assert out["wrong"] == []
    assert len(out["committed"]) == 13
    # The readers' answers spread over the commits (each commit waits for reader calls).
    assert len(out["generations"]) >= 10
    assert out["checked"] >= 6 * 12


if __name__ == "__main__":
    program, *rest = sys.argv[1:]
    if program == "mixed":
        result = child_mixed(rest[0], int(rest[1]), int(rest[2]))
    elif program == "articles":
        result = child_articles(rest[0], int(rest[1]), int(rest[2]))
    else:
        raise SystemExit(f"unknown program {program!r}")
    print(json.dumps(result))
