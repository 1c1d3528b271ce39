"""What a search returns: ranked hits with lazily loaded articles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..article import Article
from .facets import Facets


@dataclass(eq=False)
class Hit:
    """One ranked result. ``article`` is read from the stored fields on first access."""

    id: str
    score: float
    rank: int
    date_day: int
    _load: Callable[[], Article] = field(repr=False)
    _article: Article | None = field(default=None, repr=False)
    _highlighter: Any = field(default=None, repr=False)  # the query, set by Index.search

    @property
    def article(self) -> Article:
        if self._article is None:
            self._article = self._load()
        return self._article

    def snippet(self, **options: Any) -> Any:
        """The body's best passage(s) with the query's terms marked.

        Options: ``max_chars`` (240), ``passages`` (1), ``field`` ("body"), ``formatter``
        ("plain", "brackets", "ansi", "html", "rich" or a formatter object); see
        :class:`newsindex.results.snippets.Highlighter`. Returns a ``Snippet``
        (``str()`` gives the marked text).
        """
        from .snippets import snippet_of

        return snippet_of(self, **options)

    def to_dict(self) -> dict[str, Any]:
        """rank, id, score, title, date, source, section: the CLI's ``--json`` record."""
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
    """A page of hits, the total number of matching articles and the time taken."""

    hits: list[Hit]
    total: int
    took_ms: float
    offset: int = 0
    facets: Facets | None = None  # with search(..., facets=True)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]
