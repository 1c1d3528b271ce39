"""The layer order declared in ARCHITECTURE.md holds for every import of the code.

The ``layers`` block of ARCHITECTURE.md lists the layers bottom-up, one per line. An entry is a
file (``newsindex/schema.py``) or a folder (``newsindex/index/``: every module under it);
several paths in one entry form one unit whose modules may import each other; entries joined
by ``|`` are peers, which must not import each other. A module may import from its own entry
and from any layer below. The layers above the one holding ``newsindex/__init__.py`` (the front
ends) may use only the names that ``newsindex.__all__`` lists, plus ``newsindex.errors``.

Every ``import`` counts: at module level, inside functions, under ``if TYPE_CHECKING:`` or in
a ``try``, and ``importlib.import_module`` of a literal name; relative imports are resolved
against the importing module's package. The checker
works on ``{path: source}``, so the self-tests below feed it small fake module graphs with a
known violation each and make sure it reports exactly that.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The trees whose modules are checked; every module of the package must be placed.
CHECKED = ("newsindex", "benchmarks", "examples")
PACKAGE = "newsindex"
FRONT_DOOR = "newsindex/__init__.py"
#: What a front end may import from the package besides ``newsindex`` itself.
ALLOWED_MODULES = ("newsindex.errors",)

_BLOCK = re.compile(r"^```layers[ \t]*\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Entry:
    layer: int
    paths: tuple[str, ...]  # "newsindex/index/" (a folder) or "newsindex/schema.py"

    def covers(self, path: str) -> bool:
        return any(path == p or (p.endswith("/") and path.startswith(p)) for p in self.paths)

    def __str__(self) -> str:
        return " ".join(self.paths)


def parse_layers(text: str) -> list[list[Entry]]:
    """The layers of the ``layers`` block of ``text``, bottom-up, each a list of peer entries."""
    found = _BLOCK.findall(text)
    if len(found) != 1:
        raise ValueError(f"expected one ```layers block, found {len(found)}")
    layers: list[list[Entry]] = []
    for line in found[0].splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        layer = len(layers)
        entries = [Entry(layer, tuple(part.split())) for part in line.split("|")]
        if any(not e.paths for e in entries):
            raise ValueError(f"empty entry in layer line {line!r}")
        layers.append(entries)
    return layers


def module_name(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def public_names(init_source: str) -> set[str]:
    """The literal ``__all__`` of the package's ``__init__.py``."""
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise ValueError("newsindex/__init__.py has no literal __all__")


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the module imported from (resolved, absolute)
    names: tuple[str, ...]  # names taken from it (``from target import names``), or ()


