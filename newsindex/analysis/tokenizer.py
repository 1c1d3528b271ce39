"""Unicode word tokenizers: one C-speed pass per field, with character offsets when asked.

Two versions, named in an index's analyzer settings (``tokenizer: 1`` or ``2``) because what
an index holds depends on them; an index keeps the one it was made with.

Version 2 (new indexes). The text is lowercased (Greek final sigma as sigma); a token is a
run of letters, digits, apostrophes and combining marks that follow one of them (so
"İstanbul", whose lowercase "i" carries a combining dot, stays whole, and so do words of
scripts written with vowel signs). Three joins keep a news reader's short words: periods
between single letters ("U.S.", "I.B.M." give ``u.s``, ``i.b.m``), a hyphen after a single
letter ("F-16", "e-mail", "x-ray") and an ampersand next to a single letter ("AT&T", "S&P");
the analyzer then drops the joining characters (``us``, ``ibm``, ``f16``, ``email``, ``att``).
Everything else splits: "Russian-backed" gives ``russian`` + ``backed``, "1,750" gives ``1`` +
``750``, "U.S.-led" gives ``u.s`` + ``led``.

Version 1 (indexes made before version 2): a token is a maximal run of letters, digits and
apostrophes of the lowercased text; nothing joins, and a combining mark splits a word.

Pure-ASCII text (most news) takes a ``str.translate`` + ``split`` path when nothing can join;
the regexes define the tokens and the paths agree (tests check it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

#: Tokenizer versions; new indexes get :data:`TOKENIZER`, settings without one mean version 1.
TOKENIZERS = (1, 2)
TOKENIZER = 2
LEGACY_TOKENIZER = 1

TOKEN_PATTERN = re.compile(r"(?:[^\W_]|['\u2019])+")  # version 1
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "'")}
)
#: Characters that join the pieces of one version-2 token (dropped by the analyzer).
JOINERS = ".-&"

#: Tokens longer than this are dropped (base64 blobs, URLs glued together, ...).
MAX_TOKEN_CHARS = 64


class Token(NamedTuple):
    """One token of a text: its lowercased text, position (0-based) and character span."""

    text: str
    position: int
    start: int
    end: int


#: The ranges :func:`_mark_ranges` finds in Unicode 14.0.0 (this Python's tables), as hex
#: code points: walking every code point takes a process some milliseconds, paid by its
#: first non-ASCII text (an index build, a query). Other Unicode versions walk their own.
_MARKS_UNICODE = "14.0.0"
_MARKS = (
    "300-36F 483-487 591-5BD 5BF 5C1-5C2 5C4-5C5 5C7 610-61A 64B-65F 670 6D6-6DC 6DF-6E4 "
    "6E7-6E8 6EA-6ED 711 730-74A 7A6-7B0 7EB-7F3 7FD 816-819 81B-823 825-827 829-82D "
    "859-85B 898-89F 8CA-8E1 8E3-903 93A-93C 93E-94F 951-957 962-963 981-983 9BC 9BE-9C4 "
    "9C7-9C8 9CB-9CD 9D7 9E2-9E3 9FE A01-A03 A3C A3E-A42 A47-A48 A4B-A4D A51 A70-A71 A75 "
    "A81-A83 ABC ABE-AC5 AC7-AC9 ACB-ACD AE2-AE3 AFA-AFF B01-B03 B3C B3E-B44 B47-B48 "
    "B4B-B4D B55-B57 B62-B63 B82 BBE-BC2 BC6-BC8 BCA-BCD BD7 C00-C04 C3C C3E-C44 C46-C48 "
    "C4A-C4D C55-C56 C62-C63 C81-C83 CBC CBE-CC4 CC6-CC8 CCA-CCD CD5-CD6 CE2-CE3 D00-D03 "
    "D3B-D3C D3E-D44 D46-D48 D4A-D4D D57 D62-D63 D81-D83 DCA DCF-DD4 DD6 DD8-DDF DF2-DF3 "
    "E31 E34-E3A E47-E4E EB1 EB4-EBC EC8-ECD F18-F19 F35 F37 F39 F3E-F3F F71-F84 F86-F87 "
    "F8D-F97 F99-FBC FC6 102B-103E 1056-1059 105E-1060 1062-1064 1067-106D 1071-1074 "
    "1082-108D 108F 109A-109D 135D-135F 1712-1715 1732-1734 1752-1753 1772-1773 17B4-17D3 "
    "17DD 180B-180D 180F 1885-1886 18A9 1920-192B 1930-193B 1A17-1A1B 1A55-1A5E 1A60-1A7C "
    "1A7F 1AB0-1ABD 1ABF-1ACE 1B00-1B04 1B34-1B44 1B6B-1B73 1B80-1B82 1BA1-1BAD 1BE6-1BF3 "
    "1C24-1C37 1CD0-1CD2 1CD4-1CE8 1CED 1CF4 1CF7-1CF9 1DC0-1DFF 20D0-20DC 20E1 20E5-20F0 "
    "2CEF-2CF1 2D7F 2DE0-2DFF 302A-302F 3099-309A A66F A674-A67D A69E-A69F A6F0-A6F1 A802 "
    "A806 A80B A823-A827 A82C A880-A881 A8B4-A8C5 A8E0-A8F1 A8FF A926-A92D A947-A953 "
    "A980-A983 A9B3-A9C0 A9E5 AA29-AA36 AA43 AA4C-AA4D AA7B-AA7D AAB0 AAB2-AAB4 AAB7-AAB8 "
    "AABE-AABF AAC1 AAEB-AAEF AAF5-AAF6 ABE3-ABEA ABEC-ABED FB1E FE20-FE2F 101FD 102E0 "
    "10376-1037A 10A01-10A03 10A05-10A06 10A0C-10A0F 10A38-10A3A 10A3F 10AE5-10AE6 "
    "10D24-10D27 10EAB-10EAC 10F46-10F50 10F82-10F85 11000-11002 11038-11046 11070 "
    "11073-11074 1107F-11082 110B0-110BA 110C2 11100-11102 11127-11134 11145-11146 11173 "
    "11180-11182 111B3-111C0 111C9-111CC 111CE-111CF 1122C-11237 1123E 112DF-112EA "
    "11300-11303 1133B-1133C 1133E-11344 11347-11348 1134B-1134D 11357 11362-11363 "
    "11366-1136C 11370-11374 11435-11446 1145E 114B0-114C3 115AF-115B5 115B8-115C0 "
    "115DC-115DD 11630-11640 116AB-116B7 1171D-1172B 1182C-1183A 11930-11935 11937-11938 "
    "1193B-1193E 11940 11942-11943 119D1-119D7 119DA-119E0 119E4 11A01-11A0A 11A33-11A39 "
    "11A3B-11A3E 11A47 11A51-11A5B 11A8A-11A99 11C2F-11C36 11C38-11C3F 11C92-11CA7 "
    "11CA9-11CB6 11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47 11D8A-11D8E 11D90-11D91 "
    "11D93-11D97 11EF3-11EF6 16AF0-16AF4 16B30-16B36 16F4F 16F51-16F87 16F8F-16F92 16FE4 "
    "16FF0-16FF1 1BC9D-1BC9E 1CF00-1CF2D 1CF30-1CF46 1D165-1D169 1D16D-1D172 1D17B-1D182 "
    "1D185-1D18B 1D1AA-1D1AD 1D242-1D244 1DA00-1DA36 1DA3B-1DA6C 1DA75 1DA84 1DA9B-1DA9F "
    "1DAA1-1DAAF 1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E130-1E136 "
    "1E2AE 1E2EC-1E2EF 1E8D0-1E8D6 1E944-1E94A "
)


def _mark_ranges() -> list[tuple[int, int]]:
    """The code point ranges of the combining marks that continue a word (Mn, Mc), variation
    selectors excepted (they follow emoji and mean nothing to a word), from this Python's
    Unicode tables (marks live in planes 0, 1 and 14)."""
    ranges: list[list[int]] = []
    for cp in (*range(0x300, 0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc") and not (
            0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF
        ):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return [(a, b) for a, b in ranges]


@cache
def _marks() -> str:
    """A regex class body of :func:`_mark_ranges` (the shipped ones where this Python's
    Unicode version is theirs)."""
    if unicodedata.unidata_version == _MARKS_UNICODE:
        ranges = [
            (int(a, 16), int(b or a, 16)) for a, _, b in (r.partition("-") for r in _MARKS.split())
        ]
    else:
        ranges = _mark_ranges()
    return "".join(
        re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges
    )


@cache
def _separators() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Version 2's non-ASCII separators in lowercased text: any non-ASCII character that is not
    a letter, digit, curly apostrophe or mark; then, in text that may have marks, the marks
    that follow no word character."""
    marks = _marks()
    return (
        re.compile(rf"[^\x00-\x7f\w\u2019{marks}]"),
        # Any character at or above the first mark, the curly apostrophe aside: a short class
        # scans fast, and news text in Latin script has none, so the long class is rarely run.
        re.compile(r"[^\x00-\u02ff\u2019]"),
        re.compile(rf"(?<![^\W_])(?<!['\u2019{marks}])(?:(?=[^\x00-\u02ff])[{marks}])+"),
    )


