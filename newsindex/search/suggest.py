"""Did you mean: a close, much commoner spelling for the unknown or rare words of a query.

The words a query searches (not its operators, fields, filter values or prefixes) are looked
up in the index; one that no article holds, or that few hold, is compared with the index's
own words, the surface forms its stem tables keep (``ceasefire``, not the stem
``ceasefir``), and replaced by the closest one, the most frequent among equally close ones:

- a word is checked when no article holds it, or at most ``max(RARE_MIN, RARE_SHARE * N)``
  of the N articles do: a common word is never questioned, and costs one lookup;
- the candidates are the words within Levenshtein distance 1 (words of up to
  ``SHORT_WORD`` letters) or 2 (longer ones), ranked by their optimal-string-alignment
  distance (a transposition counts one edit), then by how many articles hold them; rare
  words come after all others, so a misspelling that made it into a story or two
  ("devlopment") does not beat the word ("development");
- an unknown word takes the best candidate; a rare one only a candidate that at least
  ``COMMONER`` times as many articles hold (``gaza`` stays ``gaza`` next to ``gas``).

Distances are computed for every word of a similar length at once, with Hyyrö's
bit-parallel form of Myers' algorithm over numpy arrays (one pass per letter), on a
dictionary built on first use per snapshot and bounded to the ``MAX_WORDS`` commonest words.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..analysis.analyzer import Analyzer
from ..analysis.tokenizer import tokens_with_offsets
from ..index.segment import Segment
from ..querylang.lexer import FIELD, LPAREN, PHRASE, RPAREN, WORD, tokenize
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER

#: A word is checked when at most this share of the articles hold it (or RARE_MIN).
RARE_SHARE = 1e-4
RARE_MIN = 3
#: A known (rare) word gives way only to a spelling this many times commoner.
COMMONER = 20
#: Words of up to this many letters allow one edit, longer ones two.
SHORT_WORD = 4
MAX_EDITS = 2
#: Shorter words are not checked (too many words lie one edit away) ...
MIN_WORD = 3
#: ... nor longer ones (the distances are 64-bit masks, and codes or names this long are
#: rarely typed wrong by a letter).
MAX_WORD = 32
#: Most words the dictionary keeps, the commonest: its memory stays bounded.
MAX_WORDS = 500_000

_ONE = np.uint64(1)


class Speller:
    """An index's words and how many articles hold each, grouped by length for the
    distance passes."""

    def __init__(self, words: Sequence[str], counts: np.ndarray):
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        order = np.argsort(lengths, kind="stable")
        # Each length's words as a matrix of code points (numpy's fixed-width strings).
        points: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        bounds = np.flatnonzero(np.diff(lengths[order])) + 1
        for members in np.split(order, bounds) if len(order) else []:
            length = int(lengths[members[0]])
            group = [words[i] for i in members.tolist()]
            matrix = np.array(group, dtype=f"<U{length}").view(np.uint32).reshape(-1, length)
            points[length] = (group, matrix, counts[members])
        flat = [m.ravel() for _, m, _ in points.values()]
        letters = np.unique(np.concatenate(flat)) if flat else np.zeros(0, dtype=np.uint32)
        # Letter 0 is none: a query letter the index never saw matches nothing.
        self._letter = {chr(int(c)): i + 1 for i, c in enumerate(letters.tolist())}
        dtype = np.uint8 if len(letters) < 255 else np.uint32
        self._groups: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for length, (group, matrix, group_counts) in points.items():
            codes = (np.searchsorted(letters, matrix) + 1).astype(dtype)
            # Column-major: each pass reads one letter of every word.
            self._groups[length] = (group, np.asfortranarray(codes), group_counts)

    @classmethod
    def from_segments(cls, segments: Sequence[Segment], analyzer: Analyzer) -> Speller:
        """The surface words of ``segments`` (their stem tables for ``analyzer``), each with
        the number of articles holding its term. Segments written before stem tables
        existed add their terms."""
        spec = json.loads(json.dumps(analyzer.spec.to_dict()))  # as the manifest stores it
        parts: list[tuple[list[str], np.ndarray]] = []
        for seg in segments:
            df = np.diff(seg.post_offs.astype(np.int64))
            table = seg.surface_words(UNFIELDED_ANALYZER, spec)
            if table is None:
                parts.append((seg.terms.strings(), df))
            else:
                parts.append((table[0], df[table[1]]))
        if len(parts) == 1:
            words, counts = parts[0]
        else:  # a word in several segments: its articles add up
            found: dict[str, int] = {}
            for part_words, part_counts in parts:
                for word, n in zip(part_words, part_counts.tolist()):
                    found[word] = found.get(word, 0) + n
            words = list(found)
            counts = np.fromiter(found.values(), dtype=np.int64, count=len(found))
        usable = [MIN_WORD <= len(w) <= MAX_WORD and not w.isdigit() for w in words]
        words = [w for w, k in zip(words, usable) if k]
        counts = counts[np.array(usable, dtype=bool)] if usable else counts
        if len(words) > MAX_WORDS:
            commonest = np.sort(np.argpartition(-counts, MAX_WORDS)[:MAX_WORDS])
            words = [words[i] for i in commonest.tolist()]
            counts = counts[commonest]
        return cls(words, counts)

    def candidates(self, word: str, max_distance: int, rare: int = 0) -> list[tuple[str, int, int]]:
        """``(word, distance, articles)`` of the dictionary words within ``max_distance``
        (Levenshtein) of ``word``, best first (see the module docstring; ``rare``: the
        most articles a rare word is in; ties: the one sharing more letters at both ends
        with ``word``, then the first in alphabetical order)."""
        m = len(word)
        if not 0 < m <= 63:
            return []
        peq = np.zeros(len(self._letter) + 1, dtype=np.uint64)
        for i, ch in enumerate(word):
            code = self._letter.get(ch)
            if code is not None:
                peq[code] |= np.uint64(1 << i)
        high = np.uint64(1 << (m - 1))
        found: list[tuple[str, int, int]] = []
        for length in range(max(1, m - max_distance), m + max_distance + 1):
            group = self._groups.get(length)
            if group is None:
                continue
            words, codes, counts = group
            score = _distances(peq, codes, m, high)
            for i in np.flatnonzero(score <= max_distance).tolist():
                if words[i] != word:
                    found.append((words[i], osa_distance(word, words[i]), int(counts[i])))
        found.sort(key=lambda c: (c[2] <= rare, c[1], -c[2], -_ends(word, c[0]), c[0]))
        return found


def _ends(a: str, b: str) -> int:
    """Letters ``a`` and ``b`` share at their start and their end: among words as close and
    as common (spellings of one term, as far as the index can tell), the one whose edits
    sit in one place ("goverment": "government", not "governent")."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start + end


