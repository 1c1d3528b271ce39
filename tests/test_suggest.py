"""Did you mean (issue 18.4): ``Results.suggestion`` for unknown or rare query words.

The distance pass (numpy, bit-parallel) is held to a plain dynamic-programming reference on
random words; suggestions are held to the rules of newsindex.search.suggest on misspellings
generated from the index's own words, and to the query as typed (only words change)."""

import json
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.querylang import BoolQ, DateFilter, FieldFilter, PhraseQ, Word, parse
from newsindex.search.suggest import (
    COMMONER,
    MAX_EDITS,
    RARE_MIN,
    SHORT_WORD,
    Speller,
    osa_distance,
)

LETTERS = "abcdeéüxyz"


def ends(a: str, b: str) -> int:
    """Letters shared at the start plus letters shared at the end (not overlapping)."""
    start = len(os.path.commonprefix([a, b]))
    rest_a, rest_b = a[start:], b[start:]
    return start + len(os.path.commonprefix([rest_a[::-1], rest_b[::-1]]))


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = row
    return prev[-1]


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(LETTERS, min_size=1, max_size=12), min_size=1, max_size=60, unique=True),
    query=st.text(LETTERS + "q", min_size=1, max_size=12),
    distance=st.integers(1, 3),
    rare=st.integers(0, 3),
)
def test_candidates_are_exactly_the_words_within_the_distance(words, query, distance, rare):
    counts = [len(w) * 7 % 5 + 1 for w in words]
    speller = Speller(words, __import__("numpy").array(counts))
    got = speller.candidates(query, distance, rare)
    expect = sorted(
        (w, osa_distance(query, w), n)
        for w, n in zip(words, counts)
        if w != query and levenshtein(query, w) <= distance
    )
    assert sorted(got) == expect
    assert got == sorted(got, key=lambda c: (c[2] <= rare, c[1], -c[2], -ends(query, c[0]), c[0]))


def test_spellings_of_one_term_tie_on_where_the_edits_are():
    import numpy as np

    speller = Speller(["governent", "government", "goverments"], np.array([2263, 2263, 9]))
    assert [c[0] for c in speller.candidates("goverment", 2)] == [
        "government",
        "governent",
        "goverments",
    ]


@given(a=st.text("abc", max_size=8), b=st.text("abc", max_size=8))
def test_osa_distance_is_levenshtein_with_swaps(a, b):
    d = osa_distance(a, b)
    assert d <= levenshtein(a, b) and d == osa_distance(b, a)
    assert (d == 0) == (a == b)
    if len(a) >= 2 and a[0] != a[1]:
        assert osa_distance(a, a[1] + a[0] + a[2:]) == 1


# -- suggestions on the bundled sample ------------------------------------------------------
@pytest.fixture(scope="module")
def vocab(sample_index):
    """The sample's surface words with how many articles hold their term."""
    snap = sample_index._current()
    analyzer = snap.analyzers["body"]
    words = {}
    for seg in snap.searcher.segments:
        table = seg.surface_words("body", json.loads(json.dumps(analyzer.spec.to_dict())))
        for word, _ in zip(*table):
            if word.isalpha() and word.isascii():
                words[word] = sample_index.count(word, syntax="plain")
    return words


def rare_limit(ix):
    return max(RARE_MIN, int(1e-4 * ix.doc_count))


def misspell(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(len(word))
    kind = rnd.choice("dist")
    if kind == "d":
        return word[:i] + word[i + 1 :]
    if kind == "i":
        return word[:i] + rnd.choice("abcdefghijklmnopqrstuvwxyz") + word[i:]
    if kind == "s":
        return word[:i] + rnd.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32))
def test_an_unknown_word_gets_the_closest_commonest_index_word(sample_index, vocab, seed):
    rnd = random.Random(seed)
    common = sorted(w for w, n in vocab.items() if n > 5 and len(w) >= 5)
    word = rnd.choice(common)
    typo = misspell(word, rnd)
    held = sample_index.count(typo, syntax="plain")
    res = sample_index.search(f"{typo} date:>=1980", limit=1)
    if held > rare_limit(sample_index) or len(typo) < 3:
        assert res.suggestion is None
        return
    # The reference: every word of the index, by distance then by how many articles hold it.
    allowed = 1 if len(typo) <= SHORT_WORD else MAX_EDITS
    limit = rare_limit(sample_index)
    near = sorted(
        (n <= limit, osa_distance(typo, w), -n, -ends(typo, w), w)
        for w, n in vocab.items()
        if w != typo and abs(len(w) - len(typo)) <= allowed and levenshtein(typo, w) <= allowed
    )
    if res.suggestion is None:
        assert not near or -near[0][2] < (COMMONER * held if held else 1)
        return
    suggested = res.suggestion.split()[0]
    assert res.suggestion == f"{suggested} date:>=1980"
    assert near and suggested in {t[-1] for t in near if t[:-1] == near[0][:-1]}
    if held == 0:  # an unknown word is fixed by the right word or as close a commoner one
        assert osa_distance(typo, suggested) <= osa_distance(typo, word)


