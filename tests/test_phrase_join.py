"""The phrase join (rarest term first, over cached position keys) equals a brute-force
matcher over the words of the stored articles, repeated words and slops included (each word
of a phrase needs a position of its own: Lucene's rule)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.analysis import Analyzer
from newsindex.errors import QuerySyntaxError
from newsindex.querylang import plan as P
from newsindex.querylang.planner import _PLAIN_PHRASE, to_plan
from newsindex.search.leaves import all_position_keys
from newsindex.search.matches import EMPTY_DOCS, ColumnTest, Restrict
from newsindex.search.searcher import _Context

# Few distinct words, so that phrases (and repeats such as "new new") match often; the same
# words in titles and bodies, so that a title's end and a body's start look like a phrase.
VOCAB = ["alpha", "bravo", "cocoa", "delta", "echo", "foxtrot", "golf", "new", "york", "oil"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB[: rng.randint(3, len(VOCAB))]) for _ in range(n))


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    rng = random.Random(7)
    index = newsindex.Index.create(tmp_path_factory.mktemp("phrase") / "idx")
    n = 0
    for _ in range(3):  # several segments
        with index.writer() as w:
            for _ in range(60):
                n += 1
                w.add(
                    {
                        "id": f"d{n}",
                        "title": _text(rng, rng.randint(0, 6)),
                        "body": _text(rng, rng.randint(0, 40)),
                        "date": f"2016-11-{rng.randint(1, 28):02d}",
                        "section": rng.choice(["world", "sport"]),
                    }
                )
    with index.writer() as w:  # deleted documents must never match
        for i in range(1, n, 7):
            w.delete(f"d{i}")
    return newsindex.Index.open(index.path)


def _restricts(seg, searcher, si):
    base = searcher.base_restrict(si)
    yield base
    yield Restrict(seg.ndocs // 4, seg.ndocs // 2, base.mask)
    yield Restrict(seg.ndocs // 3, seg.ndocs // 3 + 1, None)  # explain's shape
    codes = seg.keyword_codes_for("section", frozenset({"world"}))
    yield Restrict(0, seg.ndocs, base.mask, (ColumnTest(seg.keyword_codes["section"], codes),))


# -- the reference: brute force over the positions of each stored article's words ----------
def brute_force(ix, leaf, si, r):
    """(docs, [phrase frequency per field]) by trying every assignment of positions: an
    occurrence of the first word is a match when every other word has a position of its own
    (never one another word uses) within ``slop`` of its place relative to the first."""
    seg = leaf.ctx.searcher.segments[si]
    node = leaf.node
    docs, freqs = [], []
    for doc in range(max(r.lo, 0), min(r.hi, seg.ndocs)):
        if r.mask is not None and not r.mask[doc]:  # (deletions are in the mask)
            continue
        allowed = r.allowed(np.array([doc], dtype=np.int32))
        if allowed is not None and not allowed[0]:
            continue
        per_field = {fi: _occurrences(_field_terms(ix, seg, doc, fi), node) for fi in leaf.fields}
        if any(per_field.values()):
            docs.append(doc)
            freqs.append([per_field[fi] for fi in leaf.fields])
    if not docs:
        return EMPTY_DOCS, None
    return np.array(docs, dtype=np.int32), [
        np.array([f[k] for f in freqs], dtype=np.float64) for k in range(len(leaf.fields))
    ]


_TERMS: dict = {}


def _field_terms(ix, seg, doc, fi):
    """(term, position) of the words of one field of a stored article, analyzed afresh."""
    key = (str(ix.path), seg.entry.name, doc, fi)
    if key not in _TERMS:
        art = seg.article(doc)
        text = (art.title, art.body)[fi] or ""
        _TERMS[key] = ix.analyzer("body").terms_with_positions(text)
    return _TERMS[key]


def _occurrences(pairs, node) -> int:
    """How many occurrences of the first word start a match of ``node`` in ``pairs``."""
    where: dict[str, list[int]] = {}
    for term, pos in pairs:
        where.setdefault(term, []).append(pos)
    count = 0
    for start in where.get(node.terms[0], ()):
        options = [
            [
                p
                for p in where.get(term, ())
                if abs(p - (start + offset - node.offsets[0])) <= node.slop and p != start
            ]
            for term, offset in zip(node.terms[1:], node.offsets[1:])
        ]
        if any(len(set(choice)) == len(choice) for choice in itertools.product(*options)):
            count += 1
    return count


def _same(a, b):
    (docs_a, tfs_a), (docs_b, tfs_b) = a, b
    assert docs_a.tolist() == docs_b.tolist()
    if not len(docs_a):
        return
    assert [t.tolist() for t in tfs_a] == [t.tolist() for t in tfs_b]
    assert [t.dtype for t in tfs_a] == [t.dtype for t in tfs_b]


phrases = st.builds(
    lambda terms, gaps, slop, fields: P.Phrase(
        tuple(terms),
        tuple(int(x) for x in np.cumsum([0] + gaps[: len(terms) - 1])),
        fields,
        slop,
    ),
    st.lists(st.sampled_from(VOCAB + ["absent"]), min_size=2, max_size=4),
    st.lists(st.integers(1, 2), min_size=3, max_size=3),
    st.sampled_from([0, 0, 1, 2, 5]),
    st.sampled_from([("title", "body"), ("title",), ("body",)]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(node=phrases)
def test_phrase_join_equals_brute_force(ix, node):
    searcher = ix._searcher
    ctx = _Context(searcher, ix.settings.scoring)
    leaf = ctx.leaf(node)
    for si, seg in enumerate(searcher.segments):
        for r in _restricts(seg, searcher, si):
            _same(leaf.postings(si, r), brute_force(ix, leaf, si, r))


@pytest.mark.parametrize("query", ['"new new"', '"new york"~2', '"new york"', '"york new"~1'])
def test_phrases_match_within_one_field_of_live_documents(ix, query):
    words = query.split('"')[1].split()
    slop = int(query.rsplit("~", 1)[1]) if "~" in query else 0
    hits = ix.search(query, limit=10_000).hits
    assert hits  # the corpus is made so that these match
    for hit in hits:
        art = ix.get(hit.id)
        assert art is not None
        fields = [(art.title or "").split(), (art.body or "").split()]
        assert any(_plain_phrase(f, words, slop) for f in fields), hit.id


def _plain_phrase(tokens: list[str], words: list[str], slop: int) -> bool:
    """The first word somewhere, each other word within ``slop`` of its place after it."""
    for start, tok in enumerate(tokens):
        if tok != words[0]:
            continue
        if all(
            any(
                0 <= p < len(tokens) and tokens[p] == w
                for p in range(start + k - slop, start + k + slop + 1)
            )
            for k, w in enumerate(words[1:], 1)
        ):
            return True
    return False


# -------------------------------------------------- planning "quoted words" without the parser
EN = Analyzer("english")
ANALYZERS = {"title": EN, "body": EN}


@settings(max_examples=500, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(
                ["the", "of", "New", "new", "york", "Banks", "rates", "1987", "café", "a1"]
            ),
            st.from_regex(r"[^\W_]{1,8}", fullmatch=True),
        ),
        min_size=1,
        max_size=5,
    ),
    sep=st.sampled_from([" ", "  ", "\t", " \n ", "\u00a0"]),
    op=st.sampled_from(["or", "and"]),
)
def test_quoted_words_are_planned_as_the_parser_plans_them(words, sep, op):
    from newsindex import querylang

    text = '"' + sep.join(words) + '"'
    assert _PLAIN_PHRASE.fullmatch(text) is not None  # the shape the fast path takes
    parsed = querylang.compile(
        querylang.parse(text, default_operator=op), analyzers=ANALYZERS, default_operator=op
    )
    assert to_plan(text, syntax="query", analyzers=ANALYZERS, default_operator=op) == parsed


@pytest.mark.parametrize(
    "text",
    [
        '"new york"~2',
        '"new york"^2',
        'title:"new york"',
        '"new \\"york"',
        '"new york" oil',
        '"new_york"',
        '""',
        '"new-york"',
    ],
)
def test_other_quoted_shapes_still_go_through_the_parser(text):
    from newsindex import querylang

    parsed = (
        querylang.compile(
            querylang.parse(text, default_operator="or"), analyzers=ANALYZERS, default_operator="or"
        )
        if text != '""'
        else None
    )
    if parsed is None:
        with pytest.raises(QuerySyntaxError):  # as the parser says: no words between the quotes
            to_plan(text, syntax="query", analyzers=ANALYZERS)
        return
    assert to_plan(text, syntax="query", analyzers=ANALYZERS) == parsed


def test_a_repeated_word_needs_an_occurrence_of_its_own(tmp_path):
    index = newsindex.Index.create(tmp_path / "idx")
    with index.writer() as w:
        w.add({"id": "one", "title": "Aleppo", "body": "Battle for Aleppo continues"})
        w.add({"id": "two", "title": "", "body": "Aleppo, Aleppo and Aleppo again"})
        w.add({"id": "gap", "title": "", "body": "Aleppo is not Aleppo"})
    assert [h.id for h in index.search('"aleppo aleppo"~1').hits] == ["two"]
    assert {h.id for h in index.search('"aleppo aleppo"~2').hits} == {"two", "gap"}
    assert index.search('"aleppo aleppo aleppo aleppo"~3').total == 0  # three, not four
    assert index.search('"aleppo aleppo aleppo"~1').total == 1


@pytest.mark.parametrize("fields", [(0, 1), (0,), (1,)])
def test_position_keys_equal_a_posting_by_posting_reading(ix, fields):
    """The cached keys a join searches: each posting's occurrences, its title's positions
    first, then its body's, read one posting at a time here."""
    for seg in ix._searcher.segments:
        for term in seg.terms.strings():
            s, e = seg.term_range(term)
            tfs = [tf.tolist() for tf in seg.tfs(s, e)]
            positions = seg.positions(s, e).tolist()
            expected = []
            at = 0
            for i, doc in enumerate(seg.docs(s, e).tolist()):
                for fi, tf in enumerate(tfs):
                    for pos in positions[at : at + tf[i]]:
                        if fi in fields:
                            expected.append(doc << 32 | fi << 24 | pos)
                    at += tf[i]
            assert at == len(positions)
            got = all_position_keys(seg, s, e, fields)
            assert got.dtype == np.int64
            assert got.tolist() == sorted(expected), term
