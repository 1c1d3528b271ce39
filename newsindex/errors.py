"""One tree of errors: catch :class:`NewsIndexError` to catch everything newsindex raises."""

from __future__ import annotations


class NewsIndexError(Exception):
    """Base class of every error newsindex raises on purpose."""


class ArticleError(NewsIndexError, ValueError):
    """An article (or one of its fields) is invalid: the message names the field and the rule."""

    def __init__(self, message: str, *, field: str | None = None, where: str | None = None):
        self.field = field
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(prefix + message)


class ConfigError(NewsIndexError, ValueError):
    """A configuration value (YAML file or keyword argument) is invalid."""


class QuerySyntaxError(NewsIndexError, ValueError):
    """A query could not be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, query: str = "", position: int = 0):
        self.message = message
        self.query = query
        self.position = position
        super().__init__(f"{message} (at position {position})" if query else message)

    def caret(self) -> str:
        """The query with a caret under the offending position, for terminals."""
        return f"{self.query}\n{' ' * self.position}^ {self.message}"


class QueryTooExpensiveError(QuerySyntaxError):
    """A query would take too much work: its prefixes (``word*``) expand to more terms than
    the index's limits allow; ``position`` is the prefix that went over."""


class IndexNotFoundError(NewsIndexError, FileNotFoundError):
    """No index exists at the given path."""


class IndexExistsError(NewsIndexError, FileExistsError):
    """``Index.create`` was pointed at a folder that already holds an index."""


class IndexCorruptError(NewsIndexError):
    """An index file is missing, truncated or fails its checksum; the message names the file."""


class IndexClosedError(NewsIndexError, ValueError):
    """The Index was closed (``Index.close()``): it, and the hits of its searches whose
    articles were not loaded before, can no longer read the index (like a closed file)."""


class IndexFormatError(NewsIndexError):
    """The index was written by a newer (or unknown) format version."""


class LockError(NewsIndexError):
    """Another writer holds the index's write lock."""


class WriterClosedError(NewsIndexError):
    """The writer was already committed or rolled back."""
