"""The indexing tokenizer, the query analyzer and the snippet tokenizer agree on every text.

Three implementations cut text into tokens: the batch tokenizer (numpy, what the index holds),
``raw_tokens`` (the analyzer's, what queries are made of) and ``tokens_with_offsets`` (where
snippets put their marks). Generated Unicode, heavy in the characters that broke them (a
dotted capital I that lowercases to two characters, final sigma, combining marks, ligatures,
emoji with variation selectors, curly apostrophes, the joins of "U.S." and "F-16"), must give
the same tokens and positions from all three, under each tokenizer version, and an index
built from such text must find it again by its own words.
"""

import re
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.analysis import Analyzer, AnalyzerSpec, batch, raw_tokens, tokens_with_offsets
from newsindex.analysis.vocab import Vocabulary
from newsindex.errors import ConfigError
from newsindex.results.snippets import Highlighter

PIECES = [
    "İstanbul",
    "İ",
    "İZMİR",
    "ß",
    "ẞ",
    "STRASSE",
    "Σ",
    "ς",
    "ΟΔΟΣ",
    "Ελλάδα",
    "\ufb01nance",  # fi ligature
    "\ufb02",
    "e\u0301",  # e + combining acute
    "\u0301",
    "\u0307",
    "हिंदी",
    "\u093e",  # a vowel sign (Mc)
    "東京都",
    "\u2764\ufe0f",  # heart + variation selector
    "\U0001f44d\U0001f3fd",  # thumbs up, skin tone
    "2\ufe0f\u20e3",  # keycap
    "\u2019",
    "\u2018",
    "'s",
    "O\u2019Neill",
    "U.S.",
    "U.K.",
    "AT&T",
    "S&P",
    "F-16",
    "e-mail",
    "I.B.M.",
    "a.",
    "-x",
    "\u212a",  # Kelvin sign, lowercases to ASCII k
    "\u01c5",  # titlecase digraph
    "\u00ad",
    "\u200d",
    "\xa0",
    "_",
    " ",
    " ",
    ".",
    "-",
    "&",
    ",",
    "\n",
    "x",
    "ab",
    "Caf\u00e9",
    "1,750",
]
texts = st.lists(
    st.sampled_from(PIECES)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=4),
    max_size=24,
).map("".join)
VERSIONS = (1, 2)


def analyzer(version: int, **options) -> Analyzer:
    return Analyzer(AnalyzerSpec(tokenizer=version, **options))


def batch_tokens(text_list, version):
    chunk = batch.tokenize_chunk(text_list, version)
    strings = chunk.strings()
    tokens = [strings[i] for i in chunk.inverse.tolist()]
    out, at = [], 0
    for n in chunk.counts.tolist():
        out.append(tokens[at : at + n])
        at += n
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4), st.sampled_from(VERSIONS))
def test_index_query_and_snippet_tokenizers_agree(text_list, version):
    a = analyzer(version)
    indexed = batch_tokens(text_list, version)
    vocab = Vocabulary()
    ids, counts = vocab.batch_ids(text_list, a)
    ids = ids.tolist()
    for text, index_tokens in zip(text_list, indexed):
        query_tokens = raw_tokens(text, version)
        snippet_tokens = list(tokens_with_offsets(text, version))
        assert index_tokens == query_tokens
        assert [t.text for t in snippet_tokens] == query_tokens
        assert [t.position for t in snippet_tokens] == list(range(len(query_tokens)))
        # Spans are in order, disjoint, inside the text.
        ends = [0] + [t.end for t in snippet_tokens]
        assert all(e <= t.start < t.end for e, t in zip(ends, snippet_tokens))
        assert ends[-1] <= len(text)
        # Terms at positions: what the index stores is what a query of the text looks for.
        stored = [vocab.terms[i] if i >= 0 else None for i in ids[: len(index_tokens)]]
        ids = ids[len(index_tokens) :]
        assert [(t, p) for p, t in enumerate(stored) if t is not None] == (
            a.terms_with_positions(text)
        )
    assert counts.tolist() == [len(t) for t in indexed]


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(VERSIONS), st.data())
def test_snippets_mark_exactly_the_matching_tokens(text, version, data):
    a = analyzer(version)
    pairs = list(a.tokens(text))
    terms = sorted({term for _, term in pairs})
    wanted = set(data.draw(st.lists(st.sampled_from(terms), unique=True))) if terms else set()
    got = Highlighter((wanted, []), a).highlight(text, field="body")
    assert list(got.spans) == [(t.start, t.end) for t, term in pairs if term in wanted]


