"""Command line: ``python -m benchmarks {run,judged,queries,scale,report,engines,tune} ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import querygen
from .engines import REGISTRY, parse_engines
from .judged import JUDGED_SETS
from .runner import COLD_WARMUP, OUT, log


def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--out", default=str(OUT), help="output folder (default benchmarks/out, gitignored)"
    )


def _newsindex_params(a) -> dict:
    """The newsindex engine's constructor arguments from the command line (the cache's only
    when asked for: a run without it describes the engine as before)."""
    params: dict = {"workers": a.newsindex_workers}
    if a.newsindex_cache_mb is not None:
        params["cache_mb"] = a.newsindex_cache_mb
    return params


def cmd_run(a) -> int:
    from .corpus import resolve_corpus
    from .report import save_speed
    from .runner import run_benchmark

    corpus = resolve_corpus(a.corpus)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    result = run_benchmark(
        corpus,
        parse_engines(a.engines),
        queries=a.queries,
        n_queries=a.n_queries,
        seed=a.seed,
        k=a.k,
        repeat=a.repeat,
        warmup=a.warmup,
        limit=a.limit,
        out_dir=Path(a.out),
        timeout=a.timeout,
        in_process=a.in_process,
        keep_index=a.keep_index,
        kinds=kinds,
        params={"newsindex": _newsindex_params(a)},
        build_repeat=a.build_repeat,
        passes=tuple(x for x in a.passes.split(",") if x),
        cold_warmup=a.cold_warmup,
        stream=a.stream,
        reuse_index=a.reuse_index,
    )
    paths = save_speed(result, a.out, a.name)
    print(Path(paths["md"]).read_text())
    for kind, p in paths.items():
        print(f"{kind}: {p}")
    return 0 if result["engines"] else 1


def cmd_judged(a) -> int:
    from .judged import run_judged
    from .report import judged_markdown, save_judged

    sets = [s for s in a.sets.split(",") if s]
    options = {}
    for spec in a.newsindex_option:
        name, sep, value = spec.partition("=")
        if not sep:
            print(f"--newsindex-option wants NAME=VALUE, got {spec!r}", file=sys.stderr)
            return 2
        options[name] = json.loads(value) if value not in ("on", "off") else value == "on"
    result = run_judged(
        sets,
        parse_engines(a.engines),
        depth=a.depth,
        k1=a.k1,
        b=a.b,
        out_dir=Path(a.out),
        newsindex_options=options,
    )
    paths = save_judged(result, a.out)
    print(judged_markdown(result))
    for kind, p in paths.items():
        print(f"{kind}: {p}")
    return 0


def cmd_queries(a) -> int:
    from .corpus import corpus_meta, load_docs, resolve_corpus

    corpus = resolve_corpus(a.corpus)
    qs = querygen.generate(load_docs(corpus), n=a.n, seed=a.seed, phrases=a.phrases)
    meta = {
        "corpus": str(corpus),
        "n": a.n,
        "seed": a.seed,
        "synthetic": corpus_meta(corpus)["synthetic"],
    }
    path = querygen.save(qs, a.output, meta)
    counts = {k: len(v) for k, v in querygen.by_kind(qs).items()}
    print(f"wrote {path}: {counts}")
    return 0


def cmd_scale(a) -> int:
    from .corpus import resolve_corpus
    from .scale import generate

    source = resolve_corpus(a.source)
    out = (
        Path(a.output)
        if a.output
        else Path(a.out) / "corpora" / f"{source.parent.name}-syn{a.docs}.jsonl.gz"
    )
    log(f"writing {a.docs:,} synthetic docs from {source} to {out} (seed {a.seed})")
    meta = generate(source, a.docs, out, seed=a.seed)
    print(json.dumps({"path": str(out), **meta}, indent=1))
    return 0


def cmd_report(a) -> int:
    from .report import judged_markdown, speed_chart, speed_markdown

    if a.targets:
        from .report import targets_markdown

        runs: dict[str, list[dict]] = {}
        for spec in a.results:
            key, _, path = spec.partition("=")
            if key not in ("1m", "reuters", "judged") or not path:
                raise SystemExit(f"--targets takes 1m=PATH, reuters=PATH, judged=PATH, not {spec}")
            runs.setdefault(key, []).append(json.loads(Path(path).read_text()))
        print(targets_markdown(runs))
        return 0
    results = [json.loads(Path(p).read_text()) for p in a.results]
    for r in results:
        print(judged_markdown(r) if r.get("kind") == "judged" else speed_markdown(r))
    speed = [r for r in results if r.get("kind") == "speed" and r["engines"]]
    from .report import have_matplotlib

    if speed and have_matplotlib():
        out = a.chart or str(Path(a.out) / "speed-combined.png")
        print(f"chart: {speed_chart(speed, out, cpu=a.cpu)}")
    return 0


def cmd_engines(a) -> int:
    from .runner import describe_engines

    for name, d in describe_engines(list(REGISTRY)).items():
        print(f"{name}:")
        for k, v in d.items():
            print(f"  {k}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description="newsindex benchmark harness"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("run", help="speed: build + query every engine, each in its own processes")
    p.add_argument(
        "--corpus", help="docs.jsonl[.gz] path or data-set name (default: bundled sample)"
    )
    p.add_argument(
        "--engines", default="all", help=f"comma list from: {', '.join(REGISTRY)} (default all)"
    )
    p.add_argument("--queries", help="query JSONL to use (default: generate and keep one)")
    p.add_argument("--n-queries", type=int, default=1200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--kinds", default=",".join(querygen.KINDS), help="query kinds to time")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3, help="timed passes (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed passes before timing")
    p.add_argument(
        "--build-repeat",
        type=int,
        default=1,
        help="builds per engine, each in a fresh process (median reported)",
    )
    p.add_argument("--limit", type=int, help="index only the first N docs")
    p.add_argument("--timeout", type=float, help="seconds per engine phase")
    p.add_argument("--in-process", action="store_true", help="no subprocesses (RSS not per engine)")
    p.add_argument(
        "--keep-index", action="store_true", help="keep the built indexes under OUT/index"
    )
    p.add_argument(
        "--passes",
        default="warm,cold",
        help="warm (one process, warm-up passes first) and/or cold (each timed pass in a fresh "
        "process after --cold-warmup queries)",
    )
    p.add_argument(
        "--cold-warmup",
        type=int,
        default=COLD_WARMUP,
        help="queries a cold pass answers untimed first",
    )
    p.add_argument(
        "--stream",
        action="store_true",
        help="build while reading the corpus (for corpora too big for memory, e.g. 10M docs)",
    )
    p.add_argument(
        "--reuse-index",
        action="store_true",
        help="search indexes kept by an earlier --keep-index run instead of building them",
    )
    p.add_argument("--name", help="report file stem (default speed-<corpus>[-<engines>])")
    p.add_argument(
        "--newsindex-workers",
        type=int,
        default=1,
        help="newsindex writer processes (default 1, like every peer's single indexing thread)",
    )
    p.add_argument(
        "--newsindex-cache-mb",
        type=int,
        default=None,
        help="newsindex's term-array cache, MiB (Index.open(cache_mb=...); default its own)",
    )
    _common(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("judged", help="nDCG@10 / MAP / recall@100 on the judged collections")
    p.add_argument("--sets", default=",".join(JUDGED_SETS))
    p.add_argument("--engines", default="all")
    p.add_argument("--depth", type=int, default=100)
    p.add_argument("--k1", type=float, default=1.2, help="peers' k1 (newsindex uses its defaults)")
    p.add_argument("--b", type=float, default=0.75, help="peers' b")
    p.add_argument(
        "--newsindex-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a newsindex.Scoring option for newsindex's run (proximity=0.5, feedback=on, "
        "fb_docs=10, k1=1.2 ...); repeatable",
    )
    _common(p)
    p.set_defaults(fn=cmd_judged)

    p = sub.add_parser("queries", help="generate a seeded query file from a corpus")
    p.add_argument("--corpus")
    p.add_argument(
        "--n", type=int, default=1200, help="terms queries (each also gets a filtered twin)"
    )
    p.add_argument("--phrases", type=int, help="phrase queries (default n/4)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(fn=cmd_queries)

    p = sub.add_parser("scale", help="write a seeded synthetic corpus built from a real one")
    p.add_argument("--source", default="reuters21578", help="real corpus (path or data-set name)")
    p.add_argument("--docs", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", help="default OUT/corpora/<source>-syn<docs>.jsonl.gz")
    _common(p)
    p.set_defaults(fn=cmd_scale)

    p = sub.add_parser(
        "report", help="re-render markdown from result JSONs; one chart over all of them"
    )
    p.add_argument("results", nargs="+")
    p.add_argument("--chart", help="PNG path (default OUT/speed-combined.png)")
    p.add_argument(
        "--cpu", action="store_true", help="chart per CPU second (runs on a loaded machine)"
    )
    p.add_argument(
        "--targets",
        action="store_true",
        help="issue 15's targets table from 1m=RESULT.json reuters=RESULT.json judged=RESULT.json",
    )
    _common(p)
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser(
        "engines", help="list engines, whether they are installed, and their configuration"
    )
    p.set_defaults(fn=cmd_engines)

    # Listed for --help only: main() hands "tune ..." straight to benchmarks.tune.main.
    sub.add_parser(
        "tune", help="k1 / b / title-weight search for newsindex (python -m benchmarks tune --help)"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["tune"]:  # tune.py owns its options; argparse REMAINDER would eat none of them
        from . import tune

        return tune.main(argv[1:])
    a = build_parser().parse_args(argv)
    return a.fn(a)
