"""What ingest yields: a :class:`Record` (an article and where it came from) or a :class:`Problem`.

Readers never raise for bad input: they yield a :class:`Problem` and go on (or stop the file when
its remaining content cannot be trusted). :func:`newsindex.ingest.iter_records` alone decides,
from ``on_error``, whether a problem is raised as :class:`IngestError` or handed to the caller, so
the policy lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..article import Article
from ..errors import NewsIndexError


@dataclass(frozen=True)
class Record:
    """A validated article and its origin.

    Attributes:
        article: the validated :class:`~newsindex.article.Article`.
        path: the file it was read from, as found (relative when the caller gave a relative path).
        line: 1-based line where the record starts (always 1 for one-article-per-file formats).
    """

    article: Article
    path: str
    line: int


@dataclass(frozen=True)
class Problem:
    """One bad record or unreadable file.

    Attributes:
        path: the file (or folder) concerned.
        line: 1-based line where the bad record starts; 0 means the file as a whole (missing,
            unreadable, binary, a folder with nothing to ingest).
        field: the article field at fault (``"title"``, ``"date"``, ``"extra.tags"`` ...), or
            None when the record as a whole is bad (malformed JSON, over the size limit ...).
        message: what is wrong, and where it helps, how to fix it.
    """

    path: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        """``path:line: field: message`` (``path:line: message`` when no field is at fault;
        ``path: message`` for the file as a whole)."""
        where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + (f"{self.field}: {self.message}" if self.field else self.message)


class IngestError(NewsIndexError, ValueError):
    """A file or record could not be ingested; ``.problem`` says where (file, line, field) and why.

    Example:
        >>> err = IngestError(Problem("feed.jsonl", 3, "date", "unrecognised date 'soon'"))
        >>> str(err)
        "feed.jsonl:3: date: unrecognised date 'soon'"
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))

    @property
    def path(self) -> str:
        """The file concerned."""
        return self.problem.path

    @property
    def line(self) -> int:
        """1-based line of the bad record (0: the whole file)."""
        return self.problem.line

    @property
    def field(self) -> str | None:
        """The article field at fault, if any."""
        return self.problem.field
