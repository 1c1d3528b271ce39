"""The default stemmer is nltk's English Snowball stemmer, copied (newsindex/analysis/
snowball.py) so that stemming never imports nltk's package: the copy must give nltk's stem
for every word, or an index's stored stems and a query's live ones would part silently.
Held against the installed nltk on every word of the bundled sample and on generated words
built from the algorithm's own suffixes, traps and special words; so is make_stemmer's skip
of words that end in none of the algorithm's suffixes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.analysis import Analyzer
from newsindex.analysis.filters import PORTER2_SUFFIXES, make_stemmer
from newsindex.analysis.snowball import stem

nltk_snowball = pytest.importorskip("nltk.stem.snowball")
NLTK_STEM = nltk_snowball.EnglishStemmer().stem

# Where Porter2 has special cases: R1 exceptions, "y" after a vowel, apostrophes (curly ones
# rewritten), step 1a's "ied"/"ies" on short words, step 5's "ll", special words.
TRAPS = """generously generation communication communism arsenal arsenals yelling sayings
    boyish ies ied ties cries skis skies sky news howe atlas cosmos bias andes innings
    proceeded exceeding succeeds dying lying tying idly gently ugly early only singly
    controll rolling fall hopping hoping filing agreed feed bled sled 'tis dog's dogs'
    o\u2019neill \u2018quoted\u2019 \u201bodd y ya yyyy ayayay playa bayou caf\u00e9 na\u00efve
    \u00fcber x q1 g7 a b ab abs""".split()
# Words ending in no Porter2 suffix, which make_stemmer returns without stemming, with the
# traps around them: a "y" after a vowel, apostrophes, curly ones, special words.
UNTOUCHED_TRAPS = """playa yahoo bayou d'italia o'neill bahia tokyo ohio stock bank cocoa
    drought week jab chef sarajevo iraq menu kiev bow tax quiz beijing yyyy ya abu q1 g7
    market first against percent year inc d\u2019italia caf\u00e9 news howe atlas skis sky
    exceed proceeds dying herring early only andes""".split()


def test_the_copy_and_the_skip_stem_every_sample_word_as_nltk(sample_docs):
    """The copy on every word, and make_stemmer's skip of words no rule can change (one C
    call instead of the stemmer) on the words it skips."""
    analyzer = Analyzer("simple")
    words = set(TRAPS) | set(UNTOUCHED_TRAPS)
    for d in sample_docs:
        words.update(analyzer.terms(d.get("title") or "") + analyzer.terms(d.get("body") or ""))
    assert len(words) > 10_000
    expected = {w: NLTK_STEM(w) for w in words}
    assert [w for w in sorted(words) if stem(w) != expected[w]] == []
    ours = make_stemmer("snowball")
    assert [w for w in sorted(words) if ours(w) != expected[w]] == []


def test_the_porter2_suffixes_are_nltks():
    tables = vars(nltk_snowball.EnglishStemmer)
    suffixes = {s for name, value in tables.items() if "suffixes" in name for s in value}
    special = next((v for name, v in tables.items() if "special_words" in name), None)
    if not suffixes or special is None:
        pytest.skip("nltk's EnglishStemmer no longer exposes its rule tables")
    assert sorted(PORTER2_SUFFIXES) == sorted(suffixes | {"y"})  # step 1c tests "y" inline
    assert all(word.endswith(PORTER2_SUFFIXES) for word in special)


letters = st.sampled_from("aeiouybcdglmnrstvwxzY'\u2019\u00e9")
stems = st.text(letters, min_size=0, max_size=9)
suffixes = st.lists(st.sampled_from(PORTER2_SUFFIXES), max_size=3).map("".join)


@settings(max_examples=3000, deadline=None)
@given(
    stem_part=stems,
    suffix=suffixes,
    prefix=st.sampled_from(["", "gener", "commun", "arsen", "y", "'", "\u2018"]),
)
def test_the_copy_stems_generated_words_as_nltk(prefix, stem_part, suffix):
    word = (prefix + stem_part + suffix).lower()
    assert stem(word) == NLTK_STEM(word)


def test_stemming_imports_no_nltk():
    """What the copy is for: a process that stems (a build, a search meeting a word its index
    never saw) does not import nltk's package."""
    code = (
        "import sys; from newsindex.analysis.filters import make_stemmer;"
        " s = make_stemmer('snowball'); print(s('organizing'), 'nltk' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["organ", "False"]
    assert make_stemmer("snowball")("organizing") == NLTK_STEM("organizing")
