"""The batch tokenizer (numpy, the indexing path) against raw_tokens (the reference)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.analysis import Analyzer, AnalyzerSpec, batch, raw_tokens
from newsindex.analysis.vocab import Vocabulary


def tokens_of(chunk):
    strings = chunk.strings()
    assert len(strings) == len(chunk)
    return [strings[i] for i in chunk.inverse.tolist()]


def assert_same(texts, chunk_chars=None, tokenizer=2):
    got_tokens, got_counts = [], []
    for start, end in batch.chunks(texts, chunk_chars):
        chunk = batch.tokenize_chunk(texts[start:end], tokenizer)
        # Keyed groups are distinct tokens.
        keyed = chunk.strings(np.arange(len(chunk.keys[0])))
        assert len(set(keyed)) == len(keyed)
        assert chunk.inverse.dtype == np.int32
        got_tokens += tokens_of(chunk)
        got_counts += chunk.counts.tolist()
    assert got_counts == [len(raw_tokens(t, tokenizer)) for t in texts]
    assert got_tokens == [tok for t in texts for tok in raw_tokens(t, tokenizer)]


TOKENIZERS = pytest.mark.parametrize("tokenizer", [1, 2])


@TOKENIZERS
@pytest.mark.parametrize("chunk_chars", [1, 5_000, 200_000, None])
def test_real_stories_tokenize_as_raw_tokens_does(sample_docs, chunk_chars, tokenizer):
    texts = [d.get("title") or "" for d in sample_docs] + [d.get("body") or "" for d in sample_docs]
    assert_same(texts, chunk_chars, tokenizer)


CLOSE_CALLS = [
    # Longer than the hash covers: same length, same first and last 8 bytes.
    "aaaaaaaabcdzzzzzzzz aaaaaaaabcezzzzzzzz aaaaaaaabcdzzzzzzzz",
    # Same first and last 8 bytes, different lengths.
    "aaaaaaaaa aaaaaaaaaa aaaaaaaaaaaaaaaa aaaaaaaaa",
    # Same last 8 bytes and length, different heads; and prefixes of one another.
    "xbcdefghij ybcdefghij abcdefghijklmnop abcdefghijklmnopq abcdefgh abcdefghi",
]


def test_tokens_the_hash_cannot_tell_apart_stay_apart():
    assert_same(CLOSE_CALLS)
    assert len(set(batch.tokenize_chunk(CLOSE_CALLS).strings())) == 11


@pytest.mark.parametrize("part", ["_K0", "_K1", "_K2"])
def test_each_part_of_a_token_is_checked(monkeypatch, part):
    # With one part (last 8 bytes, first 8, length) left out of the hash, close calls share a
    # hash: only the check tells them apart.
    monkeypatch.setattr(batch, part, np.uint64(0))
    assert_same(CLOSE_CALLS)


@TOKENIZERS
def test_non_ascii_texts(tokenizer):
    texts = [
        "£50 “quoted” – fine",  # non-ASCII separators only
        "Türkiye’s café, İstanbul",  # word characters, İ lowercasing to two characters
        "K kelvin sign \u212a",  # lowercases to ASCII "k"
        "",
        "ΟΔΥΣΣΕΥΣ ΚΑΙ ΣΥ",  # a final sigma lowercases by context
        "東京 news 📰, straße",
        "plain ASCII again, 1,750",
        "U.S.-led AT&T F-16 e-mail I.B.M. S&P U.S.A u.s-led a-b-c x.y.z. &a a& -b .c",
        "cafe\u0301 \u0301lone mark, \u0928\u0947\u092a\u093e\u0932 \u2764\ufe0f",
    ]
    assert_same(texts, tokenizer=tokenizer)


@TOKENIZERS
def test_a_hash_collision_falls_back_to_the_careful_path(sample_docs, monkeypatch, tokenizer):
    # Every token hashes alike: the check must notice and still give every token right.
    for name in ("_K0", "_K1", "_K2"):
        monkeypatch.setattr(batch, name, np.uint64(0))
    texts = [d.get("body") or "" for d in sample_docs[:50]]
    assert_same(texts, tokenizer=tokenizer)


texts_strategy = st.lists(
    st.text(
        alphabet=st.sampled_from(
            list("abcXYZ019' ,.-&\0\n")
            + [
                "£",
                "“",
                "’",
                "é",
                "İ",
                "\u212a",
                "_",
                "Σ",
                "ß",
                "\u0307",
                "²",
                "\u00ad",
                "📰",
                "東",
                "\u0301",
                "\u093e",
                "\ufe0f",
                "\u03c2",
            ]
        ),
        max_size=60,
    )
    | st.lists(st.sampled_from(["a" * 9, "a" * 10, "b" * 17, "ab" * 9, "x"]), max_size=8).map(
        " ".join
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(texts=texts_strategy, chunk_chars=st.sampled_from([1, 30, 10_000]), tokenizer=st.just(2))
def test_any_texts_tokenize_as_raw_tokens_does(texts, chunk_chars, tokenizer):
    assert_same(texts, chunk_chars, tokenizer)


@settings(max_examples=150, deadline=None)
@given(texts=texts_strategy, chunk_chars=st.sampled_from([1, 30, 10_000]))
def test_any_texts_tokenize_as_version_1_raw_tokens_does(texts, chunk_chars):
    assert_same(texts, chunk_chars, 1)


@TOKENIZERS
@pytest.mark.parametrize("chunk_chars", [2_000, None])
@pytest.mark.parametrize("broken_hash", [None, "_K0", "_K1"])
def test_batch_ids_equal_text_by_text_ids(
    sample_docs, monkeypatch, chunk_chars, broken_hash, tokenizer
):
    """Many chunks (the table of known tokens learning, merging its runs, answering), and with
    a part of the key left out of the hash, so that known tokens share hashes with new ones:
    every token still gets the term it analyzes to."""
    if chunk_chars:
        monkeypatch.setattr(batch, "CHUNK_CHARS", chunk_chars)
    if broken_hash:
        monkeypatch.setattr(batch, broken_hash, np.uint64(0))
    analyzer = Analyzer(AnalyzerSpec(tokenizer=tokenizer))
    texts = [d.get("body") or "" for d in sample_docs] + [d.get("title") or "" for d in sample_docs]
    batched = Vocabulary()
    ids, counts = batched.batch_ids(texts, analyzer)
    # The reference: raw_tokens and the analyzer's own (cached, token by token) normalize.
    reference = Analyzer(AnalyzerSpec(tokenizer=tokenizer))
    expected = [[reference.normalize(t) for t in raw_tokens(text, tokenizer)] for text in texts]
    assert counts.tolist() == [len(e) for e in expected]
    assert [batched.terms[i] if i >= 0 else None for i in ids.tolist()] == [
        term for e in expected for term in e
    ]
    assert set(batched.surface(analyzer.spec)) == {
        t for text in texts for t in raw_tokens(text, tokenizer)
    }
    # A second pass, answered from the table of known tokens, gives the same ids.
    again, _ = batched.batch_ids(texts, analyzer)
    assert np.array_equal(again, ids)


def test_known_tokens_never_confuse_tokens_that_share_a_hash(monkeypatch):
    # Without its last 8 bytes in the hash, every short token of a length hashes alike: each
    # text is a chunk of its own, so only the table's exact check can tell them apart.
    monkeypatch.setattr(batch, "CHUNK_CHARS", 1)
    monkeypatch.setattr(batch, "_K0", np.uint64(0))
    texts = ["bank", "rate", "bank", "cuts", "rate", "bank"]
    vocab = Vocabulary()
    ids, counts = vocab.batch_ids(texts, Analyzer("simple"))
    assert counts.tolist() == [1] * 6
    assert [vocab.terms[i] for i in ids.tolist()] == texts
    assert len(vocab._known[Analyzer("simple").spec]) == 1  # "bank" holds the shared hash
