"""Shared code of the fault tests (tests/test_faults_*.py): child programs and checks.

The child programs run in their own processes, started as
``python tests/faults_helpers.py <program> ...``:

- ``kill-writer IDX SEED BUFFER_DOCS [POINT BATCH NTH]``: indexes the deterministic batches of
  :func:`plan` into IDX, one commit per batch, printing ``COMMITTED <batch> <generation>
  <docs> <ids-hash>`` after each commit returns. With POINT, it SIGKILLs itself at the NTH
  event of that kind during batch BATCH (see :func:`install_kill`). The parent kills it too.
- ``slow-worker IDX``: one big flush analysed by a forked worker that is made slow, so the
  parent can kill the writer while the worker runs.
- ``conc-writer IDX COMMITS`` / ``conc-reader IDX MODE STOPFILE``: the concurrency test, where
  commit *g* makes generation *g* whose content :func:`conc_expected` gives.
- ``huge-doc IDX``: indexes a 4 MB article and reports peak memory (``ru_maxrss``).

Everything here is plain data: JSON on stdout, no pickle.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # the children run from any folder
    sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "newsindex" / "data" / "reuters-sample.jsonl.gz"
#: A word put in the title of every replaced article (never in Reuters titles).
REVISED = "zzrevised"


def load_sample() -> list[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(*args, **kw) -> subprocess.Popen:
    """Start a child program of this module (stdout piped, text)."""
    return subprocess.Popen(
        [sys.executable, str(HERE), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=kw.pop("stderr", subprocess.PIPE),
        text=True,
        cwd=str(ROOT),
        env=child_env(),
        **kw,
    )


# -- the deterministic edit plan of the kill tests ----------------------------------------------
def plan(seed: int, docs: list[dict]):
    """Yield ``(batch, ops, optimize, model)`` forever, the same for the same seed.

    ``ops`` are ``("add", dict)`` / ``("delete", id)`` in order; ``model`` maps every id that
    is live once the batch is committed to its title. Batches add fresh sample articles,
    replace live ones (a new title holding :data:`REVISED`) and delete some; deleted articles
    go back to the pool, so the plan never runs dry.
    """
    rng = random.Random(seed)
    by_id = {d["id"]: d for d in docs}
    fresh = [d["id"] for d in docs]
    rng.shuffle(fresh)
    model: dict[str, str] = {}
    batch = 0
    while True:
        batch += 1
        ops: list[tuple] = []
        for _ in range(rng.randint(20, 60)):
            if fresh and (rng.random() < 0.8 or not model):
                doc = by_id[fresh.pop()]
                ops.append(("add", doc))
                model[doc["id"]] = doc["title"]
            elif model:
                aid = rng.choice(sorted(model))
                title = f"{REVISED} r{batch} {by_id[aid]['title']}"
                ops.append(("add", {**by_id[aid], "title": title}))
                model[aid] = title
        if model:
            for aid in rng.sample(sorted(model), min(len(model), rng.randint(0, 8))):
                ops.append(("delete", aid))
                del model[aid]
                fresh.insert(0, aid)
        # sometimes delete something that was never there, or delete then re-add
        if rng.random() < 0.3 and fresh:
            aid = fresh[-1]
            ops.append(("delete", aid))
            ops.append(("add", by_id[aid]))
            fresh.pop()
            model[aid] = by_id[aid]["title"]
        optimize = rng.random() < 0.15
        yield batch, ops, optimize, dict(model)


def models_up_to(seed: int, docs: list[dict], last: int) -> list[dict]:
    """``models[g]``: the live ids and titles once batch g is committed (``models[0]`` empty)."""
    models: list[dict] = [{}]
    for batch, _, _, model in plan(seed, docs):
        if batch > last:
            break
        models.append(model)
    return models


def model_hash(model: dict) -> str:
    data = "\n".join(f"{k}\t{model[k]}" for k in sorted(model)).encode("utf-8")
    return hashlib.sha1(data).hexdigest()[:16]


# -- fault injection inside a child -------------------------------------------------------------
def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


class _FileProxy:
    """A file object whose ``write`` calls ``on_write(real_file, data)`` first."""

    def __init__(self, real, on_write):
        self._real = real
        self._on_write = on_write

    def write(self, data):
        self._on_write(self._real, data)
        return self._real.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()

    def __getattr__(self, name):
        return getattr(self._real, name)


def proxy_open(on_write):
    """A replacement for the builtin ``open`` that wraps files opened for writing."""
    import builtins

    def fake_open(file, mode="r", *args, **kwargs):
        real = builtins.open(file, mode, *args, **kwargs)
        if "w" in mode or "a" in mode:
            return _FileProxy(real, on_write)
        return real

    return fake_open


KILL_POINTS = {
    # point: (what happens, which generation the index must show: "last" or "next")
    "arr-write": ("half-way through writing a segment's .arr file", "last"),
    "doc-write": ("half-way through writing a segment's stored fields (.doc)", "last"),
    "del-write": ("half-way through writing a deletions file (.del-*.npy)", "last"),
    "merge-done": ("after a merge wrote its segment, before the manifest", "last"),
    "manifest-write": ("half-way through writing the manifest's temporary file", "last"),
    "before-rename": ("after the manifest's temp file is fsynced, before os.replace", "last"),
    "after-rename": ("right after os.replace published the manifest", "next"),
    "after-dir-fsync": ("after the folder fsync, before garbage collection", "next"),
    "gc": ("during garbage collection (before its NTH unlink)", "next"),
}


class _State:
    batch = 0


def install_kill(point: str, batch: int, nth: int, state: _State) -> None:
    """Make this process SIGKILL itself at the ``nth`` ``point`` event of batch ``batch``."""
    import newsindex.index.arrays as arrays
    import newsindex.index.docstore as docstore
    import newsindex.index.manifest as manifest
    import newsindex.index.writer as writer

    seen = [0]

    def due() -> bool:
        if state.batch != batch:
            return False
        seen[0] += 1
        return seen[0] == nth

    def half_then_die(real, data):
        if due():
            real.write(data[: max(1, len(data) // 2)])
            real.flush()
            _die()

    if point == "arr-write":
        arrays.open = proxy_open(half_then_die)
    elif point == "doc-write":
        docstore.open = proxy_open(half_then_die)
    elif point == "del-write":
        writer.open = proxy_open(half_then_die)  # writer.py opens only deletions files
    elif point == "manifest-write":
        manifest.open = proxy_open(half_then_die)
    elif point == "merge-done":
        real_merge = writer.merge

        def merge(*args, **kwargs):
            entry = real_merge(*args, **kwargs)
            if due():
                _die()
            return entry

        writer.merge = merge
    elif point in ("before-rename", "after-rename"):
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if str(dst).endswith(".json") and due():
                if point == "after-rename":
                    real_replace(src, dst, *args, **kwargs)
                _die()
            return real_replace(src, dst, *args, **kwargs)

        os.replace = replace
    elif point == "after-dir-fsync":
        real_fsync_dir = manifest.fsync_dir

        def fsync_dir(folder):
            real_fsync_dir(folder)
            if due():
                _die()

        manifest.fsync_dir = fsync_dir
    elif point == "gc":
        real_unlink = writer._unlink

        def unlink(path):
            if due():
                _die()
            real_unlink(path)

        writer._unlink = unlink
    else:
        raise SystemExit(f"unknown kill point {point!r}")


# -- child: the writer of the kill tests --------------------------------------------------------
def kill_writer(idx: str, seed: int, buffer_docs: int, point=None, batch=0, nth=0) -> None:
    from newsindex import Index

    state = _State()
    if point:
        install_kill(point, int(batch), int(nth), state)
    docs = load_sample()
    ix = Index.open(idx)
    for field in ("title", "body"):  # load the stemmers now: READY means "about to write"
        ix.analyzer(field).terms(docs[0]["body"])
    print("READY", flush=True)
    for k, ops, optimize, model in plan(seed, docs):
        state.batch = k
        w = ix.writer(buffer_docs=buffer_docs)
        for op, arg in ops:
            if op == "add":
                w.add(arg)
            else:
                w.delete(arg)
        if optimize:
            w.optimize()
        w.commit()
        if ix.doc_count != len(model):
            print(f"MISMATCH {k} {ix.doc_count} {len(model)}", flush=True)
            sys.exit(3)
        print(f"COMMITTED {k} {ix.generation} {len(model)} {model_hash(model)}", flush=True)
        if point and k >= int(batch) + 2:  # the kill point was never reached
            print("NOT-KILLED", flush=True)
            return


def slow_worker(idx: str) -> None:
    """A big flush whose forked analysis worker sleeps: prints the worker's pid, then waits."""
    import newsindex.index.analyze as analyze
    from newsindex import Index

    main_pid = os.getpid()
    real = analyze._analyze_serial

    def slow(*args, **kwargs):
        if os.getpid() != main_pid:  # in the forked worker
            print(f"WORKER {os.getpid()}", flush=True)
            time.sleep(8)
        return real(*args, **kwargs)

    analyze._analyze_serial = slow
    docs = load_sample()
    ix = Index.open(idx)
    w = ix.writer(workers=2)
    for r in range(analyze.MIN_PARALLEL_DOCS // len(docs) + 1):
        for d in docs:
            w.add({**d, "id": f"{r}-{d['id']}"})
    w.commit()
    print("COMMITTED", flush=True)


# -- checks used by the parent ------------------------------------------------------------------
def run_check_cli(folder) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsindex", "check", str(folder)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=child_env(),
    )


