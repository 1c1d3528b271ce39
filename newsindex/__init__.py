"""newsindex: full-text search for news archives.

Index articles (title, body, date, source, section, author, url) and search them with ranked
results (vectorized BM25F), field filters and snippets::

    import newsindex
    ix = newsindex.Index.create("idx")
    with ix.writer() as w:
        w.add({"id": "1", "title": "Battle for Aleppo", "body": "...", "date": "2016-11-09",
               "source": "TRT World", "section": "World"})
    res = ix.search("aleppo battle", limit=10)
    for hit in res.hits:
        print(hit.rank, hit.score, hit.article.title)
"""

import typing as _typing

from .analysis import Analyzer, AnalyzerSpec
from .article import Article
from .cluster.sharded import ShardedIndex
from .cluster.writer import ShardedWriter
from .config import IndexSettings, Scoring
from .errors import (
    ArgumentTypeError,
    ArticleError,
    ClusterError,
    ConfigError,
    IndexClosedError,
    IndexCorruptError,
    IndexExistsError,
    IndexFormatError,
    IndexNotFoundError,
    LockError,
    NewsIndexError,
    QuerySyntaxError,
    QueryTooExpensiveError,
    WriterClosedError,
)
from .handle import Index
from .index.check import check_index
from .index.writer import IndexWriter
from .results.facets import Facets
from .results.hits import Hit, Results
from .results.query import Query
from .results.snippets import Snippet
from .results.terminal import terminal_safe
from .schema import KEYWORD_FIELDS, QUERY_FIELDS, TEXT_FIELDS
from .search.collapse import DEFAULT_THRESHOLD as COLLAPSE_THRESHOLD
from .search.scoring import Explanation
from .search.topk import SORTS

if _typing.TYPE_CHECKING:
    from .ingest import IngestError, Problem, Record, count_hint, iter_records, load_mapping

__version__ = "0.1.0"

# The public API, exactly what README.md's "Public API" section lists (tests/test_public_api.py).
__all__ = [
    "COLLAPSE_THRESHOLD",
    "KEYWORD_FIELDS",
    "QUERY_FIELDS",
    "SORTS",
    "TEXT_FIELDS",
    "Analyzer",
    "AnalyzerSpec",
    "ArgumentTypeError",
    "Article",
    "ArticleError",
    "ConfigError",
    "Explanation",
    "Facets",
    "Hit",
    "Index",
    "IndexClosedError",
    "IndexCorruptError",
    "IndexExistsError",
    "IndexFormatError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexWriter",
    "IngestError",
    "LockError",
    "NewsIndexError",
    "Problem",
    "Query",
    "QuerySyntaxError",
    "QueryTooExpensiveError",
    "Record",
    "Results",
    "Scoring",
    "ClusterError",
    "ShardedIndex",
    "ShardedWriter",
    "Snippet",
    "WriterClosedError",
    "__version__",
    "check_index",
    "count_hint",
    "iter_records",
    "load_mapping",
    "terminal_safe",
]

# Reading files (YAML, CSV, e-mail dates) loads on first use: a search process never needs it.
_INGEST = ("IngestError", "Problem", "Record", "count_hint", "iter_records", "load_mapping")


def __getattr__(name: str) -> _typing.Any:
    if name in _INGEST:
        from . import ingest

        value = getattr(ingest, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
