import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.analysis import Analyzer, AnalyzerSpec, raw_tokens, tokens_with_offsets
from newsindex.analysis.tokenizer import TOKEN_PATTERN, TOKEN_PATTERN_2


def test_tokenizer_rules_from_the_seed_article():
    a = Analyzer("english")
    text = "Russian-backed regime forces took the regime's 1070 Apartments district"
    assert a.terms(text) == [
        "russian",
        "back",
        "regim",
        "forc",
        "took",
        "regim",
        "1070",
        "apart",
        "district",
    ]


def test_numbers_split_on_separators_like_tantivy():
    assert raw_tokens("155,221 bags of 5.93 mln") == ["155", "221", "bags", "of", "5", "93", "mln"]


def test_accents_fold_and_stems_apply_after_folding():
    a = Analyzer("english")
    assert a.terms("Türkiye café") == ["turkiy", "cafe"]
    assert Analyzer("simple").terms("Türkiye Café") == ["turkiye", "cafe"]


def test_stop_words_keep_their_positions():
    a = Analyzer("english")
    assert a.terms_with_positions("battle for the district") == [("battl", 0), ("district", 3)]


def test_offsets_point_into_the_original_text():
    text = "Syrian regime's FORCES, fighting."
    toks = list(tokens_with_offsets(text))
    assert [text[t.start : t.end] for t in toks] == ["Syrian", "regime's", "FORCES", "fighting"]
    assert [t.text for t in toks] == ["syrian", "regime's", "forces", "fighting"]
    assert [t.position for t in toks] == [0, 1, 2, 3]


def test_snippet_tokens_carry_terms():
    a = Analyzer("english")
    pairs = [(tok.text, term) for tok, term in a.tokens("The fighting continues")]
    assert pairs == [("fighting", "fight"), ("continues", "continu")]


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_fast_path_equals_the_regex(text):
    assert raw_tokens(text, 1) == TOKEN_PATTERN.findall(text.lower())
    assert raw_tokens(text, 2) == TOKEN_PATTERN_2.findall(text.lower())


@settings(max_examples=300)
@given(st.text(max_size=100), st.sampled_from([1, 2]))
def test_offsets_and_fast_path_agree(text, tokenizer):
    # Positions in the index come from raw_tokens; snippets from tokens_with_offsets.
    tokens = list(tokens_with_offsets(text, tokenizer))
    assert [t.text for t in tokens] == raw_tokens(text, tokenizer)
    assert [t.position for t in tokens] == list(range(len(tokens)))


def test_one_letter_terms_are_dropped_but_keep_their_position():
    a = Analyzer("english")
    assert a.terms_with_positions("U.S. trade, Class B shares") == [
        ("us", 0),
        ("trade", 1),
        ("class", 2),
        ("share", 4),
    ]
    assert Analyzer("simple").terms("U.S. B") == ["us", "b"]
    # Version 1 (indexes made before acronyms were kept) drops the letters of "U.S.".
    old = Analyzer(AnalyzerSpec(tokenizer=1))
    assert old.terms_with_positions("U.S. trade, Class B shares") == [
        ("trade", 2),
        ("class", 3),
        ("share", 5),
    ]
    assert Analyzer(
        AnalyzerSpec(stop_words="none", stemmer="none", min_length=1, tokenizer=1)
    ).terms("U.S. B") == ["u", "s", "b"]


@pytest.mark.parametrize(
    "text, terms",
    [
        ("U.S. officials", ["us", "offici"]),
        ("the U.K. and the USA", ["uk", "usa"]),
        ("I.B.M. and AT&T, S&P 500", ["ibm", "att", "sp", "500"]),
        ("an F-16 sent by e-mail, an X-ray", ["f16", "sent", "email", "xray"]),
        ("U.S.-led, Russian-backed", ["us", "led", "russian", "back"]),
        ("U.S.'s deficit", ["us", "deficit"]),
        ("1,750 and 5.93 mln", ["750", "93", "mln"]),
        ("İstanbul, İZMİR", ["istanbul", "izmir"]),
        ("ΟΔΟΣ οδος", ["οδοσ", "οδοσ"]),
        ("cafe\u0301 and café", ["cafe", "cafe"]),
    ],
)
def test_version_2_keeps_acronyms_short_words_and_whole_words(text, terms):
    assert Analyzer("english").terms(text) == terms


def test_min_length_is_a_setting():
    import pytest

    from newsindex import IndexSettings
    from newsindex.errors import ConfigError

    s = IndexSettings.from_dict({"analyzer": {"min_length": 1}})
    assert s.analyzers["body"].min_length == 1 and s.analyzers["body"].stemmer == "snowball"
    assert IndexSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ConfigError, match="min_length"):
        IndexSettings.from_dict({"analyzer": {"min_length": 0}})


