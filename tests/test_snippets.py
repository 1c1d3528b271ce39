"""Snippets: passages chosen, query terms marked on the original words, formatters."""

import datetime as dt
from pathlib import Path

import pytest

import newsindex
from newsindex import querylang
from newsindex.analysis import Analyzer
from newsindex.article import Article
from newsindex.ingest import iter_records
from newsindex.querylang import plan as P
from newsindex.results.hits import Hit
from newsindex.results.snippets import (
    ANSI,
    BRACKETS,
    ELLIPSIS,
    HTML,
    PLAIN,
    RICH,
    Highlighter,
    HtmlFormatter,
    MarkerFormatter,
    QueryTerms,
    Snippet,
    query_terms,
    sentences,
    snippet,
    snippet_of,
)

SEED = Path(newsindex.__file__).parent / "data" / "seed-article.txt"
LEAD = (
    "Syrian regime forces are claiming to have taken over a strategic district in Aleppo "
    "marking the most critical advance in the divided city for Damascus and its allies, but "
    "opposition rebels say the battle is far from over."
)


@pytest.fixture(scope="module")
def seed() -> Article:
    (record,) = list(iter_records([SEED]))
    return record.article


@pytest.fixture(scope="module")
def analyzers():
    english = Analyzer("english")
    return {"title": english, "body": english}


def plan(text, analyzers):
    return querylang.compile(querylang.parse(text), analyzers=analyzers, query=text)


def snip(source, text, analyzers, **options):
    return snippet(source, plan(text, analyzers), analyzers, **options)


def test_stemmed_match_marks_the_original_word(seed, analyzers):
    s = snip(seed, "fight", analyzers)
    assert s.marked == ["fighting", "fighting"]
    assert not s.fallback
    assert str(s) == (
        "But officials from two opposition groups «fighting» in Aleppo said their "
        "forces were still «fighting» back."
    )


def test_phrase_is_marked_as_one_span(seed, analyzers):
    s = snip(seed, '"1070 apartments"', analyzers)
    assert s.marked == ["1070 Apartments"]
    assert s.text.startswith("Located on the southwestern outskirts of Aleppo")
    start, end = s.spans[0]
    assert s.text[start:end] == "1070 Apartments"
    # The same words unquoted are two marks.
    assert snip(seed, "1070 apartments", analyzers).marked == ["1070", "Apartments"]


def test_phrase_with_a_stop_word_gap(seed, analyzers):
    s = snip(seed, '"fighting in aleppo"', analyzers)
    assert s.marked == ["fighting in Aleppo"]


def test_sloppy_phrase_marks_its_words(seed, analyzers):
    s = snip(seed, '"regime forces"~2', analyzers)
    assert s.marked[:2] == ["regime", "forces"]


def test_title_only_match_falls_back_to_the_lead_sentence(seed, analyzers):
    s = snip(seed, "title:continues", analyzers)
    assert s.fallback and s.spans == ()
    assert s.text == LEAD
    nothing = snip(seed, "zebra", analyzers)
    assert nothing.fallback and nothing.text == LEAD


def test_html_escapes_everything_but_the_marks(analyzers):
    text = 'Oil & gas: <b>prices</b> rise "sharply" at O\'Hare.'
    s = snip(text, "prices", analyzers)
    assert s.format(HTML) == (
        "Oil &amp; gas: &lt;b&gt;<mark>prices</mark>&lt;/b&gt; rise "
        "&quot;sharply&quot; at O&#x27;Hare."
    )
    assert s.format(HtmlFormatter("em", css_class="hit")).count('<em class="hit">prices</em>') == 1
    assert s.format("html") == s.format(HTML)


def test_formatters(seed, analyzers):
    s = snip("Rebels are fighting on.", "fight", analyzers)
    assert s.format(PLAIN) == "Rebels are «fighting» on."
    assert s.format(BRACKETS) == "Rebels are [fighting] on."
    assert s.format(MarkerFormatter("**", "**")) == "Rebels are **fighting** on."
    assert s.format(ANSI) == "Rebels are \x1b[1;33mfighting\x1b[0m on."
    text = s.format(RICH)
    assert text.plain == s.text
    assert [(sp.start, sp.end, str(sp.style)) for sp in text.spans] == [(11, 19, "bold yellow")]
    assert str(snip("a fight", "fight", analyzers, formatter=BRACKETS)) == "a [fight]"
    with pytest.raises(ValueError, match="formatter must be one of"):
        s.format("latex")


