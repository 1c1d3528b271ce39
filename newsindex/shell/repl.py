"""The read-eval-print loop: prompt, history across sessions, tab completion, pipes.

On a terminal lines are read with :func:`input` and GNU readline (or libedit) when Python
has it: history in ``$XDG_CACHE_HOME/newsindex/shell_history`` (``~/.cache/...``), Tab
completes field names and commands. Without readline the prompt still works, plainly.
From a pipe, lines are read one by one without a prompt, so the shell can be scripted:
``printf 'aleppo\\n:quit\\n' | newsindex shell IDX``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from .. import KEYWORD_FIELDS, QUERY_FIELDS, SORTS, Index
from .commands import BY_NAME, Shell
from .session import SCORING_KEYS, SWITCHES, Session

PROMPT = "newsindex> "
HISTORY_LENGTH = 2000
#: Completion splits words only here: ':' and '-' stay inside "title:" and "trt-world".
COMPLETER_DELIMS = ' \t\n"()+'
ARGUMENTS = {
    "sort": list(SORTS),
    "facets": list(SWITCHES),
    "feedback": list(SWITCHES),
    "set": [f"{k}=" for k in SCORING_KEYS] + ["reset"],
}


class ShellConsole(Console):
    """A console that ends quietly with status 0 when its pipe closes (``... | head``), as
    the other newsindex commands do (rich's default is status 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        raise SystemExit(0)


def history_path() -> Path:
    """Where the shell's history lives: ``$XDG_CACHE_HOME`` or ``~/.cache``, then newsindex/."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsindex" / "shell_history"


class Completer:
    """Tab completion: commands after ':', field names (``sec`` -> ``section:``), values of
    source/section/author (``source:re`` -> ``source:reuters``) and command arguments.

    ``values(field)`` lists the values a keyword field can take (asked for lazily).
    """

    def __init__(self, values: Callable[[str], list[str]]):
        self.values = values
        self._matches: list[str] = []

    def candidates(self, line: str, begidx: int, text: str) -> list[str]:
        """Completions of ``text``, the word at ``begidx`` of ``line``."""
        before = line[:begidx]
        if before.strip() == "" and text.startswith(":"):
            names = sorted(BY_NAME)
            return [
                f":{n}" + (" " if n in ARGUMENTS or BY_NAME[n].args else "")
                for n in names
                if f":{n}".startswith(text)
            ]
        if before.lstrip().startswith(":"):
            name = before.split()[0][1:]
            return [a for a in ARGUMENTS.get(name, []) if a.startswith(text)]
        sign = text[:1] if text[:1] in "+-" else ""  # "-sec" completes to "-section:"
        word = text[len(sign) :]
        field_name, colon, value = word.partition(":")
        if colon:
            if field_name not in KEYWORD_FIELDS:
                return []
            return [
                f"{sign}{field_name}:{v}"
                for v in self.values(field_name)
                if v.startswith(value.lower())
            ]
        return [f"{sign}{f}:" for f in QUERY_FIELDS if f.startswith(word.lower())]

    def complete(self, text: str, state: int) -> str | None:
        """The readline protocol: the ``state``-th completion of ``text``."""
        if state == 0:
            import readline

            try:
                self._matches = self.candidates(
                    readline.get_line_buffer(), readline.get_begidx(), text
                )
            except Exception:  # noqa: BLE001 - readline swallows errors silently; stay quiet too
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None


def setup_readline(completer: Completer, path: Path | None = None) -> Callable[[], None]:
    """Load history and bind Tab; return what saves the history (a no-op without readline)."""
    try:
        import readline
    except ImportError:  # e.g. Windows, or a Python built without it: plain input() it is
        return lambda: None
    path = path or history_path()
    try:
        readline.read_history_file(path)
    except (OSError, UnicodeDecodeError):
        pass  # first run, or an unreadable file: start with no history
    readline.set_history_length(HISTORY_LENGTH)
    readline.set_completer(completer.complete)
    readline.set_completer_delims(COMPLETER_DELIMS)
    if "libedit" in (readline.__doc__ or ""):  # macOS's readline speaks another binding syntax
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass  # a read-only home must not turn leaving the shell into an error

    return save


def read_lines(stream: TextIO, *, interactive: bool, console: Console) -> Iterator[str]:
    """Lines typed at the prompt (Ctrl-C drops the line, Ctrl-D ends), or lines of a pipe."""
    if not interactive:
        for line in stream:
            yield line.rstrip("\r\n")
        return
    while True:
        try:
            yield input(PROMPT)
        except EOFError:  # Ctrl-D
            console.print()
            return
        except KeyboardInterrupt:  # like a shell: forget the line, prompt again
            console.print()


def run(
    index_dir: str | Path,
    *,
    stdin: TextIO | None = None,
    console: Console | None = None,
    cache_mb: int | None = None,
) -> int:
    """Run the shell on the index in ``index_dir`` until :quit or end of input; exit code.
    ``cache_mb``: as for :meth:`Index.open`."""
    stdin = stdin or sys.stdin
    index = Index.open(index_dir, cache_mb=cache_mb)
    interactive = stdin is sys.stdin and stdin.isatty()
    console = console or ShellConsole(highlight=False, emoji=False, markup=False)
    session = Session(index)
    shell = Shell(session, console, pager=interactive)

    def save() -> None:
        return None

    if interactive:
        save = setup_readline(Completer(session.keyword_values))
        console.print(
            Text.assemble(
                ("newsindex shell", "bold"),
                f" \u00b7 {index.path} \u00b7 {index.doc_count:,} articles"
                " \u00b7 :help for commands, Tab completes, Ctrl-D quits",
                style="dim",
            )
        )
    try:
        for line in read_lines(stdin, interactive=interactive, console=console):
            try:
                if not shell.handle(line):
                    break
            except KeyboardInterrupt:
                console.print(Text("interrupted", style="yellow"))
    finally:
        save()
        index.close()
    return 0
