"""What a search returns: ranked hits with lazily loaded articles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..article import Article
from ..errors import ConfigError
from .facets import Facets
from .snippets import DEFAULT_MAX_CHARS, Formatter, Highlighter, LazyHighlighter, Snippet


class Hit:
    """One ranked result. ``article`` is read from the stored fields on first access.

    ``Hit(id, score, rank, date_day, load, highlighter=None)``: ``date_day`` is the article's
    day number (see :func:`newsindex.schema.day_number`), ``load`` a callable returning the
    :class:`Article`, ``highlighter`` what :meth:`snippet` marks (``Index.search`` sets it).
    ``duplicates``: the ids of the near-duplicates the hit stands for, with
    ``Index.search(..., collapse=True)`` (an empty tuple otherwise).
    """

    # Slots and a plain __init__: a page of hits is built on every search.
    __slots__ = (
        "id",
        "score",
        "rank",
        "date_day",
        "duplicates",
        "_load",
        "_article",
        "_highlighter",
    )

    def __init__(
        self,
        id: str,
        score: float,
        rank: int,
        date_day: int,
        load: Callable[[], Article],
        highlighter: LazyHighlighter | Highlighter | None = None,
    ):
        self.id = id
        self.score = score
        self.rank = rank
        self.date_day = date_day
        self._load = load
        self._article: Article | None = None
        self._highlighter = highlighter
        #: With ``search(..., collapse=True)``: the ids of the near-duplicates this hit
        #: stands for, best-ranked first (empty when not collapsing, or for a unique story).
        self.duplicates: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Hit(id={self.id!r}, score={self.score!r}, rank={self.rank!r}, date_day={self.date_day!r})"

    @property
    def article(self) -> Article:
        if self._article is None:
            self._article = self._load()
        return self._article

    def snippet(
        self,
        *,
        field: str = "body",
        max_chars: int = DEFAULT_MAX_CHARS,
        passages: int = 1,
        formatter: Formatter | str = "plain",
    ) -> Snippet:
        """The best ``passages`` of text ``field`` ("body" or "title") with the query's terms
        marked, at most ``max_chars`` characters (ellipses aside) shared by the passages.

        Returns a :class:`Snippet`: ``str(snippet)`` is its text marked by ``formatter``
        ("plain", "brackets", "ansi", "html", "rich", or a callable ``(text, spans)``);
        ``snippet.text`` and ``snippet.spans`` are the text and the marked offsets, and
        ``snippet.format(other)`` marks it another way (``"rich"`` gives a rich ``Text``).
        ConfigError (ArgumentTypeError for a wrong type) names a bad option.
        """
        if self._highlighter is None:
            raise ConfigError(
                "this hit carries no query (it was not made by Index.search): use "
                "newsindex.results.snippets.snippet(hit, plan, analyzers)"
            )
        return self._highlighter.snippet(
            self, field=field, max_chars=max_chars, passages=passages, formatter=formatter
        )

    def to_dict(self) -> dict[str, Any]:
        """rank, id, score, title, date, source, section (the CLI's ``--json`` hit adds
        author, url and snippet)."""
        art = self.article
        return {
            "rank": self.rank,
            "id": self.id,
            "score": round(self.score, 6),
            "title": art.title,
            "date": art.date.isoformat() if art.date else None,
            "source": art.source,
            "section": art.section,
        }


@dataclass
class Results:
    """A page of hits, the total number of matching articles and the time taken.

    ``warnings``: what the user should know about the query as it ran, e.g. that none of its
    words is searchable (only stop words or single letters), rather than a silent 0 hits."""

    hits: list[Hit]
    total: int
    took_ms: float
    offset: int = 0
    facets: Facets | None = None  # with search(..., facets=True)
    warnings: list[str] = field(default_factory=list)
    #: When nothing matched: a source/section/author value no article has, and the nearest
    #: values that exist ("no section is 'busines'; did you mean section:business?").
    hints: list[str] = field(default_factory=list)
    #: With feedback: the RM3 expansion terms and their weights, heaviest first.
    expansion: list[tuple[str, float]] = field(default_factory=list)
    #: False when the search was asked not to count (``count=False``) and left out matches
    #: that could not rank: ``total`` is then a lower bound, not the number of matches.
    total_exact: bool = True
    #: What computes :attr:`suggestion` on its first read (None: no suggestion).
    _suggest: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    _suggestion: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def suggestion(self) -> str | None:
        """Did you mean: the query text with its unknown or rare words spelled as the index
        commonly spells them (``"aleppo ceasefire"`` for ``"aleppo ceasfire"``), operators,
        fields and filters as typed; None when every word is known and common enough (see
        docs/query-syntax.md). Never applied: the hits are those of the query as typed.
        Computed on first read, so a search whose caller never asks pays nothing for it."""
        if self._suggest is not None:
            self._suggestion, self._suggest = self._suggest(), None
        return self._suggestion

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]
