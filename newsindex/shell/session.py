"""The shell's state and actions, without any rendering: the query, its page, the options."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from .. import SORTS, TEXT_FIELDS, Explanation, Facets, Hit, Index, Query, Results, Scoring
from ..errors import ConfigError, NewsIndexError, QuerySyntaxError

#: The values of an on/off option (``:facets``), the first one switching it on.
SWITCHES = ("on", "off")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: ``:set`` names: BM25F saturation, length normalisation, and per-field weights and b.
SCORING_KEYS = (
    ("k1", "b")
    + TEXT_FIELDS
    + tuple(f"{f}.b" for f in TEXT_FIELDS)
    + ("proximity", "rescore_window", "fb_docs", "fb_terms", "fb_original_weight")
)
#: The :set names that take whole numbers.
_INT_KEYS = ("rescore_window", "fb_docs", "fb_terms")


class ShellError(NewsIndexError, ValueError):
    """A command that cannot be done as asked; the message is for the user."""


@dataclass
class Search:
    """The query being looked at (parsed once, leniently) and its current page."""

    query: Query
    page: int = 0
    results: Results | None = None
    like: Hit | None = None  # set by :similar: the stories related to this hit

    @property
    def text(self) -> str:
        if self.like is not None:
            return f"similar to {self.like.article.title or self.like.id}"
        return self.query.text

    @property
    def warnings(self) -> tuple[QuerySyntaxError, ...]:
        """The problems lenient parsing worked around, shown above the results."""
        return self.query.warnings


class Session:
    """One shell session on one index: options live here, not in the index."""

    def __init__(self, index: Index, *, today: _dt.date | None = None):
        self.index = index
        self.today = today
        self.page_size = DEFAULT_PAGE_SIZE
        self.sort = "relevance"
        self.facets = True
        self.scoring: Scoring | None = None  # None: the index's own
        self.recency: str | None = None  # a half-life ("30d"), None: off
        self.collapse = False  # near-duplicates collapsed under their best-ranked copy
        self.current: Search | None = None
        self._overview: Facets | None = None

    # -- queries ------------------------------------------------------------------------------
    def search(self, text: str) -> Search:
        """Run ``text`` as the new current query, first page.

        Typing is forgiving: the query is parsed leniently, its problems kept as warnings;
        QuerySyntaxError only for what no reading can run (a prefix matching too many terms).
        """
        self.current = Search(self.index.parse(text, lenient=True, today=self.today))
        self.fetch()
        return self.current

    def fetch(self) -> Results:
        """(Re)run the current query for its current page with the session's options."""
        search = self.current
        if search is None:
            raise ShellError("no query yet: type some words first")
        search.results = self._run(
            search,
            limit=self.page_size,
            offset=search.page * self.page_size,
            facets=self.facets,
            date_bucket="month",
        )
        return search.results

    def similar(self, rank: int) -> Search:
        """Make the stories related to hit ``rank`` the current results, first page."""
        hit = self.hit(rank)
        self.current = Search(self.index.like_query(hit.id), like=hit)
        self.fetch()
        return self.current

    def _run(self, search: Search, **options: Any) -> Results:
        options.update(sort=self.sort, scoring=self.scoring)
        if self.recency is not None:
            options.update(recency=self.recency, today=self.today)
        if search.like is not None:
            return self.index.more_like_this(search.like.id, **options)
        return self.index.search(search.query, collapse=self.collapse, **options)

    def turn(self, pages: int) -> Results:
        """Move ``pages`` pages forward (negative: back)."""
        search, results = self.need_query()
        target = search.page + pages
        if target < 0:
            raise ShellError("already on the first page")
        if target * self.page_size >= max(results.total, 1):
            raise ShellError("no more results")
        search.page = target
        return self.fetch()

    def hit(self, rank: int) -> Hit:
        """The hit ranked ``rank`` (1-based, as the table shows) for the current query."""
        search, results = self.need_query()
        for hit in results.hits:
            if hit.rank == rank:
                return hit
        if not 1 <= rank <= results.total:
            total = results.total
            raise ShellError(f"no hit {rank}: the query has {total:,} result{'s' * (total != 1)}")
        # Not on this page: fetch that one hit with the same options.
        return self._run(search, limit=1, offset=rank - 1).hits[0]

    def explain(self, rank: int) -> tuple[Hit, Explanation]:
        """Hit ``rank`` and how its score was made."""
        hit = self.hit(rank)
        search = self.need_query()[0]
        query = search.query
        collapse = self.collapse and search.like is None
        if self.recency is None:
            return hit, self.index.explain(query, hit.id, scoring=self.scoring, collapse=collapse)
        why = self.index.explain(
            query,
            hit.id,
            scoring=self.scoring,
            recency=self.recency,
            today=self.today,
            collapse=collapse,
        )
        return hit, why

    def highlighter(self) -> Query:
        """The current query, which marks its words in the hits and articles shown."""
        return self.need_query()[0].query

    def need_query(self) -> tuple[Search, Results]:
        """The current query and its results (ShellError if there is none)."""
        if self.current is None or self.current.results is None:
            raise ShellError("no query yet: type some words first")
        return self.current, self.current.results

    # -- options ------------------------------------------------------------------------------
    def set_sort(self, value: str) -> None:
        if value not in SORTS:
            raise ShellError(f"sort must be one of {', '.join(SORTS)}")
        self.sort = value
        self._first_page()

    def set_page_size(self, value: str) -> None:
        try:
            size = int(value)
        except ValueError:
            raise ShellError(f"limit must be a whole number, got {value!r}") from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ShellError(f"limit must be in 1..{MAX_PAGE_SIZE}")
        self.page_size = size
        self._first_page()

    def set_recency(self, value: str) -> None:
        """A half-life (``30d``) favouring fresh stories, or ``off``."""
        if value == SWITCHES[1]:
            self.recency = None
        else:
            try:
                # The half-life is checked before the query is read: any word will do.
                self.index.search("news", limit=0, recency=value)
            except ConfigError as exc:
                raise ShellError(str(exc)) from None
            self.recency = value
        self._first_page()

    def set_collapse(self, value: str) -> None:
        if value not in SWITCHES:
            raise ShellError(f"collapse must be one of {', '.join(SWITCHES)}")
        self.collapse = value == SWITCHES[0]
        self._first_page()

    def set_facets(self, value: str) -> None:
        if value not in SWITCHES:
            raise ShellError(f"facets must be one of {', '.join(SWITCHES)}")
        self.facets = value == SWITCHES[0]
        if self.current is not None and self.current.results is not None:
            self.fetch()

    def set_scoring(self, assignments: list[str]) -> Scoring:
        """Apply ``k1=0.9 b=0.5 title=3 body.b=0.6`` (or ``reset``) for this session."""
        base = self.index.settings.scoring
        if assignments == ["reset"]:
            self.scoring = None
            self._first_page()
            return base
        current = self.scoring or base
        values: dict[str, Any] = current.to_dict()
        for item in assignments:
            name, sep, raw = item.partition("=")
            if not sep or name not in SCORING_KEYS:
                names = ", ".join(SCORING_KEYS)
                raise ShellError(f"expected name=number, a name among {names}; got {item!r}")
            try:
                number = float(raw)
            except ValueError:
                raise ShellError(f"{name}: {raw!r} is not a number") from None
            if name in _INT_KEYS:
                if not number.is_integer():
                    raise ShellError(f"{name}: {raw!r} is not a whole number")
                values[name] = int(number)
            elif name in ("k1", "b") or name in SCORING_KEYS[-5:]:
                values[name] = number
            elif name.endswith(".b"):
                values["field_b"][name[:-2]] = number
            else:
                values["weights"][name] = number
        try:
            self.scoring = Scoring(**values)
        except ConfigError as exc:
            raise ShellError(str(exc)) from None
        self._first_page()
        return self.scoring

    def set_feedback(self, value: str) -> Scoring:
        """RM3 pseudo-relevance feedback ``on`` or ``off`` for this session."""
        if value not in SWITCHES:
            raise ShellError(f"feedback must be one of {', '.join(SWITCHES)}")
        self.scoring = self.effective_scoring().with_(feedback=value == SWITCHES[0])
        self._first_page()
        return self.scoring

    def effective_scoring(self) -> Scoring:
        return self.scoring or self.index.settings.scoring

    def _first_page(self) -> None:
        if self.current is not None and self.current.results is not None:
            self.current.page = 0
            self.fetch()

    # -- the index ----------------------------------------------------------------------------
    def overview(self) -> Facets:
        """Sources, sections and months of the whole index (computed once per session)."""
        if self._overview is None:
            self._overview = self.index.facets(date_bucket="month")
        return self._overview

    def keyword_values(self, field_name: str) -> list[str]:
        """Values of ``source``/``section``/``author`` as typed in a query (``trt-world``)."""
        facets = self.overview()
        pairs = {"source": facets.sources, "section": facets.sections, "author": facets.authors}
        return sorted({_query_word(v) for v, _ in pairs.get(field_name, [])} - {""})


def _query_word(value: str) -> str:
    """A keyword value as one query word: the keyword key ignores case, spaces and dashes."""
    return "-".join("".join(c if c.isalnum() else " " for c in value.lower()).split())
