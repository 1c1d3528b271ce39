"""The phrase join (rarest term first, over cached position keys) equals the plain join it
replaced (docs holding every term, then each term's positions in those docs, in order)."""

from __future__ import annotations

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
from newsindex.search.leaves import ALL_FIELDS
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


# -- the plain join, the reference the fast join is held to ------------------------------------
def plain_join(leaf, si, r):
    """Docs holding every term, then each term's positions in those docs, joined in order:
    (docs, [phrase frequency per field])."""
    seg = leaf.ctx.searcher.segments[si]
    per_term = [t.postings(si, r) for t in leaf.terms]
    docs = per_term[0][0]
    for d, _ in per_term[1:]:
        docs = np.intersect1d(docs, d, assume_unique=True)
        if not len(docs):
            return EMPTY_DOCS, None
    if not len(docs):
        return EMPTY_DOCS, None
    anchors = None
    for (_tdocs, _), term, offset in zip(per_term, leaf.terms, leaf.node.offsets):
        keys = _position_keys(seg, term, si, docs) - offset
        anchors = keys if anchors is None else anchors[_near(anchors, keys, leaf.node.slop)]
        if not len(anchors):
            return EMPTY_DOCS, None
    occ_docs = (anchors >> 32).astype(np.int32)
    occ_field = ((anchors & 0xFFFFFFFF) >> 24).astype(np.int64)
    found, inverse = np.unique(occ_docs, return_inverse=True)
    tfs = [
        np.bincount(inverse, weights=(occ_field == fi), minlength=len(found)) for fi in leaf.fields
    ]
    return found, tfs


def _position_keys(seg, term, si, docs):
    """``doc << 32 | field << 24 | position`` for every occurrence of ``term`` in ``docs``."""
    s, e = term.slices[si]
    idx = np.searchsorted(seg.post_docs[s:e], docs)  # the wanted postings, within the term
    tfs = [tf[s:e].astype(np.int64) for tf in seg.post_tf]
    totals = sum(tfs)
    term_pos_start = int(seg.pos_offs[np.searchsorted(seg.post_offs, s, "right") - 1])
    counts = totals[idx]
    begins = term_pos_start + np.cumsum(totals)[idx] - counts
    run_offsets = np.cumsum(counts) - counts
    rel = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(run_offsets, counts)
    positions = seg.pos[np.repeat(begins, counts) + rel].astype(np.int64)
    # Within a posting the title's positions come first, then the body's.
    field_of = np.zeros(len(rel), dtype=np.int64)
    bound = np.zeros(len(idx), dtype=np.int64)
    for tf in tfs[:-1]:
        bound += tf[idx]
        field_of += rel >= np.repeat(bound, counts)
    owners = np.repeat(docs.astype(np.int64), counts)
    if term.fields != ALL_FIELDS:
        keep = np.isin(field_of, term.fields)
        positions, owners, field_of = positions[keep], owners[keep], field_of[keep]
    return (owners << 32) | (field_of << 24) | positions


def _near(anchors, keys, slop):
    """Mask of anchors that have a key within ``slop`` positions."""
    keys = np.sort(keys)
    if slop == 0:
        idx = np.minimum(np.searchsorted(keys, anchors), len(keys) - 1)
        return keys[idx] == anchors
    lo = np.searchsorted(keys, anchors - slop)
    hi = np.searchsorted(keys, anchors + slop, "right")
    return hi > lo


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
def test_phrase_join_equals_the_plain_join(ix, node):
    searcher = ix._searcher
    ctx = _Context(searcher, ix.settings.scoring)
    leaf = ctx.leaf(node)
    for si, seg in enumerate(searcher.segments):
        for r in _restricts(seg, searcher, si):
            _same(leaf.postings(si, r), plain_join(leaf, si, r))


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
