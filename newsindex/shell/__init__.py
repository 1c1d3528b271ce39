"""``newsindex shell INDEX_DIR``: search interactively, with snippets, facets and explain.

The one package that renders with rich: :mod:`.repl` (loop, history, completion),
:mod:`.commands` (what each ``:command`` does), :mod:`.render` (tables, trees) and
:mod:`.session` (the query, its page and the session's options, without rendering).
"""

from .repl import run

__all__ = ["run"]
