"""Snippets: the best passage(s) of an article with the query's terms marked.

The query's terms come from its plan (:func:`query_terms`) and the text is analyzed with the
field's analyzer, so marks fall on the original words whatever the stemmer made of them
("fighting" for a query "fight"), and a phrase found in the text is marked as one span.
A passage is a run of whole sentences that fits the budget, chosen for the most distinct
matched terms, then matches, then the earliest place; a sentence too long is cut around its
matches, with an ellipsis where cut. A body the query does not touch (title-only match,
filters only) gives its lead. An index that does not store bodies (``store_body: false``)
gives the title's snippet for the body's. ``Highlighter(plan, analyzers).snippet(hit).format(HTML)``.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple

from ..analysis.analyzer import Analyzer
from ..errors import ArgumentTypeError, check_choice, check_int
from ..querylang import plan as P
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER

DEFAULT_MAX_CHARS = 240
ELLIPSIS = "\u2026"
MAX_MARK_SLOP = 32  #: phrase slop beyond this is read as this when marking (cost grows)
Span = tuple[int, int]
Formatter = Callable[[str, tuple[Span, ...]], Any]

# A sentence ends at . ! or ? (with closing quotes/brackets) before space and no lowercase
# letter; a paragraph at a blank line or (Reuters copy) at a newline and indentation.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[^\sa-z])")
_PARAGRAPH = re.compile(r"\n[ \t]*\n|\n[ \t]+")
_WORD_BEFORE = re.compile(r"(\w+)$")
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "rep",
        "sen",
        "gov",
        "vs",
        "no",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)


class QueryTerms(NamedTuple):
    """The analyzed terms and the phrases of a query that can be found in a text field."""

    terms: set[str]
    phrases: list[P.Phrase]


def query_terms(node: P.Node, field: str | None = None) -> QueryTerms:
    """The terms and phrases of plan ``node`` that search ``field`` (None: any field);
    ``must``, ``should`` and ``filter`` clauses count, ``must_not`` ones are not looked for."""
    terms: set[str] = set()
    phrases: list[P.Phrase] = []

    def walk(n: Any) -> None:
        if isinstance(n, P.Term) and (field is None or field in n.fields):
            terms.add(n.term)
        elif isinstance(n, P.Prefix) and (field is None or field in n.fields):
            terms.update(n.terms)
        elif isinstance(n, P.Phrase) and (field is None or field in n.fields) and n not in phrases:
            phrases.append(n)
        elif isinstance(n, P.Bool):
            for child in n.must + n.should + n.filter:
                walk(child)
        elif isinstance(n, P.Recency):
            walk(n.node)

    walk(node)
    return QueryTerms(terms, phrases)


@dataclass(frozen=True)
class Snippet:
    """Snippet text and its marked ``spans`` (``[start, end)`` offsets into :attr:`text`).

    ``fallback``: nothing of the query was found, the text is the lead. ``str(snippet)``
    formats with ``formatter`` (plain «marks» by default)."""

    text: str
    spans: tuple[Span, ...] = ()  # sorted, disjoint
    fallback: bool = False
    formatter: Formatter | None = field(default=None, repr=False, compare=False)

    def format(self, formatter: Formatter | str | None = None) -> Any:
        """The snippet through ``formatter`` (a formatter, or a name from :data:`FORMATTERS`)."""
        return _formatter(formatter or self.formatter or PLAIN)(self.text, self.spans)

    @property
    def marked(self) -> list[str]:
        """The marked pieces of the text, in order."""
        return [self.text[s:e] for s, e in self.spans]

    def __str__(self) -> str:
        return str(self.format())


# -- formatters: (text, spans) -> output ------------------------------------------------------
def _stitch(
    text: str, spans: tuple[Span, ...], outside: Callable[[str], str], inside: Callable[[str], str]
) -> str:
    out, pos = [], 0
    for s, e in spans:
        out += [outside(text[pos:s]), inside(text[s:e])]
        pos = e
    return "".join(out) + outside(text[pos:])


@dataclass(frozen=True)
class MarkerFormatter:
    """Text with markers around each mark: ``«fighting»``, ``[fighting]``, ANSI codes..."""

    before: str = "\u00ab"
    after: str = "\u00bb"

    def __call__(self, text: str, spans: tuple[Span, ...]) -> str:
        return _stitch(text, spans, str, lambda s: f"{self.before}{s}{self.after}")


@dataclass(frozen=True)
class HtmlFormatter:
    """HTML: every mark in ``<mark>`` (or ``tag``, with ``css_class``), all text escaped."""

    tag: str = "mark"
    css_class: str | None = None

    def __call__(self, text: str, spans: tuple[Span, ...]) -> str:
        attrs = f' class="{html.escape(self.css_class)}"' if self.css_class else ""
        opening, closing = f"<{self.tag}{attrs}>", f"</{self.tag}>"
        return _stitch(text, spans, html.escape, lambda s: opening + html.escape(s) + closing)


@dataclass(frozen=True)
class RichFormatter:
    """A :class:`rich.text.Text` with ``style`` on each mark (for the shell)."""

    style: str = "bold yellow"
    base_style: str = ""

    def __call__(self, text: str, spans: tuple[Span, ...]) -> Any:
        from rich.text import Text  # lazily: only the shell renders with rich

        out = Text(text, style=self.base_style)
        for s, e in spans:
            out.stylize(self.style, s, e)
        return out


PLAIN = MarkerFormatter()
BRACKETS = MarkerFormatter("[", "]")
ANSI = MarkerFormatter("\x1b[1;33m", "\x1b[0m")  # bold yellow, then reset
HTML = HtmlFormatter()
RICH = RichFormatter()
FORMATTERS: dict[str, Formatter] = {
    "plain": PLAIN,
    "brackets": BRACKETS,
    "ansi": ANSI,
    "html": HTML,
    "rich": RICH,
}


def _formatter(formatter: Formatter | str) -> Formatter:
    if isinstance(formatter, str):
        return FORMATTERS[check_choice("formatter", formatter, tuple(FORMATTERS))]
    if not callable(formatter):
        raise ArgumentTypeError(
            f"formatter must be a name ({', '.join(FORMATTERS)}) or a callable "
            f"(text, spans) -> output, got {type(formatter).__name__}"
        )
    return formatter


# -- finding the query in a text --------------------------------------------------------------
class _Mark(NamedTuple):
    start: int
    end: int
    keys: frozenset  # the query terms (and phrase numbers) this mark stands for


def _marks(text: str, wanted: QueryTerms, analyzer: Analyzer) -> list[_Mark]:
    if not (wanted.terms or wanted.phrases) or not text:
        return []
    tokens = list(analyzer.tokens(text))
    found = [_Mark(t.start, t.end, frozenset([term])) for t, term in tokens if term in wanted.terms]
    at = {t.position: (t, term) for t, term in tokens} if wanted.phrases else {}
    for number, phrase in enumerate(wanted.phrases):
        key = frozenset([("phrase", number)])
        for tok, term in tokens:
            got = _phrase_at(at, tok.position, phrase) if term == phrase.terms[0] else None
            if got and phrase.slop == 0:  # consecutive words: one span, as a reader sees it
                found.append(_Mark(got[0].start, got[-1].end, key))
            elif got:  # words apart or reordered: each marked
                found.extend(_Mark(t.start, t.end, key) for t in got)
    out: list[_Mark] = []
    for m in sorted(found):  # overlapping marks (a term inside a phrase) become one
        if out and m.start < out[-1].end:
            out[-1] = _Mark(out[-1].start, max(out[-1].end, m.end), out[-1].keys | m.keys)
        else:
            out.append(m)
    return out


def _phrase_at(at: dict, position: int, phrase: P.Phrase) -> list | None:
    """The tokens of ``phrase`` anchored at ``position`` (within its slop), or None."""
    slop = min(phrase.slop, MAX_MARK_SLOP)
    out = []
    for term, offset in zip(phrase.terms, phrase.offsets):
        want = position + offset
        for q in [want] + [want + s * d for d in range(1, slop + 1) for s in (-1, 1)]:
            got = at.get(q)
            if got is not None and got[1] == term:
                out.append(got[0])
                break
        else:
            return None
    return sorted(out, key=lambda t: t.start)


# -- sentences and passages -------------------------------------------------------------------
def sentences(text: str) -> list[Span]:
    """``[start, end)`` spans of the sentences of ``text``, whitespace trimmed."""
    cuts = {0, len(text)}
    cuts.update(m.start() for m in _PARAGRAPH.finditer(text))
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith("."):
            word = _WORD_BEFORE.search(text, max(0, m.start() - 16), m.start())
            # "U.S. officials", "Mr. Assad": that period ends an abbreviation, not a sentence.
            if word and (len(word.group()) == 1 or word.group().lower() in _ABBREVIATIONS):
                continue
        cuts.add(m.end())
    out, ordered = [], sorted(cuts)
    for a, b in pairwise(ordered):
        piece = text[a:b]
        s, e = a + len(piece) - len(piece.lstrip()), b - (len(piece) - len(piece.rstrip()))
        if s < e:
            out.append((s, e))
    return out


def _score(marks: list[_Mark]) -> tuple[int, int]:  # distinct query terms, then matches
    return len(frozenset().union(*(m.keys for m in marks))), len(marks)


def _grow(sents: list[Span], first: int, budget: int, used: set[int]) -> tuple[int, int]:
    """The run of sentences from ``first`` that fits ``budget`` (backwards too, at the end)."""
    last = first

    def free(i: int) -> bool:
        return 0 <= i < len(sents) and i not in used

    while free(last + 1) and sents[last + 1][1] - sents[first][0] <= budget:
        last += 1
    # No room after (end of text, or the next passage): spend the budget on context before.
    while not free(last + 1) and free(first - 1) and sents[last][1] - sents[first - 1][0] <= budget:
        first -= 1
    return first, last


def _windows(sents: list[Span], marks: list[_Mark], budget: int, count: int) -> list[Span]:
    """Up to ``count`` disjoint runs of sentences ``(first, last)`` holding marks, best first."""
    starts = [s for s, _ in sents]
    per: list[list[_Mark]] = [[] for _ in sents]
    for m in marks:
        per[max(0, bisect.bisect_right(starts, m.start) - 1)].append(m)
    used, chosen = set(), []  # type: tuple[set[int], list[Span]]
    for _ in range(count):
        best = None
        for i in range(len(sents)):
            if i in used or not per[i]:
                continue  # a passage opens on a sentence with a match
            first, last = _grow(sents, i, budget, used)
            score = (*_score([m for k in range(first, last + 1) for m in per[k]]), -i)
            if best is None or score > best[0]:
                best = (score, first, last)
        if best is None:
            break
        used.update(range(best[1], best[2] + 1))
        chosen.append((best[1], best[2]))
    return chosen


def _cut(text: str, s: int, e: int, marks: list[_Mark], budget: int) -> Span:
    """The best piece of ``[s, e)`` at most ``budget`` long, cut between words."""
    if e - s <= budget:
        return s, e
    inside = [m for m in marks if s <= m.start and m.end <= e]
    lead = min(budget // 6, 40)  # a few words before the first mark, to read it in context
    candidates: list[_Mark | None] = [*inside] or [None]
    best: tuple[tuple[int, int, int], int, int, list[_Mark]] | None = None
    for m in candidates:
        ce = min(e, (s if m is None else max(s, m.start - lead)) + budget)
        cs = max(s, ce - budget)
        got = [x for x in inside if cs <= x.start and x.end <= ce]
        if best is None or (*_score(got), -cs) > best[0]:
            best = ((*_score(got), -cs), cs, ce, got)
    assert best is not None  # there is a candidate, so the loop chose one
    _, cs, ce, got = best
    first, last = (got[0].start, got[-1].end) if got else (ce, cs)
    if cs > s and not text[cs - 1].isspace():  # started mid-word: skip to the next word
        cs = next((i for i in range(cs, first) if text[i].isspace()), cs)
    if ce < e and not text[ce].isspace():  # ended mid-word: back to the previous one
        ce = next((i for i in range(ce - 1, last - 1, -1) if text[i].isspace()), ce)
    cs = next((i for i in range(cs, first) if not text[i].isspace()), max(cs, first))
    while ce > last and text[ce - 1] in " \t\r\n,;:-\u2013\u2014":  # none before "…"
        ce -= 1
    return cs, ce


def _collapse(piece: str) -> tuple[str, list[int]]:
    """``piece`` with whitespace runs as one space, and where each old offset went."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for ch in piece:
        where.append(len(out))
        if not (space and ch.isspace()):
            out.append(" " if ch.isspace() else ch)
        space = ch.isspace()
    where.append(len(out))
    return "".join(out), where


