"""Reports: the JSON results as written, a markdown summary, and a PNG chart (matplotlib, Agg).

Every figure from a synthetic corpus says so in its title, table caption and legend.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import querygen

KIND_LABEL = {
    "terms": "top-10",
    "filtered": "filtered",
    "filtered_hit": "filtered (hits)",
    "phrase": "phrase",
    "long": "long",
}


def _f(x, digits: int = 0, none: str = "-") -> str:
    if x is None:
        return none
    return f"{x:,.{digits}f}"


def _load(avg) -> str:
    return "/".join(f"{x:.2f}" for x in avg) if avg else "?"


def corpus_label(result: dict) -> str:
    c = result["corpus"]
    n = next((e["docs"] for e in result["engines"].values() if "docs" in e), None)
    label = f"{c['tag']} ({_f(n)} docs)" if n else c["tag"]
    return label + (" [SYNTHETIC]" if c.get("synthetic") else "")


def _query_head(kinds: list[str]) -> str:
    return " | ".join(f"{KIND_LABEL[k]} q/s (CPU) | {KIND_LABEL[k]} p50/p95/p99" for k in kinds)


def _query_cells(figs: dict, kinds: list[str]) -> list[str]:
    cells = []
    for kind in kinds:
        fig = figs.get(kind, {})
        if "qps" not in fig:
            cells += ["n/a", "n/a"]
            continue
        qps = _f(fig["qps"]) + (f" ({_f(fig['cpu_qps'])})" if fig.get("cpu_qps") else "")
        cells += [qps, f"{fig['p50_ms']:.3f} / {fig['p95_ms']:.3f} / {fig['p99_ms']:.3f}"]
    return cells


def speed_markdown(result: dict) -> str:
    """Two tables (indexing, querying), agreement, skipped engines, and each engine's config."""
    s, m = result["settings"], result["machine"]
    lines = [f"# Speed: {corpus_label(result)}", ""]
    if result["corpus"].get("synthetic"):
        lines += [
            "**Synthetic corpus**: sentences and metadata resampled from a real one; "
            "figures describe scale behaviour, not real-world relevance.",
            "",
        ]
    counts = ", ".join(f"{v} {k}" for k, v in result["queries"]["counts"].items())
    lines += [
        f"k={s['k']}, {s['warmup']} warm-up pass(es), median of {s['repeat']} timed passes, one thread; "
        f"queries: {counts} (`{Path(result['queries']['path']).name}`).",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Python {m['python']}; "
        f"load average at start {_load(m.get('loadavg'))}, at end {_load(result.get('loadavg_end'))}; "
        f"newsindex at {m.get('newsindex_source') or '?'}."
        + (" In-process run: RSS figures are not per engine." if s.get("in_process") else "")
        + (
            f" Each engine built {s['build_repeat']} times, each in a fresh process: the median build"
            " is shown, every build time in the JSON (`build_s_all`)."
            if s.get("build_repeat", 1) > 1
            else ""
        ),
        "",
        "## Indexing",
        "",
        "| engine | docs | build s | docs/s (CPU) | size MiB | peak RSS build MiB (docs loaded) | import s | open s "
        "| peak RSS search MiB (cold) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in result["engines"].items():
        cold = e.get("cold", {})
        rss = _f(e.get("peak_rss_search_mib")) + (
            f" ({_f(cold.get('peak_rss_search_mib'))})" if cold else ""
        )
        lines.append(
            f"| {name} | {_f(e.get('docs'))} | {_f(e.get('build_s'), 2)} | {_f(e.get('docs_per_s'))}"
            + (f" ({_f(e['docs_per_cpu_s'])})" if e.get("docs_per_cpu_s") else "")
            + " | "
            f"{_f(e.get('size_bytes', 0) / 2**20, 1)} | {_f(e.get('peak_rss_build_mib'))} "
            f"({_f(e.get('rss_docs_loaded_mib'))}) | {_f(e.get('import_s'), 3)} | {_f(e.get('open_s'), 3)} | "
            f"{rss} |"
        )
    if s.get("stream"):
        lines += [
            "",
            "Streamed builds: each engine read the corpus while indexing, so build times include "
            "gunzip and JSON parsing, for every engine alike.",
        ]
    lines += [
        "",
        "## Querying",
        "",
        "q/s = queries / wall seconds of a pass; (CPU) = queries / CPU seconds of the same pass, "
        "less sensitive to other load on the machine; latency in ms.",
        "",
    ]
    kinds = [k for k in querygen.KINDS if k in result["queries"]["counts"]]
    passes = s.get("passes", ["warm"])
    for pas in passes:
        if pas == "cold":
            lines += [
                "",
                f"Cold: each timed pass of each kind in a fresh process that opens the index and "
                f"answers {s.get('cold_warmup')} other queries of the kind first; median of "
                f"{s['repeat']} such passes; peak RSS is the largest of those processes'.",
                "",
            ]
        elif len(passes) > 1:
            lines += ["", f"Warm: one process, {s['warmup']} untimed pass(es) first.", ""]
        lines.append(f"| engine | {_query_head(kinds)} |")
        lines.append("|---|" + "---:|---:|" * len(kinds))
        for name, e in result["engines"].items():
            figs = e.get("cold", {}).get("kinds", {}) if pas == "cold" else e.get("kinds", {})
            if "kinds" not in e or (pas == "cold" and "cold" not in e):
                continue  # built for its size only, or not searched cold
            lines.append(f"| {name} | " + " | ".join(_query_cells(figs, kinds)) + " |")
    agr = result.get("agreement") or {}
    if agr.get("kinds"):
        lines += [
            "",
            f"## Result agreement: mean overlap@{agr['k']} with {agr['reference']}",
            "",
            "| engine | "
            + " | ".join(KIND_LABEL[k] for k in agr["kinds"])
            + " | empty result lists |",
            "|---|" + "---:|" * (len(agr["kinds"]) + 1),
        ]
        for name, e in result["engines"].items():
            if "kinds" not in e:
                continue
            vals = [_f(agr["kinds"][k].get(name), 2) for k in agr["kinds"]]
            empty = ", ".join(
                f"{KIND_LABEL[k]} {f['empty']}"
                for k, f in e.get("kinds", {}).items()
                if "empty" in f
            )
            lines.append(f"| {name} | " + " | ".join(vals) + f" | {empty} |")
    notes = [f"- {n}: {r}" for n, r in result.get("skipped", {}).items()]
    for name, e in result["engines"].items():
        for kind, fig in e.get("kinds", {}).items():
            if "skipped" in fig:
                notes.append(f"- {name} {KIND_LABEL[kind]}: {fig['skipped']}")
        if e.get("search_error"):
            notes.append(f"- {name} search: {e['search_error']}")
    if notes:
        lines += ["", "## Skipped", "", *notes]
    lines += ["", "## Configurations", ""]
    for name, e in result["engines"].items():
        d = e.get("describe", {})
        lines.append(
            f"- **{name}** ({d.get('engine', '?')}): "
            + "; ".join(f"{k}: {v}" for k, v in d.items() if k != "engine")
        )
    return "\n".join(lines) + "\n"


def speed_chart(results: list[dict], path: Path | str, cpu: bool = False) -> Path:
    """docs/s and q/s per engine: grouped bars for one corpus, lines over corpus size for several.

    ``cpu``: per CPU second of the engine's process instead of per wall second (several runs
    only), for runs made while other work loaded the machine."""
    build_key, qps_key = ("docs_per_cpu_s", "cpu_qps") if cpu else ("docs_per_s", "qps")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    if len(results) == 1:
        r = results[0]
        names = list(r["engines"])
        xs = range(len(names))
        bars = ax1.bar(
            xs, [r["engines"][n].get("docs_per_s") or 0 for n in names], color="tab:blue"
        )
        ax1.bar_label(bars, fmt="{:,.0f}", fontsize=8)
        ax1.set_xticks(list(xs), names, rotation=20)
        ax1.set_ylabel("documents / s (build, 1 thread)")
        kinds = [k for k in querygen.KINDS if k in r["queries"]["counts"]]
        width = 0.8 / max(1, len(kinds))
        for i, kind in enumerate(kinds):
            vals = [r["engines"][n].get("kinds", {}).get(kind, {}).get("qps") or 0 for n in names]
            bars = ax2.bar(
                [x + (i - (len(kinds) - 1) / 2) * width for x in xs],
                vals,
                width,
                label=KIND_LABEL[kind],
            )
            ax2.bar_label(
                bars,
                labels=[f"{v:,.0f}" if v else "n/a" for v in vals],
                fontsize=6,
                rotation=90,
                padding=2,
            )
        ax2.set_xticks(list(xs), names, rotation=20)
        ax2.legend()
        fig.suptitle(f"Speed on {corpus_label(r)}")
    else:
        from .engines import REGISTRY

        present = {n for r in results for n in r["engines"]}
        # Registry order, as in the tables, so an engine keeps its colour from chart to chart.
        engines = [n for n in REGISTRY if n in present] + sorted(present - set(REGISTRY))
        for n in engines:
            pts = sorted(
                (
                    r["engines"][n]["docs"],
                    r["engines"][n].get(build_key),
                    r["engines"][n].get("kinds", {}).get("terms", {}).get(qps_key),
                    r["corpus"].get("synthetic"),
                    r["engines"][n].get("cold", {}).get("kinds", {}).get("terms", {}).get(qps_key),
                )
                for r in results
                if n in r["engines"] and "docs" in r["engines"][n]
            )
            if not pts:
                continue
            line = ax1.plot([p[0] for p in pts if p[1]], [p[1] for p in pts if p[1]], "-", label=n)[
                0
            ]
            ax2.plot(
                [p[0] for p in pts if p[2]],
                [p[2] for p in pts if p[2]],
                "-",
                color=line.get_color(),
                label=f"{n} (warm)",
            )
            if any(p[4] for p in pts):
                ax2.plot(
                    [p[0] for p in pts if p[4]],
                    [p[4] for p in pts if p[4]],
                    "--",
                    color=line.get_color(),
                    label=f"{n} (cold)",
                )
            for p in pts:  # hollow markers = synthetic corpus
                face = "none" if p[3] else line.get_color()
                if p[1]:
                    ax1.plot([p[0]], [p[1]], "o", mfc=face, color=line.get_color())
                if p[2]:
                    ax2.plot([p[0]], [p[2]], "o", mfc=face, color=line.get_color())
        for ax in (ax1, ax2):
            ax.set_xscale("log")
            ax.set_xlabel("corpus size (docs); hollow marker = SYNTHETIC corpus")
        per = "CPU s" if cpu else "s"
        ax1.set_ylabel(f"documents / {per} (build, 1 thread)")
        ax2.set_ylabel(f"queries / {per} (top-10, 1 thread)")
        ax1.legend()
        ax2.legend(fontsize=7)
        tags = ", ".join(corpus_label(r) for r in results)
        fig.suptitle(f"Speed vs corpus size: {tags}", fontsize=9)
    if len(results) == 1:
        ax2.set_ylabel("queries / s (top-10, 1 thread)")
    for ax in (ax1, ax2):
        ax.set_yscale("log")
        ax.grid(True, which="both", axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_speed(result: dict, out_dir: Path | str, name: str | None = None) -> dict:
    """Write ``<name>.json``, ``.md`` and ``.png`` under ``out_dir``; returns their paths.

    The default name is ``speed-<corpus>``, plus the engine list when it is not every engine,
    so a quick run of two engines does not overwrite the full comparison.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not name:
        from .engines import REGISTRY

        asked = result["settings"].get("engines") or list(REGISTRY)
        name = f"speed-{result['corpus']['tag']}"
        if set(asked) != set(REGISTRY):
            name += "-" + "+".join(asked)
    stem = out_dir / name
    paths = {
        "json": stem.with_suffix(".json"),
        "md": stem.with_suffix(".md"),
        "png": stem.with_suffix(".png"),
    }
    paths["json"].write_text(json.dumps(result, indent=1))
    paths["md"].write_text(speed_markdown(result))
    if result["engines"] and have_matplotlib():
        speed_chart([result], paths["png"])
    else:
        if result["engines"]:
            print(
                "[bench] matplotlib is not installed: no chart (pip install matplotlib)",
                file=sys.stderr,
            )
        del paths["png"]
    return paths


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def judged_markdown(result: dict) -> str:
    """nDCG@10, MAP and recall@100 per engine and collection, like the table in data/README.md."""
    sets = result["sets"]
    lines = [
        f"# Ranking quality on the judged collections (top-{result['settings']['depth']} runs)",
        "",
        "Same cleaned queries for every engine (lowercase words, Lucene's 33 stop words dropped); "
        "linear gain; queries without a relevant document are left out; "
        f"peers at k1={result['settings']['k1']} b={result['settings']['b']} where settable.",
        "",
    ]
    for metric in ("ndcg@10", "map", "recall@100"):
        lines += [
            f"## {metric}",
            "",
            "| engine | " + " | ".join(sets) + " | mean |",
            "|---|" + "---:|" * (len(sets) + 1),
        ]
        for name in result["engines"]:
            vals = [result["scores"].get(s, {}).get(name, {}).get(metric) for s in sets]
            present = [v for v in vals if v is not None]
            mean = sum(present) / len(present) if len(present) == len(sets) else None
            lines.append(
                f"| {name} | " + " | ".join(_f(v, 3) for v in vals) + f" | {_f(mean, 3)} |"
            )
        lines.append("")
    if result.get("skipped"):
        lines += ["## Skipped", ""] + [f"- {k}: {v}" for k, v in result["skipped"].items()] + [""]
    lines += ["## Configurations", ""]
    for name, d in result.get("describe", {}).items():
        lines.append(
            f"- **{name}** ({d.get('engine', '?')}): "
            + "; ".join(f"{k}: {v}" for k, v in d.items() if k != "engine")
        )
    return "\n".join(lines) + "\n"


def save_judged(result: dict, out_dir: Path | str, stem: str = "judged") -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md"}
    paths["json"].write_text(json.dumps(result, indent=1))
    paths["md"].write_text(judged_markdown(result))
    return paths


#: Issue 15's query targets: (corpus key, kind, pass, peer, at least this ratio of the peer's q/s).
QPS_TARGETS = (
    ("1m", "terms", "cold", "tantivy", 1.0),
    ("1m", "terms", "warm", "tantivy", 1.0),
    ("1m", "phrase", "cold", "tantivy", 0.5),
    ("1m", "phrase", "warm", "tantivy", 0.5),
    ("1m", "filtered", "cold", "tantivy", 1.5),
    ("1m", "filtered", "warm", "tantivy", 1.5),
    ("1m", "long", "cold", "bm25s", 1.0),
    ("1m", "long", "cold", "tantivy", 0.5),
    ("reuters", "terms", "cold", "tantivy", 0.8),
    ("judged", "long", "cold", "bm25s", 1.0),
    ("judged", "long", "cold", "tantivy", 0.5),
)


def _fig(e: dict, kind: str, pas: str) -> dict:
    return (e.get("cold", {}).get("kinds", {}) if pas == "cold" else e.get("kinds", {})).get(
        kind, {}
    )


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def targets_markdown(runs: dict[str, list[dict]]) -> str:
    """Issue 15's targets as one table: newsindex's figure, the peer's, the ratio (wall; CPU in
    brackets) and the load average of the run. ``runs`` maps "1m", "reuters", "judged" to
    speed results (several judged collections: one row each)."""
    lines = [
        "| target | corpus | newsindex | peer | ratio (CPU) | met | load avg (start/end) |",
        "|---|---|---:|---:|---:|:-:|---|",
    ]

    def load(r: dict) -> str:
        return f"{_load(r['machine'].get('loadavg'))} / {_load(r.get('loadavg_end'))}"

    for key, kind, pas, peer, want in QPS_TARGETS:
        for r in runs.get(key, []):
            ni, other = r["engines"].get("newsindex"), r["engines"].get(peer)
            if not ni or not other:
                continue
            a, b = _fig(ni, kind, pas), _fig(other, kind, pas)
            if "qps" not in a or "qps" not in b:
                continue
            ratio = a["qps"] / b["qps"]
            cpu = _ratio(a.get("cpu_qps"), b.get("cpu_qps"))
            lines.append(
                f"| {KIND_LABEL[kind]} q/s {pas} >= {want}x {peer} | {r['corpus']['tag']} | "
                f"{_f(a['qps'])} (p95 {a['p95_ms']:.1f} ms) | {_f(b['qps'])} (p95 {b['p95_ms']:.1f} ms) "
                f"| {ratio:.2f}x ({cpu}) | {'yes' if ratio >= want else 'no'} | {load(r)} |"
            )
    for r in runs.get("1m", []):
        ni, tv = r["engines"].get("newsindex"), r["engines"].get("tantivy")
        if not ni or not tv:
            continue
        a, b = _fig(ni, "terms", "cold"), _fig(tv, "terms", "cold")
        if "p95_ms" in a and "p95_ms" in b:
            lines.append(
                f"| top-10 p95 cold <= tantivy's | {r['corpus']['tag']} | {a['p95_ms']:.2f} ms | "
                f"{b['p95_ms']:.2f} ms | {_ratio(a['p95_ms'], b['p95_ms'])} | "
                f"{'yes' if a['p95_ms'] <= b['p95_ms'] else 'no'} | {load(r)} |"
            )
        stored = r["engines"].get("tantivy-stored")
        if stored:
            sa, sb = ni["size_bytes"], stored["size_bytes"]
            lines.append(
                f"| index size <= 1.0x tantivy storing the same fields | {r['corpus']['tag']} | "
                f"{sa / 2**20:,.0f} MiB | {sb / 2**20:,.0f} MiB (ids only: "
                f"{tv['size_bytes'] / 2**20:,.0f}) | {sa / sb:.2f}x | {'yes' if sa <= sb else 'no'} "
                f"| {load(r)} |"
            )
        ra = ni.get("cold", {}).get("peak_rss_search_mib")
        rb = tv.get("cold", {}).get("peak_rss_search_mib")
        if ra and rb:
            lines.append(
                f"| search peak RSS <= 2x tantivy's (cold processes) | {r['corpus']['tag']} | "
                f"{ra:,.0f} MiB | {rb:,.0f} MiB | {ra / rb:.2f}x | {'yes' if ra <= 2 * rb else 'no'} "
                f"| {load(r)} |"
            )
    for key in ("reuters", "1m"):
        for r in runs.get(key, []):
            ni, tv = r["engines"].get("newsindex"), r["engines"].get("tantivy")
            if ni and tv and ni.get("docs_per_s") and tv.get("docs_per_s"):
                cpu = _ratio(ni.get("docs_per_cpu_s"), tv.get("docs_per_cpu_s"))
                ratio = ni["docs_per_s"] / tv["docs_per_s"]
                lines.append(
                    f"| indexing docs/s >= 0.9x tantivy | {r['corpus']['tag']} | "
                    f"{_f(ni['docs_per_s'])} | {_f(tv['docs_per_s'])} | {ratio:.2f}x ({cpu}) | "
                    f"{'yes' if ratio >= 0.9 else 'no'} | {load(r)} |"
                )
    return "\n".join(lines) + "\n"
