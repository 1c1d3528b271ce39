"""Query generator and synthetic-corpus generator: seeded, well-formed, labelled."""

import datetime as dt
import gzip
import json
import sys
from pathlib import Path

# The harness lives in benchmarks/ at the repository root; make it importable under plain
# `pytest` too (python -m pytest puts the working directory on sys.path, pytest does not).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import querygen
from benchmarks.corpus import corpus_meta, iter_docs
from benchmarks.scale import generate, sentences
from benchmarks.textutil import LUCENE_STOP_WORDS, clean_query, words

DOCS = [
    {
        "id": str(i),
        "title": f"The {w} market report: prices of {w} rise",
        "body": f"Prices rose. The {w} trade grew! More {w} news.",
        "date": f"1987-0{1 + i % 9}-1{i % 10}",
        "section": ["a", "b", "c"][i % 3],
        "source": "S",
    }
    for i, w in enumerate(
        ["cocoa", "sugar", "coffee", "wheat", "copper", "zinc", "gold", "tin"] * 5
    )
]


def test_queries_seeded_and_well_formed():
    q1 = querygen.generate(DOCS, n=30, seed=5)
    assert q1 == querygen.generate(DOCS, n=30, seed=5)
    assert q1 != querygen.generate(DOCS, n=30, seed=6)
    kinds = querygen.by_kind(q1)
    assert len(kinds["terms"]) == 30 and len(kinds["filtered"]) == 30 and len(kinds["phrase"]) == 7
    for q in kinds["terms"]:
        ws = q["text"].split()
        assert 1 <= len(ws) <= 4 and not set(ws) & LUCENE_STOP_WORDS
    span = (dt.date(1987, 9, 18) - dt.date(1987, 1, 10)).days + 1
    for q, t in zip(kinds["filtered"], kinds["terms"]):
        assert q["text"] == t["text"] and q["section"] in {"a", "b", "c"}
        lo, hi, _ = querygen.filter_args(q)
        assert dt.date(1987, 1, 10) <= lo <= hi <= dt.date(1987, 9, 18)
        assert (hi - lo).days + 1 == round(span / 4)
    for q in kinds["phrase"]:
        assert 2 <= len(q["text"].split()) <= 3


def test_filtered_hit_queries_hold_their_source_story():
    """Each filtered_hit query keeps its terms twin's words, a quarter-span window and a
    section such that some story has every word in its title, its date in the window and
    that section; adding the kind left the other kinds' queries as they were."""
    qs = querygen.generate(DOCS, n=30, seed=5)
    kinds = querygen.by_kind(qs)
    assert len(kinds["filtered_hit"]) == 30
    span = (dt.date(1987, 9, 18) - dt.date(1987, 1, 10)).days + 1
    for q, t in zip(kinds["filtered_hit"], kinds["terms"]):
        assert q["text"] == t["text"]
        lo, hi, section = querygen.filter_args(q)
        assert dt.date(1987, 1, 10) <= lo <= hi <= dt.date(1987, 9, 18)
        assert (hi - lo).days + 1 == round(span / 4)
        words = set(q["text"].split())
        assert any(
            words <= set(d["title"].lower().replace(":", " ").split())
            and lo <= dt.date.fromisoformat(d["date"]) <= hi
            and d["section"] == section
            for d in DOCS
        ), q
    without = [q for q in qs if q["kind"] not in ("filtered_hit", "long")]
    assert [q["kind"] for q in without] == ["terms"] * 30 + ["filtered"] * 30 + ["phrase"] * 7


def test_long_queries_are_10_to_20_words_of_one_story():
    """Each long query is 10-20 distinct content words, in the order one story (title, then
    body) has them; they come from their own random stream, so the other kinds are unchanged."""
    docs = [
        {
            "id": str(i),
            "title": f"Report {i}: market prices",
            "body": " ".join(f"w{chr(97 + j % 26)}{chr(97 + (i + j) % 26)}x" for j in range(40)),
        }
        for i in range(20)
    ]
    qs = querygen.generate(docs, n=25, seed=4)
    kinds = querygen.by_kind(qs)
    assert len(kinds["long"]) == 5
    texts = [words(d["title"] + " " + d["body"]) for d in docs]
    for q in kinds["long"]:
        ws = q["text"].split()
        assert 10 <= len(ws) <= 20 and len(set(ws)) == len(ws)
        assert not set(ws) & LUCENE_STOP_WORDS
        # A subsequence of one story's words.
        assert any(_subsequence(ws, t) for t in texts), q
    older = [q for q in qs if q["kind"] != "long"]
    assert older == [q for q in querygen.generate(docs, n=25, seed=4, longs=0)]
    # Stories too short for 10 content words give none.
    short = [{"id": "1", "title": "Oil prices rise", "body": "Opec cut output again."}]
    assert querygen.by_kind(querygen.generate(short, n=10, seed=1)).get("long") is None


def _subsequence(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(w == h for h in it) for w in needle)