def referenced_files(folder: Path, generations: int = 2) -> set[str]:
    """Files named by the newest ``generations`` manifests (what garbage collection keeps)."""
    from newsindex.index import manifest as mf

    names: set[str] = set()
    for g in mf.generations(folder)[-generations:]:
        names.add(mf.manifest_name(g))
        for seg in mf.read(folder, g).segments:
            names.update(seg.files)
    return names


def stray_files(folder: Path) -> list[str]:
    """Segment files no manifest names, and temporary files: what a crash or failure left."""
    folder = Path(folder)
    from newsindex.index import manifest as mf

    names: set[str] = set()
    for g in mf.generations(folder):
        names.add(mf.manifest_name(g))
        try:
            for seg in mf.read(folder, g).segments:
                names.update(seg.files)
        except Exception:
            pass
    return sorted(
        n
        for n in os.listdir(folder)
        if (n.startswith("seg-") and n not in names) or n.endswith(".tmp")
    )


def index_state(ix, universe) -> dict[str, str]:
    """The live ids of ``ix`` among ``universe`` and their stored titles."""
    out = {}
    for aid in universe:
        art = ix.get(aid)
        if art is not None:
            out[aid] = art.title
    return out


# -- the concurrency test -----------------------------------------------------------------------
def conc_added(batch: int) -> int:
    """Articles that commit ``batch`` adds (ids ``g<batch>-<i>``)."""
    return 15 + (batch * 7) % 25