def test_long_sentence_is_cut_around_the_match_with_ellipses(seed, analyzers):
    s = snip(seed, "damascus", analyzers, max_chars=80)
    assert s.marked == ["Damascus"]
    assert s.text.startswith(ELLIPSIS) and s.text.endswith(ELLIPSIS)
    assert len(s.text) <= 80 + 2
    inner = s.text.strip(ELLIPSIS)
    assert inner == inner.strip() and inner in LEAD  # cut between words, nothing invented


def test_passages_are_in_text_order_and_joined_by_ellipses(seed, analyzers):
    s = snip(seed, "brutal hezbollah", analyzers, passages=2, max_chars=400)
    assert s.marked == ["Hezbollah", "brutal"]
    assert f" {ELLIPSIS} " in s.text
    assert s.text.index("Hezbollah") < s.text.index("brutal")


def test_best_passage_has_the_most_distinct_terms(seed, analyzers):
    s = snip(seed, "minian regime", analyzers)
    assert {m.lower() for m in s.marked} == {"minian", "regime"}
    assert s.text.startswith("Syrian regime media said the army had moved into Minian")


def test_whitespace_is_collapsed_and_spans_follow(analyzers):
    body = "Showers continued in\nthe Bahia cocoa zone.\n    The dry period means\nlate cocoa."
    s = snip(body, "cocoa", analyzers)
    assert "\n" not in s.text and "  " not in s.text
    assert s.marked == ["cocoa", "cocoa"]


def test_sentences_keep_abbreviations_whole():
    text = "The U.S. Treasury said so. Mr. Baker agreed! Prices rose 5.3 pct. ok then."
    assert [text[s:e] for s, e in sentences(text)] == [
        "The U.S. Treasury said so.",
        "Mr. Baker agreed!",
        "Prices rose 5.3 pct. ok then.",
    ]


def test_query_terms_walks_the_plan(analyzers):
    node = plan('title:aleppo "1070 apartments" fight -rebels section:world', analyzers)
    body = query_terms(node, "body")
    assert body.terms == {"fight"}
    assert [p.terms for p in body.phrases] == [("1070", "apart")]
    assert query_terms(node, "title").terms == {"aleppo", "fight"}
    assert query_terms(node).terms == {"aleppo", "fight"}  # must_not left out
    assert query_terms(P.MatchNone()) == QueryTerms(set(), [])


def test_hits_articles_and_term_sets_are_sources(seed, analyzers):
    hit = Hit(id=seed.id, score=1.0, rank=1, date_day=0, load=lambda: seed)
    hl = Highlighter(plan("aleppo battle", analyzers), analyzers)
    assert hl.snippet(hit).text == hl.snippet(seed).text
    assert hl.highlight(hit).marked == ["Battle", "Aleppo"]
    assert snippet(seed, ({"fight"}, [])).marked == ["fighting", "fighting"]
    assert Highlighter("fight").snippet(seed).marked == ["fighting", "fighting"]


def test_snippet_of_uses_the_hits_highlighter(seed, analyzers):
    hit = Hit(id=seed.id, score=1.0, rank=1, date_day=0, load=lambda: seed)
    with pytest.raises(ValueError, match="carries no query"):
        snippet_of(hit)
    hl = Highlighter(plan("fight", analyzers), analyzers)  # what Index.search attaches
    hit = Hit(seed.id, 1.0, 1, 0, lambda: seed, hl)
    assert snippet_of(hit, max_chars=120).marked == ["fighting", "fighting"]


def test_empty_and_odd_inputs(analyzers):
    assert snip("", "fight", analyzers) == Snippet("", (), True)
    art = Article(id="x", title="Only a title", date=dt.date(2020, 1, 1))
    assert snip(art, "title", analyzers).text == ""
    with pytest.raises(ValueError):
        snip("text", "text", analyzers, max_chars=0)


def test_hits_from_search_carry_their_query_for_snippets(sample_index):
    hit = sample_index.search("oil prices", limit=1).hits[0]
    plain = hit.snippet()
    assert plain.marked and "«" in str(plain)
    html = str(hit.snippet(formatter="html"))
    assert "<mark>" in html and "«" not in html
    marked = {plain.text[a:b].lower() for a, b in plain.spans}
    assert marked & {"oil", "prices", "price"}