def shape(node):
    """The query with every searched word blanked: what a suggestion must leave alone."""
    if isinstance(node, Word):
        return ("word", node.field, node.boost, node.prefix, node.text if node.prefix else "")
    if isinstance(node, PhraseQ):
        return ("phrase", node.field, node.slop, node.boost, len(node.text.split()))
    if isinstance(node, (FieldFilter, DateFilter)):
        return node
    assert isinstance(node, BoolQ)
    return ("bool", node.boost, tuple((c.occur, shape(c.node)) for c in node.clauses))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), size=st.integers(1, 5))
def test_a_suggestion_keeps_operators_fields_and_filters_as_typed(sample_index, vocab, seed, size):
    rnd = random.Random(seed)
    common = sorted(w for w, n in vocab.items() if n > 5 and len(w) >= 5)
    parts = []
    for _ in range(size):
        word = rnd.choice(common)
        typo = misspell(word, rnd) if rnd.random() < 0.6 else word
        parts.append(
            rnd.choice(
                [
                    typo,
                    f"title:{typo}",
                    f'"{typo} {rnd.choice(common)}"~2',
                    f"-{typo}",
                    f"+{typo}^2",
                    f"({typo} OR {rnd.choice(common)})",
                    f"section:{typo}",
                    f"{word[:4]}*",
                    "date:1987-03",
                    f"source:{typo}",
                ]
            )
        )
    text = rnd.choice([" ", " AND ", " OR "]).join(parts)
    try:
        res = sample_index.search(text, limit=1)
    except newsindex.QuerySyntaxError:
        return  # e.g. a prefix of too many terms: nothing to suggest for
    if res.suggestion is None:
        return
    assert res.suggestion != text
    assert shape(parse(res.suggestion)) == shape(parse(text))
    again = sample_index.search(res.suggestion, limit=1)  # suggested words are index words
    assert again.suggestion is None or again.suggestion != res.suggestion


def test_common_words_are_never_questioned_and_cost_no_dictionary(tmp_path, sample_docs):
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for d in sample_docs:
            w.add(d)
    for q in ["oil prices", '"crude oil" AND opec', "title:bank -section:earn", "coffee*"]:
        assert ix.search(q).suggestion is None
    assert ix._current().speller._speller is None  # the dictionary was never built
    res = ix.search("oil prises")
    assert ix._current().speller._speller is None  # nor by a search nobody asks about
    assert res.suggestion == "oil prices" or res.suggestion == "oil price"
    assert ix._current().speller._speller is not None


def test_never_applied_and_absent_where_it_means_nothing(sample_index):
    typed = sample_index.search("coffe quotas", limit=5)
    assert typed.suggestion == "coffee quotas"
    assert typed.total == sample_index.count("coffe quotas")  # the hits are the typed query's
    source = sample_index.search("coffee").hits[0].id
    assert sample_index.more_like_this(source).suggestion is None
    assert sample_index.search(sample_index.like_query(source)).suggestion is None
    assert sample_index.search("Coffe", syntax="plain").suggestion == "Coffee"
    assert sample_index.search("COFFE").suggestion == "COFFEE"
    q = sample_index.parse('coffe "export quotas', lenient=True)
    assert sample_index.search(q).suggestion == 'coffee "export quotas'


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )


def test_cli_and_shell_show_it(sample_index):
    idx = sample_index.path
    proc = run("search", idx, "coffe quotas section:coffee", "--limit", "1")
    assert proc.returncode == 0
    assert "newsindex: did you mean: coffee quotas section:coffee?" in proc.stderr
    env = json.loads(run("search", idx, "coffe quotas", "--json").stdout)
    assert env["suggestion"] == "coffee quotas"
    plain = json.loads(run("search", idx, "coffee quotas", "--json").stdout)
    assert "suggestion" not in plain
    shell = subprocess.run(
        [sys.executable, "-m", "newsindex", "shell", str(idx)],
        input="coffe quotas\n",
        capture_output=True,
        text=True,
    )
    assert "did you mean: coffee quotas?" in shell.stdout


def test_an_index_written_before_stem_tables_suggests_from_its_terms(tmp_path):
    import shutil
    from pathlib import Path

    folder = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "compat" / "format-1" / "index", folder)
    with newsindex.Index.open(folder) as ix:
        word = max(
            (t for seg in ix._current().searcher.segments for t in _terms(seg)),
            key=lambda t: (ix.count(t, syntax="plain"), t),
        )
        typo = word[0] + word[2:] if len(word) > 4 else word + "qq"
        res = ix.search(typo, syntax="plain")
        assert res.suggestion is None or res.suggestion != typo
        assert ix.search(word, syntax="plain").suggestion is None


def _terms(seg):
    return [seg.terms[i] for i in range(len(seg.terms)) if seg.terms[i].isalpha()]