def conc_live_batches(gen: int) -> range:
    """Commit g deletes batch g-3: generation g holds batches g-2 .. g."""
    return range(max(1, gen - 2), gen + 1)


def conc_expected(gen: int) -> dict:
    return {b: conc_added(b) for b in conc_live_batches(gen)}


def conc_replaced_count(j: int, gen: int) -> int:
    """Commit j (>= 2) rewrites article g<j-1>-0 to hold the word replaced<j>."""
    return 1 if j >= 2 and gen - 1 <= j <= gen else 0


def conc_writer(idx: str, commits: int) -> None:
    from newsindex import Index

    docs = load_sample()
    ix = Index.open(idx)
    print("READY", flush=True)
    for g in range(1, commits + 1):
        with ix.writer(buffer_docs=11) as w:  # several segments per commit
            for i in range(conc_added(g)):
                d = docs[(g * 37 + i) % len(docs)]
                w.add(
                    {
                        "id": f"g{g}-{i}",
                        "title": d["title"],
                        "body": f"common batch{g} {d['body'][:400]}",
                        "date": d.get("date"),
                    }
                )
            if g >= 2:
                d = docs[g % len(docs)]
                w.add(
                    {
                        "id": f"g{g - 1}-0",
                        "title": "rewritten",
                        "body": f"common batch{g - 1} replaced{g} {d['body'][:200]}",
                    }
                )
            for i in range(conc_added(g - 3) if g > 3 else 0):
                w.delete(f"g{g - 3}-{i}")
            if g % 4 == 0:
                w.optimize()
        assert ix.generation == g, (ix.generation, g)
        print(f"COMMITTED {g}", flush=True)


