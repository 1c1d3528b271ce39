"""The work of one query is bounded: prefixes expand to at most a total number of terms per
query, repeated clauses holding a prefix are merged (same scores, the work of one), and a
query over the bound is refused with QueryTooExpensiveError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex import NewsIndexError, QuerySyntaxError, QueryTooExpensiveError
from newsindex.querylang import DEFAULT_EXPANSION_LIMIT, compile_query
from newsindex.querylang import plan as P

ROOT = Path(__file__).resolve().parents[1]
#: Prefixes of the sample's vocabulary, from a handful of terms to hundreds.
PREFIXES = ["co", "oil", "pri", "ban", "ex", "tr", "st", "wh", "dol", "zz"]
WORDS = ["oil", "prices", "bank", "trade", "wheat", "said"]
#: Most words and characters a test query holds (the parser's limits: 1,024 and 10,000).
MAX_WORDS = 1000
MAX_CHARS = 9000


def _leaves(node) -> int:
    """Terms of a plan's scoring leaves, each occurrence counted: the work a search does."""
    if isinstance(node, P.Bool):
        return sum(_leaves(c) for c in node.must + node.should + node.filter + node.must_not)
    if isinstance(node, P.Prefix):
        return len(node.terms)
    return 1 if isinstance(node, (P.Term, P.Phrase)) else 0


# A query: clauses (prefixes, words, groups of them), each maybe repeated, maybe boosted.
_atom = st.one_of(
    st.sampled_from(PREFIXES).map(lambda p: p + "*"),
    st.sampled_from(WORDS),
)
_group = st.lists(_atom, min_size=1, max_size=4).map(lambda xs: "(" + " ".join(xs) + ")")
_clause = st.tuples(
    st.one_of(_atom, _group, _group.map(lambda g: f"({g} {g})")),
    st.sampled_from(["", "^2", "^0.5"]),
    st.integers(1, 300),
)


def _fit(clauses) -> list:
    """``clauses`` with repeats cut so the query stays within the parser's limits."""
    out, words, chars = [], 0, 0
    for c, b, k in clauses:
        n, size = len(c.split()), len(c + b) + 1
        k = min(k, (MAX_WORDS - words) // n, (MAX_CHARS - chars) // size)
        if k < 1:
            break
        out.append((c, b, k))
        words += n * k
        chars += size * k
    return out


def _query(clauses) -> str:
    return " ".join(" ".join([c + b] * k) for c, b, k in clauses)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(clauses=st.lists(_clause, min_size=1, max_size=8), op=st.sampled_from(["or", "and"]))
def test_any_query_expands_to_a_bounded_plan_or_is_refused(sample_index, clauses, op):
    clauses = _fit(clauses)
    text = _query(clauses)
    calls = []
    expand = sample_index.expand_prefix

    def counting(prefix, fields):
        calls.append(prefix)
        return expand(prefix, fields)

    try:
        node = compile_query(
            text,
            analyzers={f: sample_index.analyzer(f) for f in ("title", "body")},
            default_operator=op,
            expand_prefix=counting,
        )
    except QueryTooExpensiveError as exc:
        assert isinstance(exc, QuerySyntaxError) and isinstance(exc, NewsIndexError)
        assert "too many terms" in str(exc)
        assert text[exc.position :].split()[0].lstrip("+-(").split("*")[0] in PREFIXES
        return
    # Every expansion is made once, however often its prefix repeats...
    assert len(calls) == len(set(calls))
    # ... and the plan holds at most the budget of expanded terms, plus the plain words.
    words = sum(len(c[0].split()) * c[2] for c in clauses)
    assert _leaves(node) <= DEFAULT_EXPANSION_LIMIT + words


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(clauses=st.lists(_clause, min_size=1, max_size=4), op=st.sampled_from(["or", "and"]))
def test_merged_repeats_score_as_the_sum_of_their_clauses(sample_index, clauses, op):
    """Reference: a document's score is the sum of its clauses' scores (each repeat counted),
    and under "and" it must match every clause; each clause is searched alone."""
    clauses = _fit([(c, b, min(k, 20)) for c, b, k in clauses])
    text = _query(clauses)
    try:
        got = sample_index.search(text, limit=2000, default_operator=op)
    except QueryTooExpensiveError:
        return
    want: dict[str, float] = {}
    matched: dict[str, int] = {}
    for c, b, k in clauses:
        for h in sample_index.search(c + b, limit=2000, default_operator=op).hits:
            want[h.id] = want.get(h.id, 0.0) + k * h.score
            matched[h.id] = matched.get(h.id, 0) + 1
    if op == "and":
        want = {i: s for i, s in want.items() if matched[i] == len(clauses)}
    assert got.total == len(want)
    assert {h.id: pytest.approx(h.score, rel=1e-9) for h in got.hits} == want


def test_a_repeated_prefix_is_expanded_and_scored_once(sample_index):
    once = sample_index.search("co*", limit=2000)
    many = sample_index.search("co* " * 1024, limit=2000)  # 4,096 characters
    assert [h.id for h in many.hits] == [h.id for h in once.hits]
    assert [h.score for h in many.hits] == pytest.approx([1024 * h.score for h in once.hits])


def test_too_many_expansions_are_refused_with_the_position(sample_index):
    n_co = len(sample_index.expand_prefix("co"))
    groups = DEFAULT_EXPANSION_LIMIT // n_co + 1
    text = " ".join(f"(co* w{i})" for i in range(groups))
    with pytest.raises(QueryTooExpensiveError, match="too many terms together") as caught:
        sample_index.search(text)
    assert isinstance(caught.value, ValueError)
    assert text[caught.value.position :].startswith("co*")
    # The limit is per Index and settable.
    sample_index.expansion_limit = groups * n_co
    try:
        assert sample_index.search(text).total == sample_index.count("co*")
    finally:
        sample_index.expansion_limit = DEFAULT_EXPANSION_LIMIT


_RSS_CHILD = """
import json, resource, sys
import newsindex
ix = newsindex.Index.open(sys.argv[1])
ix.search("oil")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = []
for text in json.loads(sys.argv[2]):
    try:
        out.append(ix.search(text).total)
    except newsindex.QueryTooExpensiveError:
        out.append("refused")
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"grown_kib": grown, "out": out}))
"""


def test_adversarial_queries_stay_within_bounded_memory(sample_index):
    """Long queries of prefixes (repeated, nested, all different) in a fresh process: its peak
    memory grows by less than 16 MiB (without the bounds, "co* " x 1024 alone took +366 MB
    on Reuters-21578)."""
    queries = [
        "co* " * 1024,
        " ".join(["(co* (ex* (tr* st*)))"] * 200),
        " ".join(f"(co* z{i})" for i in range(400)),
        " ".join(f"{a}{b}*" for a in "abcdefghijklmnopqrst" for b in "aeiourstln"),
        "+" + " +".join(["co*"] * 1000),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(sample_index.path), json.dumps(queries)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["out"][0] == sample_index.count("co*")
    assert out["grown_kib"] < 16 * 1024, out