def _passages(text: str, marks: list[_Mark], max_chars: int, count: int) -> Snippet:
    sents = sentences(text)
    if not sents:
        return Snippet("", (), True)
    budget = max(20, max_chars // count)
    windows = _windows(sents, marks, budget, count) if marks else []
    fallback = not windows
    windows = windows or [_grow(sents, 0, budget, set())]
    parts: list[str] = []
    spans: list[Span] = []
    size, prev_last, prev_cut = 0, -2, False
    for first, last in sorted(windows):
        s, e = sents[first][0], sents[last][1]
        cs, ce = _cut(text, s, e, [] if fallback else marks, budget)
        # Passages that follow each other uncut read as one; others are joined by " … ".
        sep = " " if first == prev_last + 1 and not prev_cut and cs == s else f" {ELLIPSIS} "
        if not parts:
            sep = ELLIPSIS if cs > s else ""
        chunk, where = _collapse(text[cs:ce])
        size += len(sep)
        spans += [
            (size + where[m.start - cs], size + where[m.end - cs])
            for m in marks
            if cs <= m.start and m.end <= ce
        ]
        parts += [sep, chunk]
        size += len(chunk)
        prev_last, prev_cut = last, ce < e
    return Snippet("".join(parts) + (ELLIPSIS if prev_cut else ""), tuple(spans), fallback)


# -- the API ----------------------------------------------------------------------------------
def _text_of(source: Any, field: str) -> str:
    if isinstance(source, str):
        return source
    article = getattr(source, "article", source)  # a Hit loads its article; an Article is one
    return getattr(article, field, "") or ""


class Highlighter:
    """Snippets for one query: its plan walked once per field, with the index's analyzers.

    ``query``: a plan node, a :class:`QueryTerms` (or ``(terms, phrases)`` pair), or query
    text (compiled here; prefix queries need a plan made by the index instead).
    ``analyzers``: text field -> analyzer, or one analyzer for all (default "english").
    ``body_stored``: False for an index made with ``store_body: false``, whose articles come
    back with an empty body: the body's snippet is then the title's.
    """

    def __init__(
        self,
        query: Any,
        analyzers: Mapping[str, Analyzer] | Analyzer | None = None,
        body_stored: bool = True,
    ):
        self.body_stored = body_stored
        if not isinstance(analyzers, Mapping):
            analyzers = dict.fromkeys(TEXT_FIELDS, analyzers or Analyzer())
        self.analyzers = dict(analyzers)
        if isinstance(query, str):
            from .. import querylang  # here: the query language loads the whole engine

            query = querylang.compile_query(query, analyzers=self.analyzers)
        if isinstance(query, tuple):
            query = QueryTerms(set(query[0]), list(query[1]))
        self.query = query
        self._wanted: dict[str, QueryTerms] = {}

    def terms(self, field: str = "body") -> QueryTerms:
        """What the query looks for in ``field``."""
        if isinstance(self.query, QueryTerms):
            return self.query
        if field not in self._wanted:
            self._wanted[field] = query_terms(self.query, field)
        return self._wanted[field]

    def _stored(self, source: Any, field: str) -> str:
        """``field``, or the title in place of a body the index did not store (a text
        passed as ``source`` is marked as it is)."""
        if field == "body" and not self.body_stored and not isinstance(source, str):
            return "title"
        return field

    def _find(self, text: str, field: str) -> list[_Mark]:
        analyzer = self.analyzers.get(field) or self.analyzers[UNFIELDED_ANALYZER]
        return _marks(text, self.terms(field), analyzer)

    def snippet(
        self,
        source: Any,
        *,
        field: str = "body",
        max_chars: int = DEFAULT_MAX_CHARS,
        passages: int = 1,
        formatter: Formatter | str = PLAIN,
    ) -> Snippet:
        """The best ``passages`` of ``field`` of ``source`` (a Hit, an Article or a str).

        ``max_chars`` bounds the snippet's text (ellipses aside), shared by the passages.
        ``formatter`` is the one ``str(snippet)`` uses; :meth:`Snippet.format` takes any.
        """
        check_choice("field", field, TEXT_FIELDS)
        max_chars = check_int("max_chars", max_chars, 1)
        passages = check_int("passages", passages, 1)
        formatter = _formatter(formatter)
        field = self._stored(source, field)
        text = _text_of(source, field)
        found = _passages(text, self._find(text, field), max_chars, passages)
        return Snippet(found.text, found.spans, found.fallback, formatter)

    def highlight(
        self, source: Any, *, field: str = "title", formatter: Formatter | str = PLAIN
    ) -> Snippet:
        """All of ``field`` of ``source`` (text as is) with the query's matches marked."""
        check_choice("field", field, TEXT_FIELDS)
        field = self._stored(source, field)
        text = _text_of(source, field)
        marks = self._find(text, field)
        return Snippet(text, tuple(m[:2] for m in marks), not marks, _formatter(formatter))


def snippet(
    source: Any,
    query: Any,
    analyzer: Mapping[str, Analyzer] | Analyzer | None = None,
    *,
    field: str = "body",
    max_chars: int = DEFAULT_MAX_CHARS,
    passages: int = 1,
    formatter: Formatter | str = PLAIN,
) -> Snippet:
    """A snippet of ``source`` for ``query`` with the index's ``analyzer`` (see Highlighter)."""
    return Highlighter(query, analyzer).snippet(
        source, field=field, max_chars=max_chars, passages=passages, formatter=formatter
    )


class LazyHighlighter:
    """A :class:`Highlighter` built on first use, so searches that never ask for a snippet
    pay nothing for it."""

    def __init__(self, query: Any, analyzers: Any, body_stored: bool = True):
        self._args = (query, analyzers, body_stored)
        self._highlighter: Highlighter | None = None

    def snippet(
        self,
        source: Any,
        *,
        field: str = "body",
        max_chars: int = DEFAULT_MAX_CHARS,
        passages: int = 1,
        formatter: Formatter | str = PLAIN,
    ) -> Snippet:
        """:meth:`Highlighter.snippet`."""
        if self._highlighter is None:
            self._highlighter = Highlighter(*self._args)
        return self._highlighter.snippet(
            source, field=field, max_chars=max_chars, passages=passages, formatter=formatter
        )


def snippet_of(hit: Any, **options: Any) -> Snippet:
    """The snippet of a hit from ``Index.search``: ``hit.snippet(**options)``."""
    return hit.snippet(**options)
