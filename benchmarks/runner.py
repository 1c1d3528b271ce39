"""The speed comparison: every engine built and searched in its own processes, on the same
corpus, the same query file, the same k, with warm-up and repeated timed passes."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import querygen
from .corpus import REPO, corpus_meta, load_docs
from .engines import EngineUnavailable, engine_class, make_engine
from .metrics import overlap_at, read_run

OUT = REPO / "benchmarks" / "out"
#: Queries are generated from at most this many leading documents, so a 10M corpus never sits
#: in memory: the synthetic corpora draw every document independently, so their first 200,000
#: are a fair sample of the whole.
QUERY_DOCS = 200_000
#: Queries each cold pass runs untimed after opening the index (issue 15's definition of cold).
COLD_WARMUP = 20


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ensure_queries(
    corpus: Path,
    queries: str | None,
    n: int,
    seed: int,
    out_dir: Path,
    limit: int | None = None,
    query_docs: int = QUERY_DOCS,
) -> Path:
    """The query file to use: the one given, or one generated from the (limited) corpus and kept,
    so that reruns and every engine get byte-identical queries.

    A judged collection (a ``docs.jsonl.gz`` with a ``queries.jsonl`` beside it) is queried
    with its own real requests, as ``long`` queries. Other corpora get generated queries, drawn
    from their first ``query_docs`` documents.
    """
    if queries:
        return Path(queries)
    meta = corpus_meta(corpus)
    tag = meta["tag"] + (f".first{limit}" if limit else "")
    requests = Path(corpus).with_name("queries.jsonl")
    if Path(corpus).name == "docs.jsonl.gz" and requests.is_file() and not limit:
        path = out_dir / "queries" / f"{tag}.requests.jsonl"
        querygen.save(querygen.requests(requests), path, {"corpus": str(corpus), "requests": True})
        return path
    sample = min(limit, query_docs) if limit else query_docs
    path = out_dir / "queries" / f"{tag}.n{n}.s{seed}.jsonl"
    if not path.is_file() or _query_version(path) < querygen.VERSION:
        log(f"generating {n} queries (seed {seed}) from the first {sample:,} docs of {corpus}")
        qs = querygen.generate(load_docs(corpus, sample), n=n, seed=seed)
        meta = {
            "corpus": str(corpus),
            "limit": limit,
            "sample_docs": sample,
            "n": n,
            "seed": seed,
            "synthetic": meta["synthetic"],
            "version": querygen.VERSION,
        }
        querygen.save(qs, path, meta)
    return path


def _query_version(path: Path) -> int:
    meta = path.with_suffix(".meta.json")
    try:
        return int(json.loads(meta.read_text()).get("version", 1))
    except (OSError, ValueError):
        return 1


def _subprocess(args: list[str], timeout: float | None) -> dict:
    """Run ``python -m benchmarks.run_engine ARGS`` from the repo root and parse its JSON."""
    cmd = [sys.executable, "-m", "benchmarks.run_engine", *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
    else:  # pass on the harness's own notes (e.g. a query kind skipped), not the engine's chatter
        sys.stderr.writelines(
            ln + "\n" for ln in proc.stderr.splitlines() if ln.startswith("[bench]")
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        last = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {last[0]}"}
    return json.loads(lines[-1])


def _in_process(phase: str, **kw) -> dict:
    """The same phases called directly (for the smoke test: fast, but RSS is the caller's)."""
    from . import run_engine

    try:
        if phase == "build":
            return run_engine.do_build(**kw)
        return run_engine.do_search(**kw)
    except EngineUnavailable as exc:
        return {"skipped": str(exc)}


def run_benchmark(
    corpus: Path,
    engines: list[str],
    queries: str | None = None,
    n_queries: int = 1200,
    seed: int = 42,
    k: int = 10,
    repeat: int = 3,
    warmup: int = 1,
    limit: int | None = None,
    out_dir: Path = OUT,
    timeout: float | None = None,
    in_process: bool = False,
    keep_index: bool = False,
    kinds: tuple[str, ...] = querygen.KINDS,
    params: dict[str, dict] | None = None,
    build_repeat: int = 1,
    passes: tuple[str, ...] = ("warm", "cold"),
    cold_warmup: int = COLD_WARMUP,
    stream: bool = False,
    reuse_index: bool = False,
) -> dict:
    """Build and search every engine; returns the result dict the report is made from.

    ``params``: per-engine constructor arguments, e.g. ``{"newsindex": {"workers": 2}}``.
    ``build_repeat``: builds per engine (the median is reported; the last index is searched).
    ``passes``: ``warm`` times ``repeat`` passes in one process after ``warmup`` whole passes
    (figures under ``kinds``); ``cold`` times each pass of each kind in a fresh process that
    opens the index and runs ``cold_warmup`` other queries first (figures under ``cold``).
    ``stream``: build while reading the corpus (10M stories do not fit in memory).
    ``reuse_index``: search an index an earlier run kept (``keep_index``) instead of building.
    """
    params = params or {}
    out_dir = Path(out_dir)
    meta = corpus_meta(corpus)
    tag = meta["tag"] + (f".first{limit}" if limit else "")
    qpath = ensure_queries(corpus, queries, n_queries, seed, out_dir, limit)
    counts = {kd: len(v) for kd, v in querygen.by_kind(querygen.load(qpath)).items()}
    runs_dir = out_dir / "runs" / tag
    result = {
        "kind": "speed",
        "corpus": {**meta, "tag": tag, "limit": limit},
        "queries": {
            "path": str(qpath),
            "counts": counts,
        },
        "settings": {
            "k": k,
            "repeat": repeat,
            "warmup": warmup,
            "build_repeat": build_repeat,
            "passes": list(passes),
            "cold_warmup": cold_warmup,
            "stream": stream,
            "in_process": in_process,
            "kinds": list(kinds),
            "params": params,
            "engines": list(engines),
        },
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "engines": {},
        "skipped": {},
    }
    for name in engines:
        cls = engine_class(name)
        reason = cls.missing()
        if reason:
            log(f"skipping {reason}")
            result["skipped"][name] = reason
            continue
        workdir = out_dir / "index" / tag / name
        kept = workdir / "build.json"
        builds = []
        if reuse_index and kept.is_file():
            log(f"{name}: reusing the index kept in {workdir}")
            builds.append(json.loads(kept.read_text()))
        else:
            log(
                f"{name}: building {tag}" + (f" ({build_repeat} times)" if build_repeat > 1 else "")
            )
        built = builds[0] if builds else {}
        for _ in range(0 if builds else build_repeat):
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            if in_process:
                built = _in_process(
                    "build",
                    engine=name,
                    corpus=str(corpus),
                    workdir=str(workdir),
                    limit=limit,
                    params=params.get(name),
                    stream=stream,
                )
            else:
                args = [
                    "build",
                    "--engine",
                    name,
                    "--corpus",
                    str(corpus),
                    "--workdir",
                    str(workdir),
                    "--params",
                    json.dumps(params.get(name, {})),
                ]
                args += ["--limit", str(limit)] if limit else []
                built = _subprocess(args + (["--stream"] if stream else []), timeout)
            if "skipped" in built or "error" in built:
                break
            builds.append(built)
        if len(builds) > 1:
            # Each build in a fresh process; the median one is reported, with every time beside it.
            times = [b["build_s"] for b in builds]
            built = {
                **sorted(builds, key=lambda b: b["build_s"])[len(builds) // 2],
                "build_s_all": times,
            }
        if "skipped" in built or "error" in built:
            reason = built.get("skipped") or built.get("error")
            log(f"{name}: {reason}")
            result["skipped"][name] = reason
            shutil.rmtree(workdir, ignore_errors=True)
            continue
        if keep_index:
            kept.write_text(json.dumps(built))
        if cls.size_only:
            log(f"{name}: {built['docs']:,} docs in {built['build_s']:.2f} s (built for its size)")
            result["engines"][name] = built
            if not keep_index:
                shutil.rmtree(workdir, ignore_errors=True)
            continue
        log(f"{name}: {built['docs']:,} docs in {built['build_s']:.2f} s; searching")
        skw = dict(
            engine=name,
            workdir=str(workdir),
            queries=str(qpath),
            k=k,
            repeat=repeat,
            warmup=warmup,
            runs_dir=str(runs_dir),
            tag=tag,
            kinds=kinds,
            params=params.get(name),
        )
        searched = {"kinds": {}}
        if "warm" in passes:
            searched = _search(skw, in_process, timeout)
        if "cold" in passes and "error" not in searched and "skipped" not in searched:
            cold_kinds = tuple(kd for kd in kinds if counts.get(kd, 0) > cold_warmup)
            cold = _search_cold(skw, cold_kinds, cold_warmup, in_process, timeout)
            if "error" in cold:
                searched = cold
            else:
                searched = {**cold, **searched, "cold": cold}
        if not keep_index:
            shutil.rmtree(workdir, ignore_errors=True)
        if "error" in searched or "skipped" in searched:
            log(f"{name}: search failed: {searched}")
            result["engines"][name] = {
                **built,
                "search_error": searched.get("error") or searched.get("skipped"),
            }
            continue
        # import_s is the build process's (what indexing needs); a search process may import
        # less (newsindex: no stemmer), reported apart.
        result["engines"][name] = {
            **built,
            **searched,
            "describe": searched.get("describe", built["describe"]),
            "import_s": built.get("import_s"),
            "search_import_s": searched.get("import_s"),
        }
        for pas, figs in (
            ("warm", searched["kinds"]),
            ("cold", searched.get("cold", {}).get("kinds", {})),
        ):
            for kind, fig in figs.items():
                if "qps" in fig:
                    log(
                        f"{name}: {pas} {kind}: {fig['qps']:.0f} q/s, p50 {fig['p50_ms']:.3f} ms, "
                        f"p95 {fig['p95_ms']:.3f} ms, empty {fig['empty']}"
                    )
    result["agreement"] = agreement(result)
    result["loadavg_end"] = machine_info()["loadavg"]
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return result


#: Figures of one pass that the cold summary takes the median of.
_PASS_FIGURES = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "qps", "cpu_qps")


def _search(skw: dict, in_process: bool, timeout: float | None) -> dict:
    """One search process (or an in-process call) with the arguments of ``do_search``."""
    if in_process:
        return _in_process("search", **skw)
    args = ["search"]
    for key, value in skw.items():
        if value is None:
            continue
        if key == "kinds":
            value = ",".join(value)
        elif key == "params":
            value = json.dumps(value or {})
        args += ["--" + key.replace("_", "-"), str(value)]
    return _subprocess(args, timeout)


def _search_cold(
    skw: dict, kinds: tuple[str, ...], warmup_queries: int, in_process: bool, timeout: float | None
) -> dict:
    """Cold figures: every timed pass of every kind in a fresh process that opens the index and
    answers ``warmup_queries`` other queries first; per kind, the median over the passes.
    Peak RSS is the largest of those processes', open time their median."""
    repeat = max(1, skw["repeat"])
    figs: dict[str, dict] = {}
    rss, opens = [], []
    for kind in kinds:
        per_pass = []
        for _ in range(repeat):
            kw = {**skw, "kinds": (kind,), "repeat": 1, "warmup_queries": warmup_queries}
            kw.update(runs_dir=None, tag=None)
            res = _search(kw, in_process, timeout)
            if "error" in res or "skipped" in res:
                return res
            rss.append(res["peak_rss_search_mib"])
            opens.append(res["open_s"])
            fig = res["kinds"].get(kind)
            if fig is None or "skipped" in fig:
                if fig:
                    figs[kind] = fig
                break
            per_pass.append(fig)
        if per_pass:
            figs[kind] = {
                **{key: statistics.median(p[key] or 0 for p in per_pass) for key in _PASS_FIGURES},
                "queries": per_pass[0]["queries"],
                "passes": len(per_pass),
                "qps_passes": [p["qps"] for p in per_pass],
                "empty": per_pass[-1]["empty"],
                "mean_hits": per_pass[-1]["mean_hits"],
            }
    return {
        "kinds": figs,
        "warmup_queries": warmup_queries,
        "peak_rss_search_mib": max(rss) if rss else None,
        "open_s": statistics.median(opens) if opens else None,
    }


def agreement(result: dict, k: int = 10) -> dict:
    """Mean top-k overlap of each engine with a reference engine, per query kind.

    Engines use different stemmers and length norms, so overlap is never 1.0; a figure far
    below the others flags a broken adapter (wrong field, AND instead of OR, a bad filter).
    """
    names = [n for n, e in result["engines"].items() if "kinds" in e]
    if not names:
        return {}
    ref = "newsindex" if "newsindex" in names else ("tantivy" if "tantivy" in names else names[0])
    out: dict = {"reference": ref, "k": k, "kinds": {}}
    for kind in querygen.KINDS:
        ref_fig = result["engines"][ref]["kinds"].get(kind, {})
        if "run_file" not in ref_fig:
            continue
        ref_run = read_run(ref_fig["run_file"])
        per = {}
        for n in names:
            fig = result["engines"][n]["kinds"].get(kind, {})
            if "run_file" not in fig:
                continue
            run = read_run(fig["run_file"])
            vals = [
                overlap_at(ref_run.get(q, []), run.get(q, []), k)
                for q in ref_run.keys() | run.keys()
            ]
            vals = [v for v in vals if v is not None]
            per[n] = sum(vals) / len(vals) if vals else None
        out["kinds"][kind] = per
    return out


def machine_info() -> dict:
    """CPU, cores, memory and Python version, so figures are never quoted without their machine."""
    import platform

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    # The load average says whether something else was competing for the CPU during the run.
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": load,
        "newsindex_source": source_state(),
    }


def source_state() -> str | None:
    """The commit newsindex was measured at, and whether its files had uncommitted edits
    (read-only git calls): newsindex's figures change as it is developed."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "newsindex"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else None


def describe_engines(names: list[str]) -> dict:
    """Each engine's describe(), or why it is unavailable (for ``python -m benchmarks engines``)."""
    out = {}
    for n in names:
        try:
            out[n] = make_engine(n).describe()
        except EngineUnavailable as exc:
            out[n] = {"unavailable": str(exc)}
    return out