def imports_of(path: str, source: str, known: set[str]) -> list[Import]:
    """Every import in ``source`` (anywhere in the file), resolved to a module of ``known``
    where the imported name is itself a module (``from . import schema``)."""
    name = module_name(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            out += [Import(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                if node.level - 1 > len(anchor):
                    raise ValueError(f"{path}:{node.lineno}: relative import beyond the top")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            attrs = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.append(Import(node.lineno, sub, ()))
                else:
                    attrs.append(alias.name)
            if attrs:
                out.append(Import(node.lineno, base, tuple(attrs)))
        elif isinstance(node, ast.Call) and _called(node.func) in ("import_module", "__import__"):
            # importlib.import_module("newsindex.x"): a literal name counts as an import; a
            # computed one (querylang's lazy loading of its own modules) cannot be resolved.
            if node.args and isinstance(node.args[0], ast.Constant):
                target = node.args[0].value
                if isinstance(target, str) and not target.startswith("."):
                    out.append(Import(node.lineno, target, ()))
    return out


def _called(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def module_aliases(tree: ast.AST) -> set[str]:
    """Local names bound to the package module itself by ``import newsindex[.x] [as y]``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None and alias.name.split(".")[0] == PACKAGE:
                    names.add(PACKAGE)
                elif alias.asname and alias.name == PACKAGE:
                    names.add(alias.asname)
    return names


def check(sources: dict[str, str], layers_text: str) -> list[str]:
    """The violations of the declared layers in ``sources`` (``{relative path: source}``)."""
    layers = parse_layers(layers_text)
    entries = [e for layer in layers for e in layer]
    problems: list[str] = []
    for entry in entries:
        if not any(entry.covers(p) for p in sources):
            problems.append(f"ARCHITECTURE.md: {entry} matches no module (stale entry?)")
    place: dict[str, Entry] = {}
    for path in sources:
        covering = [e for e in entries if e.covers(path)]
        if not covering:
            problems.append(f"{path}: not placed in any layer of ARCHITECTURE.md")
        elif len(covering) > 1:
            problems.append(f"{path}: placed twice ({', '.join(map(str, covering))})")
        else:
            place[module_name(path)] = covering[0]
    front_door = place.get(PACKAGE)
    front_door_layer = front_door.layer if front_door else len(layers)
    exported = public_names(sources[FRONT_DOOR]) if FRONT_DOOR in sources else set()
    known = set(place)

    def owner(module: str) -> str | None:
        """The closest placed module that ``module`` is or lies in."""
        while module:
            if module in known:
                return module
            module = module.rpartition(".")[0]
        return None

    for path, source in sorted(sources.items()):
        name = module_name(path)
        here = place.get(name)
        if here is None:
            continue
        front_end = here.layer > front_door_layer
        for imp in imports_of(path, source, known):
            target = owner(imp.target)
            if target is None:
                continue  # outside the checked trees: the standard library, numpy, ...
            there = place[target]
            where = f"{path}:{imp.line}: imports {imp.target}"
            if there is here:
                continue
            if there.layer > here.layer:
                problems.append(f"{where}, a layer above ({there} over {here})")
            elif there.layer == here.layer:
                problems.append(f"{where}, a peer ({there} beside {here})")
            elif front_end and there.layer <= front_door_layer:
                if target == PACKAGE and imp.target == PACKAGE:
                    private = [n for n in imp.names if n not in exported]
                    if private:
                        problems.append(f"{where} names not in __all__: {', '.join(private)}")
                elif not any(
                    imp.target == m or imp.target.startswith(m + ".") for m in ALLOWED_MODULES
                ):
                    problems.append(f"{where}, not the public API (newsindex.__all__)")
        if front_end:
            tree = ast.parse(source, path)
            aliases = module_aliases(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in aliases
                    and node.attr not in exported
                    and node.attr != "errors"
                    and not (node.attr.startswith("__") and node.attr.endswith("__"))
                ):
                    problems.append(
                        f"{path}:{node.lineno}: uses {PACKAGE}.{node.attr}, not in __all__"
                    )
    return problems


def repository_sources() -> dict[str, str]:
    out = {}
    for top in CHECKED:
        for file in sorted((ROOT / top).rglob("*.py")):
            out[file.relative_to(ROOT).as_posix()] = file.read_text(encoding="utf-8")
    return out


def test_the_code_obeys_the_layers_of_architecture_md():
    problems = check(repository_sources(), (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems)


# -- the checker itself, on fake module graphs ---------------------------------------------------
FAKE_LAYERS = """
```layers
# bottom-up
newsindex/errors.py
newsindex/core.py newsindex/model.py     # one unit
newsindex/ingest/ | newsindex/index/     # peers
newsindex/__init__.py
newsindex/shell/ | benchmarks/
newsindex/cli.py
```
"""

CLEAN = {
    "newsindex/errors.py": "class NewsIndexError(Exception): pass\n",
    "newsindex/core.py": "from .errors import NewsIndexError\nfrom . import model\n",
    "newsindex/model.py": "from newsindex import core\n",
    "newsindex/ingest/__init__.py": "from .reader import read\n",
    "newsindex/ingest/reader.py": "from ..core import x\nimport numpy\ndef read(): pass\n",
    "newsindex/index/__init__.py": "",
    "newsindex/index/store.py": "from .. import errors\nfrom ..model import y\n",
    "newsindex/__init__.py": "from .ingest import read\nfrom .index import store\n"
    "__all__ = ['read', 'Thing']\n",
    "newsindex/shell/__init__.py": "from .. import read, Thing\nfrom ..errors import NewsIndexError\n",
    "newsindex/shell/view.py": "from . import helper\nimport newsindex\nnewsindex.read()\n"
    "print(newsindex.__file__)\n",
    "newsindex/shell/helper.py": "import newsindex.errors\n",
    "newsindex/cli.py": "from .shell import view\nimport benchmarks\nfrom . import Thing\n",
    "benchmarks/__init__.py": "from newsindex import read\nfrom .tool import go\n",
    "benchmarks/tool.py": "import newsindex as ni\nni.Thing\ngo = 1\n",
}


def test_a_clean_fake_graph_passes():
    assert check(CLEAN, FAKE_LAYERS) == []


@pytest.mark.parametrize(
    "path, source, expected",
    [
        # upward, at module level, in a function, under TYPE_CHECKING, in a try
        ("newsindex/core.py", "from .ingest import read\n", "a layer above"),
        ("newsindex/model.py", "def f():\n    from .index import store\n", "a layer above"),
        (
            "newsindex/ingest/reader.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import cli\n",
            "a layer above",
        ),
        (
            "newsindex/model.py",
            "import importlib\nimportlib.import_module('newsindex.cli')\n",
            "a layer above",
        ),
        (
            "newsindex/errors.py",
            "try:\n    import newsindex.core\nexcept ImportError:\n    pass\n",
            "a layer above",
        ),
        # relative imports resolved: ``...`` from a subpackage, ``from . import module``
        ("newsindex/index/store.py", "from .... import x\n", "relative import beyond"),
        ("newsindex/index/store.py", "from .. import shell\n", "a layer above"),
        ("newsindex/ingest/reader.py", "from ..shell.view import x\n", "a layer above"),
        # sideways between peers, either way and by absolute name
        ("newsindex/ingest/reader.py", "from ..index import store\n", "a peer"),
        ("newsindex/index/store.py", "import newsindex.ingest.reader\n", "a peer"),
        ("benchmarks/tool.py", "from newsindex.shell import view\n", "a peer"),
        # front ends: only __all__ and newsindex.errors
        ("newsindex/shell/view.py", "from ..index import store\n", "not the public API"),
        ("newsindex/shell/view.py", "from ..core import x\n", "not the public API"),
        ("benchmarks/tool.py", "from newsindex.ingest import read\n", "not the public API"),
        ("benchmarks/tool.py", "from newsindex import read, secret\n", "not in __all__: secret"),
        ("newsindex/cli.py", "from . import store\n", "not in __all__: store"),
        ("benchmarks/tool.py", "import newsindex\nnewsindex.ingest.read()\n", "newsindex.ingest"),
        ("benchmarks/tool.py", "import newsindex as n\nn.store\n", "newsindex.store, not in"),
    ],
)
def test_each_kind_of_violation_is_reported(path, source, expected):
    sources = {**CLEAN, path: source}
    try:
        problems = check(sources, FAKE_LAYERS)
    except ValueError as exc:
        problems = [str(exc)]
    assert len(problems) == 1 and expected in problems[0], problems
    assert path in problems[0] or "relative import" in problems[0]


def test_an_unplaced_module_and_a_stale_entry_are_reported():
    problems = check({**CLEAN, "newsindex/newthing.py": ""}, FAKE_LAYERS)
    assert problems == ["newsindex/newthing.py: not placed in any layer of ARCHITECTURE.md"]
    stale = FAKE_LAYERS.replace("newsindex/cli.py", "newsindex/cli.py | newsindex/gone/")
    assert check(CLEAN, stale) == [
        "ARCHITECTURE.md: newsindex/gone/ matches no module (stale entry?)"
    ]


def test_a_module_placed_twice_is_reported():
    twice = FAKE_LAYERS.replace("newsindex/errors.py", "newsindex/errors.py newsindex/core.py", 1)
    problems = check(CLEAN, twice)
    assert (
        "newsindex/core.py: placed twice (newsindex/errors.py newsindex/core.py, "
        "newsindex/core.py newsindex/model.py)"
    ) in problems


def test_the_block_must_be_there_once():
    with pytest.raises(ValueError, match="found 0"):
        parse_layers("no block here")
    with pytest.raises(ValueError, match="found 2"):
        parse_layers(FAKE_LAYERS + FAKE_LAYERS)


def test_a_main_block_is_the_last_statement_of_its_module():
    """``python -m package.module`` runs the ``if __name__ == "__main__":`` block where it
    stands: a name the module defines below it does not exist yet (``newsindex.cli`` once
    raised NameError for every command so), so the block comes last."""
    late = []
    for folder in ("newsindex", "benchmarks", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            body = ast.parse(path.read_text(encoding="utf-8")).body
            for i, node in enumerate(body):
                test = node.test if isinstance(node, ast.If) else None
                if (
                    isinstance(test, ast.Compare)
                    and isinstance(test.left, ast.Name)
                    and test.left.id == "__name__"
                    and i != len(body) - 1
                ):
                    late.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert late == []
