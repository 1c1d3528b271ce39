"""One engine, one phase, one process: ``python -m benchmarks.run_engine build|search ...``.

The harness runs every engine's build and its searches in separate fresh processes so that
peak RSS (``ru_maxrss``) belongs to that engine and phase alone, and no engine inherits another's
warm caches or heap. The result is one JSON object on stdout; anything the engine prints goes to
stderr (stdout is redirected at the file-descriptor level while the engine works).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from . import querygen
from .corpus import corpus_meta, iter_docs, load_docs
from .engines import EngineUnavailable, Unsupported, make_engine
from .metrics import write_run


def _status_mib(field: str) -> float | None:
    """A ``VmHWM``/``VmRSS`` line of /proc/self/status in MiB (None off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far.

    VmHWM, not ``ru_maxrss``: on Linux ``ru_maxrss`` survives fork+exec, so a child would
    report its *parent's* peak if that was higher (the harness holds the corpus in memory).
    VmHWM belongs to the address space made by exec, i.e. to this engine alone.
    """
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """Resident set size now."""
    rss = _status_mib("VmRSS")
    return rss if rss is not None else peak_rss_mib()


def _import_engine(engine: str, params: dict | None, phase: str = "build"):
    """The adapter, with its packages imported first and timed apart: importing numpy or a Rust
    extension is a start-up cost, not indexing or opening (it is reported as ``import_s``)."""
    t0 = time.perf_counter()
    eng = make_engine(engine, phase, **(params or {}))  # imports the phase's packages
    return eng, time.perf_counter() - t0


def do_build(
    engine: str,
    corpus: str,
    workdir: str,
    limit: int | None = None,
    params: dict | None = None,
    stream: bool = False,
) -> dict:
    """Load the corpus into memory (untimed), then time ``engine.build`` over it.

    ``stream``: read the corpus while building instead (for corpora too big for memory, 10M
    stories): the build time then includes gunzip and JSON parsing, for every engine alike.
    """
    eng, import_s = _import_engine(engine, params)
    docs: Iterable[dict]
    if stream:
        known = corpus_meta(corpus).get("docs")
        if known:
            eng.check_corpus(min(known, limit) if limit else known)
        docs = iter_docs(corpus, limit)
    else:
        docs = load_docs(corpus, limit)
        eng.check_corpus(len(docs))
    Path(workdir).mkdir(parents=True, exist_ok=True)
    gc.collect()
    rss_loaded = current_rss_mib()
    t0, cpu0 = time.perf_counter(), time.process_time()
    stats = eng.build(docs, Path(workdir))
    seconds = time.perf_counter() - t0
    # CPU seconds of every thread of the process: on a shared machine other processes' load
    # stretches wall time much more than it changes the CPU an engine needs.
    cpu = time.process_time() - cpu0
    n = stats["docs"]
    out = {
        "engine": eng.name,
        "describe": eng.describe(),
        "docs": n,
        "import_s": import_s,
        "build_s": seconds,
        "docs_per_s": n / seconds if seconds > 0 else None,
        "build_cpu_s": cpu,
        "docs_per_cpu_s": n / cpu if cpu > 0 else None,
        "size_bytes": eng.size_bytes(),
        "rss_docs_loaded_mib": rss_loaded,
        "peak_rss_build_mib": peak_rss_mib(),
        "streamed": stream,
    }
    eng.close()
    return out


def _timed_pass(fn, args, keep: dict | None) -> list[int]:
    """Run every query once; per-query wall time in ns. Results kept only when asked (last pass)."""
    lat = []
    clock = time.perf_counter_ns
    for qid, a in args:
        t0 = clock()
        res = fn(*a)
        lat.append(clock() - t0)
        if keep is not None:
            keep[qid] = res
    return lat


def _summary(lat_ns: list[int]) -> dict:
    ms = sorted(x / 1e6 for x in lat_ns)

    def pct(p: float) -> float:  # nearest-rank percentile: the ceil(p% * n)-th smallest
        return ms[min(len(ms), max(1, math.ceil(p / 100 * len(ms)))) - 1]

    total_s = sum(lat_ns) / 1e9
    return {
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": statistics.fmean(ms),
        "qps": len(ms) / total_s if total_s > 0 else None,
    }


def _query_args(kind: str, queries: list[dict], k: int) -> list[tuple[str, tuple]]:
    """Arguments prepared before timing (dates parsed here, not inside the measured loop)."""
    if kind in querygen.FILTERED_KINDS:
        return [(q["id"], (q["text"], k, *querygen.filter_args(q))) for q in queries]
    return [(q["id"], (q["text"], k)) for q in queries]


def do_search(
    engine: str,
    workdir: str,
    queries: str,
    k: int = 10,
    repeat: int = 3,
    warmup: int = 1,
    runs_dir: str | None = None,
    tag: str = "run",
    kinds: tuple[str, ...] = querygen.KINDS,
    params: dict | None = None,
    warmup_queries: int | None = None,
) -> dict:
    """Open the index (timed), then per query kind: warm-up passes, ``repeat`` timed passes.

    Each figure is the median over the timed passes. The last pass's results are written as a
    TREC run file and summarized (empty result lists, mean hits) as a sanity check.

    ``warmup_queries``: instead of whole warm-up passes, run only the kind's first N queries
    untimed and time the rest (a cold pass, when the process is fresh).
    """
    repeat = max(1, repeat)
    eng, import_s = _import_engine(engine, params, "search")
    groups = querygen.by_kind(querygen.load(queries))
    rss_start = current_rss_mib()
    t0 = time.perf_counter()
    eng.open(Path(workdir))
    open_s = time.perf_counter() - t0
    out = {
        "engine": eng.name,
        "import_s": import_s,
        "open_s": open_s,
        "rss_start_mib": rss_start,
        "kinds": {},
    }
    methods = {
        "terms": eng.search,
        "long": eng.search,
        "filtered": eng.search_filtered,
        "filtered_hit": eng.search_filtered,
        "phrase": eng.search_phrase,
    }
    for kind in kinds:
        qs = groups.get(kind)
        if not qs:
            continue
        fn, args = methods[kind], _query_args(kind, qs, k)
        if warmup_queries is not None:
            # Disjoint from the timed queries, so none of them is answered warm.
            warm_args, args = args[:warmup_queries], args[warmup_queries:]
            qs = qs[warmup_queries:]
            if not args:
                continue
        try:
            if warmup_queries is not None:
                _timed_pass(fn, warm_args, None)
            else:
                for _ in range(warmup):
                    _timed_pass(fn, args, None)
            passes, results = [], {}
            for r in range(repeat):
                gc.collect()  # start each pass with the same heap state
                cpu0 = time.process_time()
                lat = _timed_pass(fn, args, results if r == repeat - 1 else None)
                cpu = time.process_time() - cpu0
                # CPU seconds per pass as well as wall time: on a shared machine another
                # process's load inflates wall time but not (much) our own CPU time.
                passes.append({**_summary(lat), "cpu_qps": len(lat) / cpu if cpu > 0 else None})
        except (Unsupported, EngineUnavailable) as exc:
            print(f"[bench] {eng.name} {kind}: skipped: {exc}", file=sys.stderr)
            out["kinds"][kind] = {"skipped": str(exc)}
            continue
        fig = {key: statistics.median(p[key] or 0 for p in passes) for key in passes[0]}
        fig.update(
            queries=len(qs),
            passes=repeat,
            qps_passes=[p["qps"] for p in passes],
            empty=sum(1 for v in results.values() if not v),
            mean_hits=statistics.fmean(len(v) for v in results.values()),
        )
        if runs_dir:
            fig["run_file"] = str(
                write_run(results, Path(runs_dir) / f"{tag}.{eng.name}.{kind}.trec", eng.name)
            )
        out["kinds"][kind] = fig
    out["peak_rss_search_mib"] = peak_rss_mib()
    out["describe"] = eng.describe()
    eng.close()
    return out


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send fd 1 to fd 2 while engines run, so only our JSON reaches stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run_engine", description=__doc__)
    ap.add_argument("phase", choices=["build", "search"])
    ap.add_argument("--engine", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--corpus")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--queries")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs-dir")
    ap.add_argument("--tag", default="run")
    ap.add_argument("--kinds", default=",".join(querygen.KINDS))
    ap.add_argument("--params", default="{}", help="JSON engine constructor arguments")
    ap.add_argument("--stream", action="store_true", help="build: read the corpus as it goes")
    ap.add_argument(
        "--warmup-queries", type=int, help="search: warm up on N queries per kind (cold pass)"
    )
    a = ap.parse_args(argv)
    params = json.loads(a.params)
    try:
        with _stdout_to_stderr():
            if a.phase == "build":
                res = do_build(a.engine, a.corpus, a.workdir, a.limit, params, a.stream)
            else:
                kinds = tuple(x for x in a.kinds.split(",") if x)
                res = do_search(
                    a.engine,
                    a.workdir,
                    a.queries,
                    a.k,
                    a.repeat,
                    a.warmup,
                    a.runs_dir,
                    a.tag,
                    kinds,
                    params,
                    a.warmup_queries,
                )
    except EngineUnavailable as exc:
        print(json.dumps({"engine": a.engine, "skipped": str(exc)}))
        return 0
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