# Version 2 tokens, in text prepared by _prepare: there every non-ASCII character left is part
# of a word, so a word character is an ASCII letter or digit, an apostrophe, or non-ASCII.
# (Written as what it is not: a class ranging to U+10FFFF takes re's compiler milliseconds to
# chart each time it appears, paid by every process that imports the tokenizer.)
_W = "[^\x00-\x26\x28-\x2f\x3a-\x60\x7b-\x7f]"
_SINGLE_BEFORE = rf"(?<=[a-z])(?<!{_W}[a-z])"  # a one-letter piece ends here
_SINGLE_AFTER = rf"(?=[a-z](?!{_W}))"  # a one-letter piece starts here
TOKEN_PATTERN_2 = re.compile(
    rf"{_W}+(?:(?:{_SINGLE_BEFORE}\.{_SINGLE_AFTER}|{_SINGLE_BEFORE}[-&]|&{_SINGLE_AFTER}){_W}+)*"
)
_MAY_JOIN = re.compile(r"[.&-]")


def prepare(text: str, tokenizer: int = TOKENIZER, *, keep_length: bool = False) -> str:
    """``text`` as the tokenizer reads it: lowercased, and for version 2 with final sigma as
    sigma and non-ASCII separators blanked (each to one space with ``keep_length``)."""
    lowered = text.lower()
    if tokenizer == 1 or lowered.isascii():
        return lowered
    lowered = lowered.replace("\u03c2", "\u03c3")
    separator, high, lone_marks = _separators()
    lowered = separator.sub(" ", lowered)
    if high.search(lowered) is None:  # no mark, so none to blank
        return lowered
    if keep_length:
        return lone_marks.sub(lambda m: " " * (m.end() - m.start()), lowered)
    return lone_marks.sub(" ", lowered)