def _phrase(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(texts, min_size=1, max_size=6), st.sampled_from(VERSIONS))
def test_an_index_finds_every_text_by_its_own_words(text_list, version):
    settings_ = {"analyzer": {"tokenizer": version}}
    with tempfile.TemporaryDirectory() as folder:
        ix = newsindex.Index.create(folder + "/idx", settings_)
        with ix.writer() as w:
            for i, text in enumerate(text_list):
                w.add({"id": str(i), "title": text[:40], "body": text})
        a = ix.analyzer("body")
        for i, text in enumerate(text_list):
            if not a.terms(text):
                continue
            # The text as a phrase (query language) and as plain words.
            assert str(i) in [h.id for h in ix.search(_phrase(text), limit=10).hits]
            assert str(i) in [h.id for h in ix.search(text, syntax="plain", limit=10).hits]
            hit = next(h for h in ix.search(_phrase(text), limit=10).hits if h.id == str(i))
            # The snippet marks the text's own tokens, every one with a term.
            marked = hit.snippet(max_chars=10_000, formatter="plain").marked
            assert len(marked) >= 1
        ix.close()


def test_istanbul_is_found_by_istanbul(tmp_path):
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add({"id": "1", "title": "İstanbul", "body": "Flights from İstanbul and İZMİR resumed."})
    for query in ("istanbul", "İstanbul", "ISTANBUL", "izmir", '"from istanbul"'):
        assert [h.id for h in ix.search(query).hits] == ["1"], query
    hit = ix.search("istanbul").hits[0]
    assert (
        hit.snippet(formatter="brackets").format() == "Flights from [İstanbul] and İZMİR resumed."
    )


# -- tokenizer versions: what an index holds depends on them ---------------------------------
def _stored_analyzers(folder):
    import json

    manifests = sorted(folder.glob("manifest-*.json"))
    return json.loads(manifests[-1].read_text())["settings"]["analyzers"]


def test_new_indexes_store_their_tokenizer_version(tmp_path):
    ix = newsindex.Index.create(tmp_path / "idx")
    assert ix.settings.analyzers["body"].tokenizer == 2
    assert _stored_analyzers(tmp_path / "idx")["body"]["tokenizer"] == 2
    assert newsindex.Index.open(tmp_path / "idx").analyzer().spec.tokenizer == 2


STORIES = [
    {"id": "a", "title": "U.S. trade deficit widens", "body": "The U.S. deficit grew, AT&T said."},
    {"id": "b", "title": "F-16 order", "body": "An F-16 order was sent by e-mail."},
    {"id": "c", "title": "İstanbul talks", "body": "Talks in İstanbul."},
    {"id": "d", "title": "India trade deficit falls", "body": "India's trade deficit fell."},
]


