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

from .analysis import Analyzer, AnalyzerSpec
from .article import Article
from .config import IndexSettings, Scoring
from .errors import (
    ArticleError,
    ConfigError,
    IndexCorruptError,
    IndexExistsError,
    IndexFormatError,
    IndexNotFoundError,
    LockError,
    NewsIndexError,
    QuerySyntaxError,
    WriterClosedError,
)
from .handle import Index
from .index.writer import IndexWriter
from .results.hits import Hit, Results
from .search.scoring import Explanation

__version__ = "0.1.0"

__all__ = [
    "Analyzer",
    "AnalyzerSpec",
    "Article",
    "ArticleError",
    "ConfigError",
    "Explanation",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexExistsError",
    "IndexFormatError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexWriter",
    "LockError",
    "NewsIndexError",
    "QuerySyntaxError",
    "Results",
    "Scoring",
    "WriterClosedError",
    "__version__",
]