def conc_reader(idx: str, mode: str, stopfile: str, seed: int) -> None:
    """Search in a loop until ``stopfile`` exists; report checks, generations and errors."""
    from newsindex import Index

    rng = random.Random(seed)
    checks = 0
    gens: set[int] = set()
    errors: list[str] = []
    last_gen = -1
    ix = Index.open(idx)
    print("READY", flush=True)

    def expect(cond, what):
        if not cond:
            errors.append(f"gen {ix.generation}: {what}")

    while not os.path.exists(stopfile) and len(errors) < 20:
        try:
            if mode == "reopen":
                ix.close()
                ix = Index.open(idx)
            else:
                ix.refresh()
            g = ix.generation
            gens.add(g)
            if mode != "reopen":
                expect(g >= last_gen, f"generation went back from {last_gen}")
            last_gen = g
            expected = conc_expected(g) if g > 0 else {}
            total = sum(expected.values())
            expect(ix.doc_count == total, f"doc_count {ix.doc_count} != {total}")
            expect(ix.count("common") == total, f"count(common) {ix.count('common')} != {total}")
            b = rng.randint(max(1, g - 3), g + 1)
            res = ix.search(f"batch{b}", limit=100)
            want = {f"g{b}-{i}" for i in range(expected.get(b, 0))}
            got = {h.id for h in res.hits}
            expect(
                res.total == len(want) and got == want,
                f"batch{b}: {res.total} hits {sorted(got)[:3]}.., expected {len(want)}",
            )
            for hit in res.hits[:3]:
                expect(f"batch{b}" in hit.article.body, f"{hit.id}: stored body lacks batch{b}")
            for j in (g - 1, g, g + 1):
                n = ix.count(f"replaced{j}")
                expect(n == conc_replaced_count(j, g), f"count(replaced{j}) = {n}")
            checks += 1
            time.sleep(0.003)  # leave the writer some CPU (2 cores for 4 processes in CI)
        except Exception as exc:  # any error is a failure of the test; report it, go on
            errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    print(json.dumps({"checks": checks, "gens": sorted(gens), "errors": errors}), flush=True)


# -- the huge document --------------------------------------------------------------------------
def huge_doc(idx: str, chars: int) -> None:
    from newsindex import Index

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    docs = load_sample()
    baseline = rss_mb()
    words = " ".join(d["body"] for d in docs).split()
    rng = random.Random(7)
    parts, size = [], 0
    while size < chars:
        w = rng.choice(words)
        parts.append(w)
        size += len(w) + 1
        if len(parts) == 100_000:
            parts.append("zzalpha zzomega")
    body = " ".join(parts)[: chars - len(" zzneedle")] + " zzneedle"
    ix = Index.create(idx)
    with ix.writer() as w:
        for d in docs[:50]:
            w.add(d)
        w.add({"id": "huge", "title": "A very long article", "body": body})
    out = {
        "baseline_mb": baseline,
        "body_chars": len(body),
        "needle": [h.id for h in ix.search("zzneedle").hits],
        "phrase": [h.id for h in ix.search('"zzalpha zzomega"').hits],
        "common": ix.search("oil", limit=100).total,
        "stored_len": len(ix.get("huge").body),
        "stored_same": ix.get("huge").body == body,
        "check": ix.check(),
        "docs": ix.doc_count,
    }
    ix.close()
    reopened = Index.open(idx)
    out["reopened_needle"] = [h.id for h in reopened.search("zzneedle").hits]
    out["maxrss_mb"] = rss_mb()
    print(json.dumps(out), flush=True)


def main(argv: list[str]) -> None:
    prog, args = argv[0], argv[1:]
    if prog == "kill-writer":
        kill_writer(args[0], int(args[1]), int(args[2]), *args[3:])
    elif prog == "slow-worker":
        slow_worker(args[0])
    elif prog == "conc-writer":
        conc_writer(args[0], int(args[1]))
    elif prog == "conc-reader":
        conc_reader(args[0], args[1], args[2], int(args[3]))
    elif prog == "huge-doc":
        huge_doc(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown program {prog!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
