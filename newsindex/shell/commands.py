"""The shell's commands (``:next``, ``:open 3``...) and queries, printed to a rich console."""

from __future__ import annotations

import os
import pydoc
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.pager import Pager, SystemPager
from rich.text import Text

from .. import SORTS, terminal_safe
from ..errors import NewsIndexError, QuerySyntaxError
from . import render
from .session import SWITCHES, Session, ShellError


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    run: Callable[[Shell, list[str]], bool | None]  # False: leave the shell
    aliases: tuple[str, ...] = ()


class Shell:
    """Reads one line at a time (a query or a ``:command``) and prints what it asks for.

    ``pager``: show ``:open`` through the system pager (only on a terminal).
    """

    def __init__(self, session: Session, console: Console, *, pager: bool = False):
        self.session = session
        self.console = console
        self.pager = pager
        # No colours (a pipe, NO_COLOR, a dumb terminal): marks must show as characters.
        self.plain = console.no_color or console.color_system is None

    def handle(self, line: str) -> bool:
        """Do ``line``; False when the shell should end. Errors are printed, never raised."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith(":"):
                return self.command(line) is not False
            self.query(line)
        except QuerySyntaxError as err:
            self.print(render.problem(err, line))
        except ShellError as err:
            self.print(Text(str(err), style="yellow"))
        except NewsIndexError as err:
            self.print(Text(f"error: {err}", style="red"))
        except Exception:  # noqa: BLE001 - a bug must not cost the user the session
            self.console.print_exception()
            self.print(Text("internal error (please report it); the shell carries on", style="red"))
        return True

    def print(self, *renderables: RenderableType) -> None:
        if self.console.is_terminal:
            self.console.print(*renderables)
            return
        # In a pipe, lines end where their text ends: rich pads table cells and wrapped
        # paragraphs to the console's width, which scripts and diffs would have to strip.
        with self.console.capture() as captured:
            self.console.print(*renderables)
        text = "\n".join(line.rstrip() for line in captured.get().split("\n"))
        try:
            self.console.file.write(text)
            self.console.file.flush()
        except BrokenPipeError:
            self.console.on_broken_pipe()

    # -- queries ------------------------------------------------------------------------------
    def query(self, text: str) -> None:
        search = self.session.search(text)
        for warning in search.warnings:
            self.print(render.problem(warning, text, warning=True))
        for note in search.results.warnings if search.results is not None else ():
            self.print(Text(f"warning: {note}", style="yellow"))
        self.show_results()

    def show_results(self) -> None:
        session = self.session
        search, results = session.need_query()
        self.print(
            render.results_view(
                search.text,
                results,
                session.highlighter(),
                page_size=session.page_size,
                plain=self.plain,
                show_facets=session.facets,
                collapsed=session.collapse and search.like is None,
            )
        )
        for hint in results.hints:
            self.print(Text(terminal_safe(hint, one_line=True), style="yellow"))
        if results.expansion:
            terms = ", ".join(f"{t} {w:.3f}" for t, w in results.expansion)
            self.print(Text(terminal_safe(f"feedback terms: {terms}", one_line=True), style="dim"))
        if results.suggestion is not None:
            shown = terminal_safe(results.suggestion, one_line=True)
            self.print(Text(f"did you mean: {shown}?", style="yellow"))

    # -- commands -----------------------------------------------------------------------------
    def command(self, line: str) -> bool | None:
        if not line[1:].strip():
            raise ShellError("a command name goes after ':' (:help lists them)")
        name, *args = line[1:].split()
        found = BY_NAME.get(name.lower())
        if found is None:
            raise ShellError(f"unknown command :{name}; :help lists the commands")
        return found.run(self, args)

    def help(self, args: list[str]) -> None:
        rows = []
        for cmd in COMMANDS:
            names = ", ".join(f":{n}" for n in (cmd.name, *cmd.aliases))
            rows.append((names, cmd.args, cmd.help))
        self.print(render.help_table(rows))

    def next_page(self, args: list[str]) -> None:
        self.session.turn(+1)
        self.show_results()

    def prev_page(self, args: list[str]) -> None:
        self.session.turn(-1)
        self.show_results()

    def open(self, args: list[str]) -> None:
        hit = self.session.hit(_rank(args, self.session))
        # In a pipe, :open gives the article as stored, without the marks of the query's words.
        piped = not self.console.is_terminal
        view = render.article_view(
            hit.article, self.session.highlighter(), plain=self.plain, marks=not piped
        )
        if self.pager and self.console.is_terminal:
            pager, colours = _pager()
            with self.console.pager(pager, styles=colours):
                self.print(view)
        else:
            self.print(view)

    def explain(self, args: list[str]) -> None:
        hit, why = self.session.explain(_rank(args, self.session))
        self.print(render.explain_tree(hit.article.title or hit.id, hit.rank, why))

    def similar(self, args: list[str]) -> None:
        self.session.similar(_rank(args, self.session))
        self.show_results()

    def sort(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ShellError(f"usage: :sort {'|'.join(SORTS)} (now: {self.session.sort})")
        self.session.set_sort(args[0])
        self._refresh(f"sorted by {self.session.sort}")

    def limit(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ShellError(f"usage: :limit N (now: {self.session.page_size})")
        self.session.set_page_size(args[0])
        self._refresh(f"{self.session.page_size} hits per page")

    def recency(self, args: list[str]) -> None:
        if len(args) != 1:
            now = self.session.recency or "off"
            raise ShellError(f"usage: :recency HALF_LIFE|off, e.g. :recency 30d (now: {now})")
        self.session.set_recency(args[0])
        self._refresh(f"recency {args[0]}")

    def feedback(self, args: list[str]) -> None:
        if len(args) != 1:
            state = SWITCHES[0] if self.session.effective_scoring().feedback else SWITCHES[1]
            raise ShellError(f"usage: :feedback {'|'.join(SWITCHES)} (now: {state})")
        self.session.set_feedback(args[0])
        self._refresh(f"feedback {args[0]}")

    def collapse(self, args: list[str]) -> None:
        if len(args) != 1:
            state = SWITCHES[0] if self.session.collapse else SWITCHES[1]
            raise ShellError(f"usage: :collapse {'|'.join(SWITCHES)} (now: {state})")
        self.session.set_collapse(args[0])
        self._refresh(f"collapse {args[0]}")

    def facets(self, args: list[str]) -> None:
        if len(args) != 1:
            state = SWITCHES[0] if self.session.facets else SWITCHES[1]
            raise ShellError(f"usage: :facets {'|'.join(SWITCHES)} (now: {state})")
        self.session.set_facets(args[0])
        self._refresh(f"facets {args[0]}")

    def stats(self, args: list[str]) -> None:
        session = self.session
        self.print(
            render.stats_table(
                session.index.stats(), session.overview(), session.effective_scoring()
            )
        )

    def set(self, args: list[str]) -> None:
        if not args:
            described = render.describe_scoring(self.session.effective_scoring())
            self.print(Text(f"scoring: {described}  (:set k1=.. b=.. title=.. body=.. | reset)"))
            return
        scoring = self.session.set_scoring(args)
        self._refresh(f"scoring for this session: {render.describe_scoring(scoring)}")

    def quit(self, args: list[str]) -> bool:
        return False

    def _refresh(self, message: str) -> None:
        self.print(Text(message, style="dim"))
        if self.session.current is not None and self.session.current.results is not None:
            self.show_results()


def _rank(args: list[str], session: Session) -> int:
    if not args:  # no number: the first hit of the page shown
        results = session.current.results if session.current else None
        if not results or not results.hits:
            raise ShellError("no hit to show: run a query first, then e.g. :open 1")
        return results.hits[0].rank
    try:
        return int(args[0].lstrip("#"))
    except ValueError:
        raise ShellError(f"expected a hit number (the # column), got {args[0]!r}") from None


class _CommandPager(Pager):
    """Pages through a given command (rich's SystemPager only takes $PAGER or plain less)."""

    def __init__(self, command: str):
        self.command = command

    def show(self, content: str) -> None:
        pydoc.pipepager(content, self.command)


def _pager() -> tuple[Pager, bool]:
    """The pager to use and whether it shows colours (``less -R`` does; plain less does not)."""
    chosen = os.environ.get("MANPAGER") or os.environ.get("PAGER")
    if not chosen and shutil.which("less") and os.environ.get("TERM") not in ("dumb", "emacs"):
        return _CommandPager("less -R"), True
    less = os.environ.get("LESS", "")
    colours = bool(chosen and ("-R" in chosen or "-r" in chosen or "R" in less))
    return SystemPager(), colours


COMMANDS = (
    Command("help", "", "this list", Shell.help, ("h", "?")),
    Command("next", "", "the next page of results", Shell.next_page, ("n",)),
    Command("prev", "", "the previous page", Shell.prev_page, ("p",)),
    Command("open", "N", "the whole article ranked N (paged on a terminal)", Shell.open, ("o",)),
    Command("explain", "N", "how hit N's score was made (BM25F)", Shell.explain, ("e",)),
    Command("similar", "N", "stories related to hit N (more like this)", Shell.similar, ("s",)),
    Command("sort", "|".join(SORTS), "order of the results", Shell.sort),
    Command("limit", "N", "hits per page", Shell.limit),
    Command(
        "recency", "30d|off", "favour fresh stories: scores halve per half-life", Shell.recency
    ),
    Command(
        "feedback",
        "|".join(SWITCHES),
        "expand queries with terms of their best hits (RM3)",
        Shell.feedback,
    ),
    Command(
        "collapse",
        "|".join(SWITCHES),
        "one hit per group of near-duplicates (wire copies)",
        Shell.collapse,
    ),
    Command(
        "facets",
        "|".join(SWITCHES),
        "counts by source, section and month under the results",
        Shell.facets,
    ),
    Command("stats", "", "what the index holds", Shell.stats),
    Command(
        "set", "k1=.. b=.. title=.. body=..", "scoring for this session (:set reset)", Shell.set
    ),
    Command("quit", "", "leave the shell (Ctrl-D too)", Shell.quit, ("q", "exit")),
)
BY_NAME = {n: c for c in COMMANDS for n in (c.name, *c.aliases)}