def test_terms_for_a_batch_of_tokens():
    tokens = [
        "regime's",
        "\u2019quoted\u2019",
        "caf\u00e9",
        "the",
        "x" * 70,
        "1070",
        "a",
        "rebels'",
        "markets",
        "u",
        "o'neill",
    ]
    expected = [
        "regim",
        "quot",
        "cafe",
        None,
        None,
        "1070",
        None,
        "rebel",
        "market",
        None,
        "o'neil",
    ]
    assert Analyzer("english").terms_for(tokens) == expected
    assert [Analyzer("english").normalize(t) for t in tokens] == expected


_SAMPLE_WORDS = st.sampled_from(
    ["The", "regime's", "markets", "café", "1070", "a", "o'neill", "U.S.", "f-16", "AT&T",
     "rebels'", "x" * 70, "Ölpreis", "said", "oil", "OIL", "prices,", "—", "İstanbul", "of"]
)  # fmt: skip
_TEXTS = st.lists(
    st.one_of(_SAMPLE_WORDS, st.text(min_size=1, max_size=8)), min_size=0, max_size=30
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(_TEXTS, min_size=1, max_size=6),
    limit=st.sampled_from([1, 3, 10, 1_000_000]),
    spec=st.sampled_from(
        [AnalyzerSpec(), AnalyzerSpec(tokenizer=1), AnalyzerSpec(stemmer="porter", min_length=1)]
    ),
)
def test_terms_of_a_text_are_its_tokens_normalized_one_by_one(texts, limit, spec):
    """``terms`` looks a text's new tokens up at once; the terms are those of each token
    normalized alone, in order, whatever the cache holds (cleared when full at ``limit``)."""
    from newsindex.analysis import analyzer as analyzer_module

    old = analyzer_module.CACHE_LIMIT
    analyzer_module.CACHE_LIMIT = limit
    try:
        batch = Analyzer(spec)
        most = limit  # (the cache is cleared before a text's new tokens would pass the limit)
        for text in texts:
            alone = Analyzer(spec)
            want = [t for t in map(alone.normalize, batch.raw_tokens(text)) if t is not None]
            assert batch.terms(text) == want
            most = max(most, len(set(batch.raw_tokens(text))))
            assert len(batch._cache) <= most
            assert [batch.normalize(t) for t in batch.raw_tokens(text)] == list(
                map(alone.normalize, batch.raw_tokens(text))
            )
    finally:
        analyzer_module.CACHE_LIMIT = old


def test_threads_share_an_analyzer_whose_cache_is_cleared_under_them(monkeypatch, sample_docs):
    """Threads analyzing at once while the cache fills and clears get each text's terms."""
    import threading

    from newsindex.analysis import analyzer as analyzer_module

    texts = [d["body"][:400] for d in sample_docs[:200]]
    want = [Analyzer("english").terms(t) for t in texts]
    monkeypatch.setattr(analyzer_module, "CACHE_LIMIT", 50)
    shared = Analyzer("english")
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(len(texts)):
                j = (i * 7 + seed) % len(texts)
                assert shared.terms(texts[j]) == want[j]
        except BaseException as exc:  # (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


_WORDS = st.text(alphabet="abcz09'.-&éAİ", min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    stems=st.dictionaries(_WORDS, st.text(alphabet="abz9", min_size=1, max_size=4), max_size=12),
    extra=st.lists(_WORDS, max_size=6),
    spec=st.sampled_from(
        [AnalyzerSpec(), AnalyzerSpec(tokenizer=1), AnalyzerSpec(stop_words="none", min_length=3)]
    ),
)
def test_words_learned_from_a_stem_table_analyze_as_the_table_answers(stems, extra, spec):
    """Analyzer.learn takes from an index's stem table only what terms() would find there:
    an analyzer that learned a table (any table: made-up stems, short ones, keys no token
    is) analyzes every text as one that only looks words up in it."""
    stems = {**stems, "the": "thx", "of": "o"}  # stop words (in two of the specs)
    words = [*stems, *extra, "Running", "1987", "don't", "u.s."]
    text = " ".join(words + words[::-1])
    plain, learned = Analyzer(spec), Analyzer(spec)
    plain.lexicon = learned.lexicon = stems.get
    learned.learn(stems)
    assert learned.terms(text) == plain.terms(text)
    assert [learned.normalize(t) for t in raw_tokens(text, spec.tokenizer)] == [
        plain.normalize(t) for t in raw_tokens(text, spec.tokenizer)
    ]
    calls = []
    learned.known_stems = lambda: (
        calls.append(1) or [("s1", {"zq9": "kkk"}), ("s2", {"zq9": "jjj"})]
    )
    assert learned.terms(text + " zq9")[-1] == "kkk"  # the first table's term
    assert calls == [1] and learned.known_stems is None  # asked once, at the first new word
    assert learned._learned == {"s1", "s2"}
