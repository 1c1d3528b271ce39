"""The speed comparison: every engine built and searched in its own processes, on the same
corpus, the same query file, the same k, with warm-up and repeated timed passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import querygen
from .corpus import REPO, corpus_meta, load_docs
from .engines import EngineUnavailable, engine_class, make_engine
from .metrics import overlap_at, read_run

OUT = REPO / "benchmarks" / "out"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ensure_queries(
    corpus: Path, queries: str | None, n: int, seed: int, out_dir: Path, limit: int | None = None
) -> Path:
    """The query file to use: the one given, or one generated from the (limited) corpus and kept,
    so that reruns and every engine get byte-identical queries."""
    if queries:
        return Path(queries)
    meta = corpus_meta(corpus)
    tag = meta["tag"] + (f".first{limit}" if limit else "")
    path = out_dir / "queries" / f"{tag}.n{n}.s{seed}.jsonl"
    if not path.is_file() or _query_version(path) < querygen.VERSION:
        log(
            f"generating {n} queries (seed {seed}) from {corpus}"
            + (f", first {limit} docs" if limit else "")
        )
        qs = querygen.generate(load_docs(corpus, limit), n=n, seed=seed)
        meta = {
            "corpus": str(corpus),
            "limit": limit,
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
) -> dict:
    """Build and search every engine; returns the result dict the report is made from.

    ``params``: per-engine constructor arguments, e.g. ``{"newsindex": {"workers": 2}}``.
    ``build_repeat``: builds per engine (the median is reported; the last index is searched).
    """
    params = params or {}
    out_dir = Path(out_dir)
    meta = corpus_meta(corpus)
    tag = meta["tag"] + (f".first{limit}" if limit else "")
    qpath = ensure_queries(corpus, queries, n_queries, seed, out_dir, limit)
    runs_dir = out_dir / "runs" / tag
    result = {
        "kind": "speed",
        "corpus": {**meta, "tag": tag, "limit": limit},
        "queries": {
            "path": str(qpath),
            "counts": {kd: len(v) for kd, v in querygen.by_kind(querygen.load(qpath)).items()},
        },
        "settings": {
            "k": k,
            "repeat": repeat,
            "warmup": warmup,
            "build_repeat": build_repeat,
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
        log(f"{name}: building {tag}" + (f" ({build_repeat} times)" if build_repeat > 1 else ""))
        builds = []
        for _ in range(build_repeat):
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
                built = _subprocess(args + (["--limit", str(limit)] if limit else []), timeout)
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
        if in_process:
            searched = _in_process("search", **skw)
        else:
            args = [
                "search",
                "--engine",
                name,
                "--workdir",
                str(workdir),
                "--queries",
                str(qpath),
                "--k",
                str(k),
                "--repeat",
                str(repeat),
                "--warmup",
                str(warmup),
                "--runs-dir",
                str(runs_dir),
                "--tag",
                tag,
                "--kinds",
                ",".join(kinds),
                "--params",
                json.dumps(params.get(name, {})),
            ]
            searched = _subprocess(args, timeout)
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
        for kind, fig in searched["kinds"].items():
            if "qps" in fig:
                log(
                    f"{name}: {kind}: {fig['qps']:.0f} q/s, p50 {fig['p50_ms']:.3f} ms, empty {fig['empty']}"
                )
    result["agreement"] = agreement(result)
    result["loadavg_end"] = machine_info()["loadavg"]
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return result


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
