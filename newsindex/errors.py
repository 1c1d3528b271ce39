"""One tree of errors: catch :class:`NewsIndexError` to catch everything newsindex raises."""

from __future__ import annotations

import math
import numbers


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
    """An argument or configuration value (keyword argument, YAML file) is invalid; the
    message names it."""


class ArgumentTypeError(ConfigError, TypeError):
    """An argument or configuration value has the wrong type; the message names it.

    A :class:`TypeError`, and also a :class:`ConfigError` (so a ``ValueError``): code that
    caught ConfigError for a bad option, before types were told apart, still catches it.
    """


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


class IndexCorruptError(NewsIndexError, OSError):
    """An index file is missing, truncated or fails its checksum; the message names the file.

    An OSError, as :class:`gzip.BadGzipFile` is: the files on disk cannot be read."""


class IndexClosedError(NewsIndexError, ValueError):
    """The Index was closed (``Index.close()``): it, and the hits of its searches whose
    articles were not loaded before, can no longer read the index (like a closed file)."""


class IndexFormatError(NewsIndexError, OSError):
    """The index was written by a newer (or unknown) format version."""


class LockError(NewsIndexError, TimeoutError):
    """Another writer holds the index's write lock (still, after the writer's ``timeout``)."""


class WriterClosedError(NewsIndexError, RuntimeError):
    """The writer was already committed or rolled back."""


class ClusterError(NewsIndexError, ConnectionError):
    """A sharded index's Dask cluster failed a search or a build: a worker was lost or the
    scheduler cannot be reached; the message names the shard, partition or scheduler."""


class AnalysisWorkerError(NewsIndexError, RuntimeError):
    """A forked analysis worker of a writer died; the writer rolls back."""


# -- argument checks shared by the public API: each names the parameter it checks ---------------
def check_type(name: str, value: object, types: type | tuple[type, ...], expected: str) -> None:
    """ArgumentTypeError unless ``value`` is one of ``types`` (a bool is never an int here)."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
        raise ArgumentTypeError(f"{name} must be {expected}, got {_describe(value)}")


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (any integral number but a bool)."""
    if type(value) is int:
        number = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer, got {_describe(value)}")
    else:
        number = int(value)  # numpy integers and the like
    if number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum:,}" if maximum is None else f"in {minimum:,}..{maximum:,}"
        raise ConfigError(f"{name} must be an integer {bound}, got {_show(value)}")
    return number


def check_number(
    name: str, value: object, minimum: float, maximum: float = math.inf, *, finite: bool = True
) -> float:
    """``value`` as a float in ``[minimum, maximum]``; never NaN, infinite only if allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float: beyond any finite bound
        number = math.inf if isinstance(value, int) and value > 0 else -math.inf
    if not (minimum <= number <= maximum) or (finite and math.isinf(number)):
        bound = f">= {minimum:g}" if maximum == math.inf else f"in [{minimum:g}, {maximum:g}]"
        kind = "a finite number" if finite else "a number"
        raise ConfigError(f"{name} must be {kind} {bound}, got {_show(value)}")
    return number


def check_bool(name: str, value: object) -> bool:
    if value is not True and value is not False:
        raise ArgumentTypeError(f"{name} must be True or False, got {_describe(value)}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices``."""
    if isinstance(value, str) and value in choices:
        return value
    check_type(name, value, str, f"one of {', '.join(map(repr, choices))}")
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {_show(value)}")


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _show(value: object) -> str:
    """``repr(value)``, shortened; an integer of thousands of digits has none."""
    try:
        text = repr(value)
    except ValueError:
        return "(a number too large to show)"
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: object) -> str:
    return f"{type(value).__name__} {_show(value)}"