def _distances(peq: np.ndarray, codes: np.ndarray, m: int, high: np.uint64) -> np.ndarray:
    """Levenshtein distances between the pattern (``peq``: its letters' bit masks, ``m``
    letters) and each row of ``codes`` (Hyyrö 2001: one column of the matrix per pass)."""
    n = codes.shape[0]
    pv = np.full(n, (1 << m) - 1, dtype=np.uint64)
    mv = np.zeros(n, dtype=np.uint64)
    score = np.full(n, m, dtype=np.int64)
    for j in range(codes.shape[1]):
        eq = peq[codes[:, j]]
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | ~(xh | pv)
        mh = pv & xh
        score += (ph & high) != 0
        score -= (mh & high) != 0
        ph = (ph << _ONE) | _ONE
        mh = mh << _ONE
        pv = mh | ~(xv | ph)
        mv = ph & xv
    return score


def osa_distance(a: str, b: str) -> int:
    """Edit distance counting an insertion, deletion, substitution or a swap of two
    neighbouring letters as one edit (optimal string alignment)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def query_words(text: str, syntax: str, tokenizer: int) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` of the words ``text`` searches in the text fields: in the query
    language, the words and phrases outside filters (not operators, field names, filter
    values, prefixes or escaped words, which a suggestion leaves as typed)."""
    if syntax == "plain":
        return [(t.start, t.end, t.text) for t in tokens_with_offsets(text, tokenizer)]
    spans: list[tuple[int, int]] = []
    fields: list[str | None] = []  # the field of each open parenthesis
    pending: str | None = None  # a field name waiting for its value
    for token in tokenize(text, lambda message, position: None):
        if token.kind == FIELD:
            pending = token.text
            continue
        field = pending if pending is not None else (fields[-1] if fields else None)
        pending = None
        if token.kind == LPAREN:
            fields.append(field)
        elif token.kind == RPAREN:
            if fields:
                fields.pop()
        elif field is not None and field not in TEXT_FIELDS:
            continue
        elif token.kind == WORD and not token.prefix and text[token.pos : token.end] == token.text:
            spans.append((token.pos, token.end))
        elif token.kind == PHRASE and text[token.pos + 1 : token.end - 1] == token.text:
            spans.append((token.pos + 1, token.end - 1))
    return [
        (start + t.start, start + t.end, t.text)
        for start, end in spans
        for t in tokens_with_offsets(text[start:end], tokenizer)
    ]


def suggest(
    text: str,
    syntax: str,
    analyzer: Analyzer,
    speller: Callable[[], Speller],
    articles: int,
    holding: Callable[[str], int],
) -> str | None:
    """``text`` with its unknown or rare words spelled as the index commonly spells them, or
    None when no word needs it. ``holding(term)``: how many of the ``articles`` hold an index
    term; ``speller`` is called only for a word that is unknown or rare."""
    rare = max(RARE_MIN, int(RARE_SHARE * articles))
    changes: list[tuple[int, int, str]] = []
    for start, end, token in query_words(text, syntax, analyzer.spec.tokenizer):
        word = analyzer.stem_input(token)
        if word is None or not MIN_WORD <= len(word) <= MAX_WORD or word.isdigit():
            continue
        term = analyzer.normalize(token)
        held = 0 if term is None else holding(term)
        if held > rare:
            continue  # the common case: one lookup, already cached by the search
        dictionary = speller()
        distance = 1 if len(word) <= SHORT_WORD else MAX_EDITS
        for candidate, _, count in dictionary.candidates(word, distance, rare):
            if count >= (COMMONER * held if held else 1):
                changes.append((start, end, _cased(candidate, text[start:end])))
            break
    if not changes:
        return None
    out, at = [], 0
    for start, end, replacement in changes:
        out += [text[at:start], replacement]
        at = end
    return "".join(out) + text[at:]


def _cased(word: str, typed: str) -> str:
    """``word`` in the case the user typed: ``GAZA``, ``Gaza`` or ``gaza``."""
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class LazySpeller:
    """A snapshot's :class:`Speller`, built by the first suggestion that needs it."""

    def __init__(self, segments: Sequence[Segment], analyzer: Analyzer):
        self._segments = segments
        self._analyzer = analyzer
        self._lock = threading.Lock()
        self._speller: Speller | None = None

    def __call__(self) -> Speller:
        if self._speller is None:
            with self._lock:
                if self._speller is None:
                    self._speller = Speller.from_segments(self._segments, self._analyzer)
        return self._speller