def test_an_index_without_a_tokenizer_version_answers_as_before(tmp_path):
    # Settings stored as before versions existed (no "tokenizer" key) mean version 1: the
    # letters of "U.S." and "F-16" are gone from such an index, and its queries agree.
    ix = newsindex.Index.create(tmp_path / "old", {"analyzer": {"tokenizer": 1}})
    assert "tokenizer" not in _stored_analyzers(tmp_path / "old")["body"]
    with ix.writer() as w:
        for s in STORIES:
            w.add(s)
    old = newsindex.Index.open(tmp_path / "old")
    assert old.settings.analyzers["body"].tokenizer == 1
    assert old.search("U.S.").total == 0
    assert [h.id for h in old.search("16").hits] == ["b"]
    assert [h.id for h in old.search("mail").hits] == ["b"]
    assert [h.id for h in old.search("stanbul").hits] == ["c"]
    assert old.search("istanbul").total == 0
    # Writing to it keeps it version 1 (settings and segments as the old code wrote them).
    with old.writer() as w:
        w.add({"id": "e", "title": "U.S. again", "body": "F-16 again"})
    assert "tokenizer" not in _stored_analyzers(tmp_path / "old")["body"]
    assert [h.id for h in newsindex.Index.open(tmp_path / "old").search("16").hits] == ["b", "e"]

    new = newsindex.Index.create(tmp_path / "new")
    with new.writer() as w:
        for s in STORIES:
            w.add(s)
    assert [h.id for h in new.search("U.S.").hits] == ["a"]
    assert [h.id for h in new.search("US").hits] == ["a"]
    assert [h.id for h in new.search("AT&T").hits] == ["a"]
    assert [h.id for h in new.search("F-16").hits] == ["b"]
    assert [h.id for h in new.search("f16").hits] == ["b"]
    assert [h.id for h in new.search("email").hits] == ["b"]
    assert [h.id for h in new.search("istanbul").hits] == ["c"]
    assert new.search('"U.S. trade deficit"').hits[0].id == "a"


@pytest.mark.parametrize("bad", [0, 3, "2", True, None])
def test_an_unknown_tokenizer_version_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="tokenizer"):
        newsindex.IndexSettings.from_dict({"analyzer": {"tokenizer": bad}})


def test_settings_round_trip_under_each_version():
    for version in VERSIONS:
        s = newsindex.IndexSettings.from_dict({"analyzer": {"tokenizer": version}})
        assert newsindex.IndexSettings.from_stored(s.to_dict()) == s


_US = re.compile(r"(?<![\w.'\u2019])U\.S\.?(?![\w'\u2019]|\.\w)")


def test_us_finds_the_stories_that_say_us(sample_index, sample_docs):
    """Issue 14.7 on the bundled Reuters sample: every story whose text has "U.S." (found by
    a regex, independently of the tokenizer) is a hit for `U.S.`."""
    expected = {
        d["id"] for d in sample_docs if _US.search(d.get("title") or "") or _US.search(d["body"])
    }
    assert len(expected) > 100
    res = sample_index.search("U.S.", limit=1000)
    assert expected <= {h.id for h in res.hits}
    phrase = re.compile(r"U\.S\.?\s+trade\s+deficit", re.IGNORECASE)
    hits = sample_index.search('"U.S. trade deficit"', limit=100).hits
    assert hits and all(phrase.search(h.article.title + " " + h.article.body) for h in hits)


def test_batch_and_raw_tokens_agree_on_the_sample_under_both_versions(sample_docs):
    texts = [d.get("body") or "" for d in sample_docs[:300]]
    for version in VERSIONS:
        got = batch_tokens(texts, version)
        assert got == [raw_tokens(t, version) for t in texts]
        assert np.sum([len(g) for g in got]) > 10_000


def test_the_shipped_combining_marks_are_this_pythons_unicode_tables():
    """The tokenizer's combining marks, shipped for one Unicode version so a process need
    not walk every code point, are the ones the walk finds (on another version, the walk
    answers)."""
    import unicodedata

    from newsindex.analysis import tokenizer

    walked = "".join(
        re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "")
        for a, b in tokenizer._mark_ranges()
    )
    tokenizer._marks.cache_clear()
    assert tokenizer._marks() == walked
    assert walked.count("-") > 200  # (the walk found the marks of many scripts)
    if unicodedata.unidata_version == tokenizer._MARKS_UNICODE:
        assert len(tokenizer._MARKS.split()) == len(tokenizer._mark_ranges())


def test_a_version_2_word_character_is_an_ascii_letter_digit_apostrophe_or_non_ascii():
    """Version 2's word class (written as what it is not, for re's compiler) holds exactly
    the characters its tokens are made of in prepared text, over every code point."""
    from newsindex.analysis import tokenizer

    word = re.compile(tokenizer._W)
    for cp in range(0x110000):
        c = chr(cp)
        want = cp >= 0x80 or c.isdigit() or ("a" <= c <= "z") or c == "'"
        assert (word.fullmatch(c) is not None) == want, hex(cp)
