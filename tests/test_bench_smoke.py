"""The benchmark harness end to end, in-process, on a tiny corpus, with newsindex alone."""

import gzip
import json
import random
import sys
from pathlib import Path

# The harness lives in benchmarks/ at the repository root; make it importable under plain
# `pytest` too (python -m pytest puts the working directory on sys.path, pytest does not).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest

from benchmarks import querygen
from benchmarks.report import have_matplotlib, save_speed
from benchmarks.runner import run_benchmark

WORDS = (
    "oil prices rise opec output cut bank rates interest dollar yen trade deficit grain wheat "
    "exports coffee cocoa sugar gold shares profit quarter earnings merger acquisition talks "
    "government budget tax inflation growth strike port shipping copper steel"
).split()
SECTIONS = ["crude", "money-fx", "grain", "earn", "acq", None]


def _corpus(path, n=80, seed=7):
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i in range(n):
            title = " ".join(rng.sample(WORDS, 4)).upper()
            body = ". ".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(4)) + "."
            doc = {
                "id": f"d{i}",
                "title": title,
                "body": body,
                "date": f"1987-{rng.randint(2, 10):02d}-{rng.randint(1, 28):02d}T10:00:00",
                "source": "Test",
                "section": rng.choice(SECTIONS),
                "author": None,
                "url": None,
                "extra": {},
            }
            fh.write(json.dumps(doc) + "\n")
    return path


@pytest.fixture(scope="module")
def newsindex_ready():
    import newsindex

    return newsindex


def test_harness_smoke(newsindex_ready, tmp_path):
    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    result = run_benchmark(
        corpus,
        ["newsindex"],
        n_queries=20,
        seed=1,
        k=10,
        repeat=1,
        warmup=1,
        out_dir=tmp_path / "out",
        in_process=True,
        build_repeat=3,
    )
    paths = save_speed(result, tmp_path / "out")
    assert paths["json"].is_file() and paths["md"].is_file()
    if have_matplotlib():  # the chart is optional: matplotlib comes with the bench extra only
        assert paths["png"].is_file() and paths["png"].stat().st_size > 1000
    assert "newsindex" in paths["md"].read_text()

    e = result["engines"]["newsindex"]
    assert e["docs"] == 80
    # Three builds, the median one reported.
    assert len(e["build_s_all"]) == 3 and e["build_s"] == sorted(e["build_s_all"])[1]
    assert e["docs_per_s"] > 0 and e["build_s"] > 0 and e["size_bytes"] > 0
    assert e["build_cpu_s"] > 0 and e["docs_per_cpu_s"] > 0
    terms = e["kinds"]["terms"]
    assert terms["qps"] > 0 and terms["p50_ms"] > 0 and terms["queries"] == 20
    # Queries are drawn from titles, so every one must find something.
    assert terms["empty"] == 0 and terms["mean_hits"] > 0
    run = json.loads(paths["json"].read_text())["engines"]["newsindex"]["kinds"]["terms"]
    assert open(run["run_file"]).read().strip()
    # Filtered/phrase need the query language; until it lands they are skipped with a reason.
    for kind in ("filtered", "filtered_hit", "phrase"):
        fig = e["kinds"].get(kind, {})
        assert ("qps" in fig and fig["qps"] > 0) or "skipped" in fig
    # filtered_hit keeps each query's source story inside its filters.
    assert e["kinds"]["filtered_hit"]["empty"] == 0


def test_query_file_is_reused(tmp_path):
    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    from benchmarks.runner import ensure_queries

    p1 = ensure_queries(corpus, None, 10, 3, tmp_path)
    first = p1.read_text()
    p2 = ensure_queries(corpus, None, 10, 3, tmp_path)
    assert p1 == p2 and p2.read_text() == first
    kinds = querygen.by_kind(querygen.load(p1))
    assert len(kinds["terms"]) == 10 and len(kinds["filtered"]) == 10


def test_cold_passes_streamed_build_and_kept_index(newsindex_ready, tmp_path):
    """Cold figures come from passes that skip the warm-up queries; a streamed build indexes
    the same articles and answers the same as a loaded one; a kept index is searched again
    without being rebuilt."""
    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    kw = dict(n_queries=30, seed=1, repeat=2, in_process=True, cold_warmup=5, keep_index=True)
    loaded = run_benchmark(corpus, ["newsindex"], out_dir=tmp_path / "a", **kw)
    streamed = run_benchmark(corpus, ["newsindex"], out_dir=tmp_path / "b", stream=True, **kw)
    a, b = loaded["engines"]["newsindex"], streamed["engines"]["newsindex"]
    assert a["docs"] == b["docs"] == 80 and b["streamed"] and not a["streamed"]
    cold = b["cold"]["kinds"]
    counts = streamed["queries"]["counts"]
    for kind, fig in cold.items():
        assert fig["queries"] == counts[kind] - 5 and fig["passes"] == 2 and fig["qps"] > 0
        assert fig["p50_ms"] <= fig["p95_ms"]
    assert set(cold) == {k for k, n in counts.items() if n > 5} and "long" in cold
    assert b["cold"]["peak_rss_search_mib"] > 0
    for kind in ("terms", "phrase", "long"):
        run_a = open(a["kinds"][kind]["run_file"]).read()
        assert run_a and run_a == open(b["kinds"][kind]["run_file"]).read()
    again = run_benchmark(
        corpus, ["newsindex"], out_dir=tmp_path / "b", stream=True, reuse_index=True, **kw
    )
    e = again["engines"]["newsindex"]
    assert e["build_s"] == b["build_s"] and e["kinds"]["terms"]["empty"] == 0
    md = save_speed(again, tmp_path / "b")["md"].read_text()
    assert "Cold: each timed pass" in md and "| long q/s" in md


