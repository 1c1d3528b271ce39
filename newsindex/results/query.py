"""A query parsed by an index: run it many times, and mark its words in any article."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from ..analysis.analyzer import Analyzer
from ..article import Article
from ..errors import QuerySyntaxError
from ..querylang import plan as P
from .hits import Hit
from .snippets import DEFAULT_MAX_CHARS, PLAIN, Formatter, Highlighter, Snippet


class Query:
    """What :meth:`newsindex.Index.parse` returns: the text, compiled once for that index.

    Pass it to ``search``, ``count`` and ``explain`` of the index that parsed it (paging
    through results, or explaining a hit, without parsing again). ``warnings`` are the
    problems a lenient parse worked around (empty for a strict parse, which raises instead).
    :meth:`snippet` and :meth:`highlight` mark the query's words in any article or text.
    """

    def __init__(
        self,
        text: str,
        plan: P.Node,
        analyzers: Mapping[str, Analyzer],
        warnings: tuple[QuerySyntaxError, ...] = (),
        syntax: str = "query",
        body_stored: bool = True,
    ):
        self.text = text
        #: How ``text`` was read ("query", "plain"; "like" for :meth:`Index.like_query`'s
        #: weighted terms, which no spelling suggestion applies to).
        self.syntax = syntax
        self.warnings = warnings
        self._plan = plan
        self._analyzers = analyzers
        self._body_stored = body_stored  # False: the index's store_body setting is off

    def __repr__(self) -> str:
        return f"Query({self.text!r}, warnings={len(self.warnings)})"

    @cached_property
    def _highlighter(self) -> Highlighter:
        return Highlighter(self._plan, self._analyzers, self._body_stored)

    def snippet(
        self,
        source: Article | Hit | str,
        *,
        field: str = "body",
        max_chars: int = DEFAULT_MAX_CHARS,
        passages: int = 1,
        formatter: Formatter | str = PLAIN,
    ) -> Snippet:
        """The best ``passages`` of ``field`` of ``source`` with the query's words marked
        (as :meth:`newsindex.Hit.snippet`); the lead when nothing of the query is there."""
        return self._highlighter.snippet(
            source, field=field, max_chars=max_chars, passages=passages, formatter=formatter
        )

    def highlight(
        self,
        source: Article | Hit | str,
        *,
        field: str = "title",
        formatter: Formatter | str = PLAIN,
    ) -> Snippet:
        """All of ``field`` of ``source`` (or the text ``source``) with the query's words marked."""
        return self._highlighter.highlight(source, field=field, formatter=formatter)