def test_judged_requests_are_long_queries(tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_text(
        json.dumps({"id": 1, "text": "What are the problems of indexing titles?"})
        + "\n"
        + json.dumps({"id": "2", "text": "The."})
        + "\n"
    )
    (q,) = querygen.requests(path)  # a request of stop words only asks nothing
    assert q == {
        "id": "1",
        "kind": "long",
        "text": "what problems indexing titles",
        "raw": "What are the problems of indexing titles?",
    }


def test_query_file_roundtrip_and_plain_queries(tmp_path):
    qs = querygen.generate(DOCS, n=5, seed=1)
    path = querygen.save(qs, tmp_path / "q.jsonl")
    assert querygen.load(path) == qs
    plain = tmp_path / "plain.jsonl"
    plain.write_text(
        json.dumps({"id": 7, "text": "What are the effects of the regime's policy?"}) + "\n"
    )
    (q,) = querygen.load(plain)
    assert q["kind"] == "terms" and q["id"] == "7" and q["text"] == "what effects regime policy"
    assert clean_query("U.S. oil-prices") == "u s oil prices"


def test_sentences():
    assert sentences("Oil rose. Gold fell!  Tin\nwas flat.") == [
        "Oil rose.",
        "Gold fell!",
        "Tin was flat.",
    ]


def test_scale_generator_seeded_and_labelled(tmp_path):
    src = tmp_path / "src.jsonl.gz"
    with gzip.open(src, "wt") as fh:
        for d in DOCS:
            fh.write(json.dumps(d) + "\n")
    out1, out2 = tmp_path / "syn1.jsonl.gz", tmp_path / "syn2.jsonl.gz"
    generate(src, 50, out1, seed=3)
    generate(src, 50, out2, seed=3)
    a, b = list(iter_docs(out1)), list(iter_docs(out2))
    assert a == b and len(a) == 50
    assert len({d["id"] for d in a}) == 50
    real_sentences = {s for d in DOCS for s in sentences(d["body"])}
    for d in a:
        assert d["extra"]["synthetic"] is True
        assert all(s in real_sentences for s in sentences(d["body"]))
        assert d["date"] in {x["date"] for x in DOCS}
    meta = corpus_meta(out1)
    assert meta["synthetic"] is True and meta["docs"] == 50 and meta["seed"] == 3


def test_cli_entry_point_writes_queries(tmp_path, capsys):
    import benchmarks

    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    out = tmp_path / "q.jsonl"
    assert (
        benchmarks.main(
            ["queries", "--corpus", str(src), "--n", "12", "--seed", "2", "-o", str(out)]
        )
        == 0
    )
    assert len(querygen.by_kind(querygen.load(out))["terms"]) == 12
    assert benchmarks.main(["engines"]) == 0
    assert "tantivy" in capsys.readouterr().out


def test_a_newsindex_search_process_imports_no_stemmer():
    """The harness's search process imports what searching needs: for newsindex not its
    stemmer (stems of indexed words are stored), so its import time and RSS are not counted
    there; the build process imports the stemmer up front, and never nltk."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from benchmarks.engines import make_engine;"
        " m = 'newsindex.analysis.snowball';"
        " make_engine('newsindex', 'search'); a = m in sys.modules;"
        " make_engine('newsindex', 'build'); print(a, m in sys.modules, 'nltk' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, root], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True", "False"]


def test_leave_one_out_prefers_never_behind_over_the_best_mean():
    from hypothesis import given
    from hypothesis import strategies as st

    from benchmarks.tune import TOLERANCE, leave_one_out, robust_key

    sets = ["a", "b", "c"]
    scores = st.floats(0.0, 1.0)

    @given(
        table=st.dictionaries(
            st.integers(0, 30), st.tuples(scores, scores, scores), min_size=1, max_size=12
        ),
        peer=st.tuples(scores, scores, scores),
    )
    def check(table, peer):
        results = {(k,): {s: {"ndcg@10": v} for s, v in zip(sets, row)} for k, row in table.items()}
        best_peer = dict(zip(sets, peer))
        loo = leave_one_out(results, sets, best_peer)
        for held in sets:
            others = [s for s in sets if s != held]
            chosen = results[tuple(loo[held]["setting"])]
            worst = min(chosen[s]["ndcg@10"] - best_peer[s] for s in others)
            mean = sum(chosen[s]["ndcg@10"] for s in others) / 2
            for per in results.values():
                w = min(per[s]["ndcg@10"] - best_peer[s] for s in others)
                m = sum(per[s]["ndcg@10"] for s in others) / 2
                if (
                    worst >= -TOLERANCE
                ):  # chosen is never behind: nothing never behind beats its mean
                    assert w < -TOLERANCE or m <= mean + 1e-12
                else:  # nothing is never behind: nothing is less behind
                    assert w <= worst + 1e-12
            assert loo[held]["ndcg@10"] == chosen[held]["ndcg@10"]
            assert robust_key(chosen, best_peer, others)[0] == min(worst, -TOLERANCE)

    check()
