"""The phrase join (rarest term first, over cached position keys) equals a brute-force
matcher over the words of the stored articles, repeated words and slops included (each word
of a phrase needs a position of its own: Lucene's rule)."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import compiled
from newsindex.analysis import Analyzer
from newsindex.errors import IndexCorruptError, QuerySyntaxError
from newsindex.index import positions as positions_format
from newsindex.querylang import plan as P
from newsindex.querylang.planner import _PLAIN_PHRASE, to_plan
from newsindex.search import phrasekeys
from newsindex.search import searcher as searcher_module
from newsindex.search.leaves import all_position_keys
from newsindex.search.matches import EMPTY_DOCS, ColumnTest, Restrict
from newsindex.search.phrasekeys import keys_in_docs
from newsindex.search.searcher import _Context
from tests.crafting import craft, doc_coding, recode_docs

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


# -------------------------------------- compiled position keys (search/phrasekeys.py) --------
needs_kernels = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")


@pytest.fixture(autouse=True)
def _kernels_loaded():
    """Phrases take the compiled way once a kernel is loaded (small words never load one)."""
    if compiled.available():
        phrasekeys._KEYS.get()


@pytest.mark.parametrize("threshold, loads", [(None, False), (1, True)])
def test_phrase_searches_load_numba_only_for_large_words(tmp_path, threshold, loads):
    """A phrase whose words have fewer postings in a segment than the kernels' threshold
    stays on the numpy path in a fresh process (numba unloaded); past it, the phrase
    loads the kernel itself, as OR-ed words do."""
    if loads and not compiled.available():
        pytest.skip("numba is not installed")
    index = newsindex.Index.create(tmp_path / "idx")
    with index.writer() as w:
        w.add({"id": "1", "title": "new york", "body": "oil prices in new york"})
    index.close()
    code = (
        "import sys, newsindex; from newsindex import compiled; "
        "import newsindex.search.scan as scan; "
        + (f"scan.MIN_POSTINGS = {threshold}; " if threshold is not None else "")
        + f"ix = newsindex.Index.open({str(tmp_path / 'idx')!r}); "
        "print(ix.search('\"new york\"').total, 'numba' in sys.modules, compiled.loaded())"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("NEWSINDEX_COMPILED", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["1", str(loads), str(loads)], out.stderr


@needs_kernels
@pytest.mark.parametrize("fields", [(0, 1), (0,), (1,)])
def test_compiled_position_keys_equal_the_numpy_ones(ix, long_ix, fields):
    for seg in ix._searcher.segments + long_ix._searcher.segments:
        offs = seg.post_offs.tolist()
        for s, e in zip(offs, offs[1:]):
            fast = phrasekeys.position_keys(seg, s, e, fields)
            with compiled.disabled():
                assert phrasekeys.position_keys(seg, s, e, fields) is None
                slow = all_position_keys(seg, s, e, fields)
            assert fast is not None and fast.dtype == slow.dtype
            assert np.array_equal(fast, slow)


@pytest.fixture(scope="module", params=["gaps", "offsets"])
def long_ix(request, tmp_path_factory):
    """Stories long enough for escaped positions (255 and past), in two segments."""
    rng = random.Random(11)
    with doc_coding(request.param):
        index = newsindex.Index.create(tmp_path_factory.mktemp("long") / "idx")
        for part in range(2):
            with index.writer() as w:
                for i in range(25):
                    w.add(
                        {
                            "id": f"d{part}-{i}",
                            "title": _text(rng, rng.randint(0, 8)),
                            "body": _text(rng, rng.randint(0, 700)),
                        }
                    )
    yield index
    index.close()


@needs_kernels
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    fields=st.sampled_from([(0, 1), (0,), (1,)]),
    which=st.sampled_from(["ix", "long_ix"]),
)
def test_compiled_keys_within_documents_equal_the_numpy_ones(ix, long_ix, data, fields, which):
    """A term's keys kept to some documents (its own, others, none, past the segment's),
    made without the others' keys, equal all its keys kept to them: the escapes of the
    postings stepped over are counted, not lost."""
    index = {"ix": ix, "long_ix": long_ix}[which]
    seg = data.draw(st.sampled_from(index._searcher.segments))
    offs = seg.post_offs.tolist()
    t = data.draw(st.integers(0, len(offs) - 2))
    s, e = offs[t], offs[t + 1]
    docs = seg.docs(s, e).tolist()
    picked = data.draw(st.lists(st.sampled_from(docs), max_size=12))
    other = data.draw(st.lists(st.integers(0, seg.ndocs + 3), max_size=8))
    within = np.array(sorted(set(picked + other)), dtype=np.int64)
    # Asked by position keys, as a phrase's anchors ask: several a document, any position.
    low = data.draw(st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=3))
    anchors = np.sort((within[:, None] << 32 | np.array(low, dtype=np.int64)).ravel())
    fast = phrasekeys.position_keys_within(seg, s, e, fields, anchors)
    with compiled.disabled():
        assert phrasekeys.position_keys_within(seg, s, e, fields, anchors) is None
        slow = keys_in_docs(all_position_keys(seg, s, e, fields), within)
    assert fast is not None and fast.dtype == slow.dtype
    assert np.array_equal(fast, slow)


def test_long_stories_hold_escaped_positions(long_ix):
    """(What the test above needs to mean anything for escapes.)"""
    assert all(len(seg._arrays["pos.esc"]) > 100 for seg in long_ix._searcher.segments)


COMPAT = Path(__file__).parent / "data" / "compat"
_CORPORA: dict = {}


def _corpus(tmp_path_factory, seed: int) -> tuple:
    """An index of generated stories (repeated words, several segments, deletions) opened
    twice: one handle searched with kernels, one without (each snapshot caches its keys)."""
    if seed not in _CORPORA:
        rng = random.Random(seed)
        index = newsindex.Index.create(tmp_path_factory.mktemp(f"corpus{seed}") / "idx")
        n = 0
        for _ in range(rng.randint(2, 4)):
            with index.writer() as w:
                for _ in range(rng.randint(20, 70)):
                    n += 1
                    w.add(
                        {
                            "id": f"d{n}",
                            "title": _text(rng, rng.randint(0, 8)),
                            "body": _text(rng, rng.randint(0, 60)),
                            "date": f"2016-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}",
                            "section": rng.choice(["world", "sport", "business"]),
                        }
                    )
        with index.writer() as w:
            for i in rng.sample(range(1, n + 1), n // 6):
                w.delete(f"d{i}")
        _CORPORA[seed] = (newsindex.Index.open(index.path), newsindex.Index.open(index.path))
    return _CORPORA[seed]


@needs_kernels
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 3),
    words=st.lists(st.sampled_from(VOCAB[:6] + ["new", "new", "york"]), min_size=2, max_size=5),
    slop=st.integers(0, 3),
    field=st.sampled_from(["", "title:", "body:"]),
    extra=st.sampled_from(["", " section:world", " date:2016-02", " oil", " -section:sport"]),
    within=st.sampled_from([None, 0, 10**9]),
)
def test_searches_with_compiled_keys_equal_the_numpy_path(
    tmp_path_factory, seed, words, slop, field, extra, within
):
    """Hits, scores (to the bit) and totals of phrase searches, kernels on and off, a
    phrase's common words' keys made whole and kept or only in its rarer words' documents
    (a fresh snapshot: one holding a word's keys whole reads them)."""
    fast_ix, slow_ix = _corpus(tmp_path_factory, seed)
    query = f'{field}"{" ".join(words)}"' + (f"~{slop}" if slop else "") + extra
    if within is None:
        fast = fast_ix.search(query, limit=1000)
    else:
        with (
            mock.patch.object(searcher_module, "WITHIN_SHARE", within),
            mock.patch.object(searcher_module, "WITHIN_FROM", 0),
        ):
            fresh = newsindex.Index.open(fast_ix.path)
            fast = fresh.search(query, limit=1000)
            fresh.close()
    with compiled.disabled():
        slow = slow_ix.search(query, limit=1000)
        slow_count = slow_ix.count(query)
    assert fast.total == slow.total == fast_ix.count(query) == slow_count
    assert [(h.id, h.score) for h in fast.hits] == [(h.id, h.score) for h in slow.hits]


_KEPT: dict = {}


@needs_kernels
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 3),
    queries=st.lists(
        st.tuples(
            st.lists(st.sampled_from(VOCAB[:5] + ["new", "york"]), min_size=2, max_size=4),
            st.integers(0, 2),
            st.sampled_from(["", "title:", "body:"]),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_phrases_kept_by_the_snapshot_equal_phrases_made_afresh(tmp_path_factory, seed, queries):
    """A snapshot keeps each phrase's matches over every live document: asked again, in
    any order, beside other phrases of the same words (another slop, field, order or
    repetition), each answer equals that of a handle that keeps nothing."""
    fast_ix, _ = _corpus(tmp_path_factory, seed)
    if seed not in _KEPT:
        _KEPT[seed] = (
            newsindex.Index.open(fast_ix.path),
            newsindex.Index.open(fast_ix.path, cache_mb=0),
        )
    kept, afresh = _KEPT[seed]
    for words, slop, field in queries + queries[::-1]:
        query = f'{field}"{" ".join(words)}"' + (f"~{slop}" if slop else "")
        got = kept.search(query, limit=1000)
        want = afresh.search(query, limit=1000)
        assert got.total == want.total
        assert [(h.id, h.score) for h in got.hits] == [(h.id, h.score) for h in want.hits]


def _craft(built: Path, folder: Path, change) -> None:
    """A copy of the index at ``built`` whose first segment's arrays are ``change``d and
    written afresh: every checksum is valid, the content is not."""
    craft(built, folder, change)


@pytest.fixture(scope="module", params=["gaps", "offsets"])
def small(request, tmp_path_factory) -> Path:
    """40 stories, their doc numbers as gaps or (as format 3 wrote them) offsets."""
    folder = tmp_path_factory.mktemp("small") / "idx"
    with doc_coding(request.param):
        index = newsindex.Index.create(folder)
        with index.writer() as w:
            for i in range(40):
                w.add({"id": f"d{i}", "title": "new york", "body": "new york oil " * (i % 3 + 1)})
        index.close()
    return folder


def _doc_out_of_range(arrays, seg):
    s, e = seg.term_range("york")
    if "post.gaps" in arrays:

        def past(docs):  # past the 40 documents from the term's middle posting on
            docs[(s + e) // 2 : e] += 250

        recode_docs(arrays, past)
        return
    assert arrays["post.dw"].tolist() == [1] * len(arrays["post.dw"])
    at = int(arrays["post.dpos"][0]) + (s + e) // 2  # (one width: the terms' offsets in order)
    arrays["post.d1"][at] = 250  # past the 40 documents, but not the term's last posting


def _rewrite_positions(arrays, change) -> None:
    """The positions decoded, ``change``d in place, and encoded again (valid encoding)."""
    pos = positions_format.decode(arrays["pos.u8"], arrays["pos.esc"]).astype(np.uint32)
    change(pos)
    arrays.update(positions_format.encode(pos, arrays["pos.offs"]))


def _position_too_large(arrays, seg):
    _rewrite_positions(arrays, lambda pos: pos.__setitem__(len(pos) // 2, 1 << 24))


def _escape_without_its_value(arrays, seg):
    # One more escape byte than the term's escaped values: the kernel would read past them.
    arrays["pos.u8"][len(arrays["pos.u8"]) // 2] = positions_format.ESCAPE


def _escapes_past_their_array(arrays, seg):
    arrays["pos.escoffs"][-1] += 5


def _frequency_past_the_positions(arrays, seg):
    arrays["post.tf"][-1] = 63  # the last posting's body: more positions than are stored


def _negative_frequency(arrays, seg):
    # An array file says its dtype: frequencies declared signed, one of them negative.
    arrays["post.tf"] = arrays["post.tf"].astype(np.int8)
    arrays["post.tf"][len(arrays["post.tf"]) // 2] = -64  # title -1, body 0


#: Content a crafted file may hold with valid checksums, each an IndexCorruptError to read.
_BAD_CONTENT = [
    _doc_out_of_range,
    _position_too_large,
    _escape_without_its_value,
    _escapes_past_their_array,
    _frequency_past_the_positions,
    _negative_frequency,
]


def _format_1_doc_out_of_range(arrays, seg):
    # Segments before coded doc numbers store them whole, read without a check: the last
    # posting of the first term past the segment's documents, the doc numbers still growing.
    arrays["post.docs"][arrays["post.offs"][1] - 1] = seg.ndocs + 100


@needs_kernels
def test_format_1_doc_numbers_out_of_range_are_index_corrupt(tmp_path):
    folder = tmp_path / "idx"
    _craft(COMPAT / "format-1" / "index", folder, _format_1_doc_out_of_range)
    index = newsindex.Index.open(folder)
    seg = index._searcher.segments[0]
    assert "post.docs" in seg._arrays  # the layout of format 1
    s, e = 0, int(seg.post_offs[1])
    with pytest.raises(IndexCorruptError, match="seg"):
        phrasekeys.position_keys(seg, s, e, (0, 1))
    index.close()


@needs_kernels
@pytest.mark.parametrize(
    "change",
    _BAD_CONTENT,
)
@pytest.mark.parametrize("query", ['"new york oil"', 'body:"new york oil"~1'])
def test_bad_content_with_valid_checksums_is_index_corrupt(small, tmp_path, change, query):
    """Whole keys or one field's (the kernel's two ways): an error naming the segment."""
    _craft(small, tmp_path / "idx", change)
    index = newsindex.Index.open(tmp_path / "idx")
    with pytest.raises(IndexCorruptError, match="seg-"):
        index.search(query, limit=10)
    index.close()


@needs_kernels
@pytest.mark.parametrize("change", _BAD_CONTENT)
def test_bad_content_in_keys_within_documents_is_index_corrupt(small, tmp_path, change):
    """The keys of a common word kept to its phrase's documents: an error naming the
    segment whichever term holds the bad content."""
    _craft(small, tmp_path / "idx", change)
    index = newsindex.Index.open(tmp_path / "idx")
    (seg,) = index._searcher.segments
    within = np.arange(seg.ndocs, dtype=np.int64) << 32
    with pytest.raises(IndexCorruptError, match="seg-"):
        for term in ("new", "york", "oil"):
            phrasekeys.position_keys_within(seg, *seg.term_range(term), (0, 1), within)
    index.close()


@needs_kernels
def test_threads_sharing_an_index_get_the_same_phrase_results(tmp_path_factory):
    fast_ix, _ = _corpus(tmp_path_factory, 0)
    queries = [f'"{a} {b}"' for a in VOCAB[:5] for b in VOCAB[:5]] + ['"new new"~2']
    fresh = newsindex.Index.open(fast_ix.path)  # a snapshot with no keys made yet
    want = {q: [(h.id, h.score) for h in fast_ix.search(q, limit=50).hits] for q in queries}

    def run(k: int) -> dict:
        order = queries[k:] + queries[:k]
        return {q: [(h.id, h.score) for h in fresh.search(q, limit=50).hits] for q in order}

    with ThreadPoolExecutor(8) as pool:
        for got in pool.map(run, range(8)):
            assert got == want
    fresh.close()


def _positions_out_of_order(arrays, seg):
    # (Read as they are written: a segment never holds them so, but the numpy way sorts
    # whatever it reads, and the kernel must give the same keys.)
    # The third story's body holds "oil" three times (after its postings of 1 and 2).
    (start,) = seg._arrays.range("pos.offs", seg.term_id("oil"), seg.term_id("oil") + 1)
    run = slice(int(start) + 3, int(start) + 6)
    _rewrite_positions(arrays, lambda pos: pos.__setitem__(run, pos[run][::-1].copy()))


def _docs_out_of_order(arrays, seg):
    if "post.gaps" in arrays:
        pytest.skip("gaps hold doc numbers in increasing order only")
    s, e = seg.term_range("oil")
    at = int(arrays["post.dpos"][seg.term_id("oil")]) + 5
    arrays["post.d1"][at : at + 2] = arrays["post.d1"][at : at + 2][::-1].copy()


@needs_kernels
@pytest.mark.parametrize("change", [_positions_out_of_order, _docs_out_of_order])
def test_keys_of_content_out_of_order_are_sorted_as_numpy_sorts_them(small, tmp_path, change):
    _craft(small, tmp_path / "idx", change)
    index = newsindex.Index.open(tmp_path / "idx")
    (seg,) = index._searcher.segments
    s, e = seg.term_range("oil")
    fast = phrasekeys.position_keys(seg, s, e, (0, 1))
    with compiled.disabled():
        slow = all_position_keys(seg, s, e, (0, 1))
    assert fast is not None and np.array_equal(fast, slow)
    assert np.all(np.diff(fast) >= 0)
    for within in (np.arange(seg.ndocs), np.arange(1, seg.ndocs, 2)):
        got = phrasekeys.position_keys_within(seg, s, e, (0, 1), within.astype(np.int64) << 32)
        assert got is not None and np.array_equal(got, keys_in_docs(slow, within))
    index.close()


sorted_keys = st.lists(st.integers(-50, 400), max_size=60).map(
    lambda v: np.array(sorted(v), dtype=np.int64)
)


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(anchors=sorted_keys, found=sorted_keys, lo=st.integers(-6, 6), width=st.integers(0, 6))
def test_compiled_join_equals_the_two_searchsorted(anchors, found, lo, width):
    """Anchors with a key of ``found`` in ``[a + lo, a + lo + width]``, duplicates and
    empty arrays included: the galloping kernel against numpy's binary searches."""
    phrasekeys._JOIN.get()
    hi = lo + width
    got = phrasekeys.join(anchors, found, lo, hi)
    first = found.searchsorted(anchors + lo)
    last = found.searchsorted(anchors + hi, "right")
    assert got is not None and got.tolist() == anchors[last > first].tolist()
    with compiled.disabled():
        assert phrasekeys.join(anchors, found, lo, hi) is None