def test_tantivy_stored_keeps_every_field(tmp_path):
    """tantivy-stored stores what newsindex stores (so its size compares like for like) and is
    built for its size only; the ids-only tantivy is the one searched."""
    pytest.importorskip("tantivy")
    from benchmarks.engines import make_engine

    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    result = run_benchmark(
        corpus,
        ["tantivy", "tantivy-stored"],
        n_queries=10,
        seed=1,
        repeat=1,
        in_process=True,
        passes=("warm",),
        out_dir=tmp_path / "out",
        keep_index=True,
    )
    ids, stored = result["engines"]["tantivy"], result["engines"]["tantivy-stored"]
    assert "kinds" in ids and "kinds" not in stored
    assert stored["size_bytes"] > ids["size_bytes"]
    eng = make_engine("tantivy-stored", "search")
    eng.open(tmp_path / "out" / "index" / "tiny" / "tantivy-stored")
    (hit,) = eng.searcher.search(eng.index.parse_query("id:d3", ["id"]), 1).hits
    doc = eng.searcher.doc(hit[1])
    first = [json.loads(line) for line in gzip.open(corpus, "rt")][3]
    assert doc["title"] == [first["title"]] and doc["body"] == [first["body"]]
    assert doc["source"] == [first["source"]]
    eng.close()


def test_targets_table_gives_each_ratio_from_the_run(tmp_path):
    pytest.importorskip("tantivy")
    from benchmarks.report import targets_markdown

    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    result = run_benchmark(
        corpus,
        ["newsindex", "tantivy", "tantivy-stored"],
        n_queries=30,
        seed=1,
        repeat=1,
        in_process=True,
        cold_warmup=5,
        out_dir=tmp_path / "out",
    )
    rows = targets_markdown({"1m": [result]}).splitlines()
    ni, tv = result["engines"]["newsindex"], result["engines"]["tantivy"]
    want = ni["cold"]["kinds"]["terms"]["qps"] / tv["cold"]["kinds"]["terms"]["qps"]
    (row,) = [r for r in rows if r.startswith("| top-10 q/s cold >= 1.0x tantivy")]
    assert f"| {want:.2f}x (" in row
    size = ni["size_bytes"] / result["engines"]["tantivy-stored"]["size_bytes"]
    (row,) = [r for r in rows if r.startswith("| index size")]
    assert f"| {size:.2f}x |" in row
    assert any(r.startswith("| long q/s cold >= 0.5x tantivy") for r in rows)
    assert not any("bm25s" in r for r in rows)  # not in this run: no row
    if have_matplotlib():  # per CPU second over several runs (a loaded machine's chart)
        from benchmarks.report import speed_chart

        png = speed_chart([result, result], tmp_path / "cpu.png", cpu=True)
        assert png.stat().st_size > 1000


@pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="reads Linux's /proc")
def test_memory_split_accounts_a_search_process(newsindex_ready, tmp_path):
    """benchmarks.memory_split answers a kind of a kept run's queries in a fresh process and
    splits its memory: every index array's resident bytes within its size, the arrays of
    the index present, what the phrases left in the term-array cache."""
    import re
    import subprocess

    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    kw = dict(n_queries=30, seed=1, repeat=1, in_process=True, keep_index=True)
    run_benchmark(corpus, ["newsindex"], out_dir=tmp_path / "a", **kw)
    (workdir,) = (tmp_path / "a" / "index").glob("*/newsindex")
    (queries,) = (tmp_path / "a" / "queries").glob("*.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_split", str(workdir), str(queries), "phrase"]
        + ["--warmup", "2"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    held = float(re.search(r"term-array cache ([\d.]+) MiB", out).group(1))
    assert 0 < held <= 256, out  # (phrases keep their words' position keys)
    arrays = {
        m.group(3): (float(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"^\s+([\d.]+) /\s+([\d.]+)\s+(\S+)$", out, re.M)
    }
    assert {"post.tf", "pos.u8", "date"} <= set(arrays), out
    # (Whole pages: an array's resident part passes its size by less than two pages, the
    # corpus being one segment.)
    assert all(res <= size + 0.0085 for res, size in arrays.values()), out
    assert arrays["pos.u8"][0] > 0, out  # the phrases read positions
    assert re.search(r"phrase: \d+ queries after 2, \d+ per CPU s", out), out


def test_newsindex_cache_budget_reaches_the_engine(newsindex_ready, tmp_path):
    """``--newsindex-cache-mb`` becomes the engine's ``cache_mb``: the run says so and
    answers as the default budget's run does (the cache never changes an answer)."""
    from benchmarks.cli import _newsindex_params, build_parser

    args = build_parser().parse_args(["run", "--corpus", "x", "--newsindex-cache-mb", "0"])
    assert _newsindex_params(args) == {"workers": 1, "cache_mb": 0}
    plain = build_parser().parse_args(["run", "--corpus", "x"])
    assert _newsindex_params(plain) == {"workers": 1}
    corpus = _corpus(tmp_path / "tiny.jsonl.gz")
    kw = dict(n_queries=30, seed=1, repeat=1, in_process=True, passes=("warm",))
    default = run_benchmark(corpus, ["newsindex"], out_dir=tmp_path / "a", **kw)
    bare = run_benchmark(
        corpus,
        ["newsindex"],
        out_dir=tmp_path / "b",
        params={"newsindex": _newsindex_params(args)},
        **kw,
    )
    a, b = default["engines"]["newsindex"], bare["engines"]["newsindex"]
    assert b["describe"]["cache"] == "Index.open(cache_mb=0)" and "cache" not in a["describe"]
    for kind in ("terms", "phrase"):
        assert (
            open(a["kinds"][kind]["run_file"]).read() == open(b["kinds"][kind]["run_file"]).read()
        )