def raw_tokens(text: str, tokenizer: int = TOKENIZER) -> list[str]:
    """The surface tokens of ``text``, lowercased, in order (the indexing reference)."""
    if tokenizer == 1:
        lowered = text.lower()
        if lowered.isascii():
            return lowered.translate(_ASCII_SEPARATORS).split()
        return TOKEN_PATTERN.findall(lowered)
    prepared = prepare(text, 2)
    if prepared.isascii() and _MAY_JOIN.search(prepared) is None:
        return prepared.translate(_ASCII_SEPARATORS).split()
    return TOKEN_PATTERN_2.findall(prepared)


def iter_tokens(text: str, tokenizer: int = TOKENIZER) -> Iterator[str]:
    """:func:`raw_tokens`, one at a time (for texts of which only the start may be needed)."""
    pattern = TOKEN_PATTERN if tokenizer == 1 else TOKEN_PATTERN_2
    return (m.group() for m in pattern.finditer(prepare(text, tokenizer)))


def tokens_with_offsets(text: str, tokenizer: int = TOKENIZER) -> Iterator[Token]:
    """Tokens of ``text`` with their position and ``[start, end)`` offsets in ``text``.

    The tokens and positions are exactly :func:`raw_tokens`'s, so a position found here
    matches the one stored in the index, and the span covers the characters that made the
    token (a token cut out of a character that lowercases to two, as version 1 cuts "İ",
    spans that character).
    """
    prepared = prepare(text, tokenizer, keep_length=True)
    pattern = TOKEN_PATTERN if tokenizer == 1 else TOKEN_PATTERN_2
    if len(prepared) == len(text):
        for position, match in enumerate(pattern.finditer(prepared)):
            yield Token(match.group(), position, match.start(), match.end())
        return
    # Lowercasing lengthened the text ("İ" is "i" + a combining dot): map offsets back.
    back = [i for i, ch in enumerate(text) for _ in range(len(ch.lower()))]
    for position, match in enumerate(pattern.finditer(prepared)):
        yield Token(match.group(), position, back[match.start()], back[match.end() - 1] + 1)
