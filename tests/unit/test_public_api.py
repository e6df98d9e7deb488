"""The package reaches Airflow only through public modules, and its client modules import no cycle.

Both read the source with ``ast`` (nothing is imported), over every ``.py`` file of the package, so
a module added later is checked too. Every import statement counts: module level, inside functions,
under ``if TYPE_CHECKING:`` and in ``try``/``except`` fallbacks.

Private, for Airflow (``airflow`` and ``airflow.*``, providers included): a module path with a
segment starting with ``_`` (``airflow._shared``, ``airflow.sdk._shared``; ``__init__`` and
``__main__`` are not private), ``airflow.sdk.execution_time`` (the task runner's internals), and a
name starting with ``_`` imported from an Airflow module. Class names of Airflow objects are not
compared either (``type(x).__name__ == ...``): ``isinstance`` against the public class is.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_pseven"
ROOT = PACKAGE.name
#: Airflow modules that are public by path but internal by Airflow's own word.
PRIVATE_MODULES = ("airflow.sdk.execution_time",)
#: The one private name imported, and why. Not Airflow core's: the OpenLineage provider's (2.20)
#: adapter copies the secrets masker's patterns once, at process start, so a value masked later (a
#: Secret parameter the provider recognises in execute) would reach its events in clear; the
#: provider offers no public way to refresh them (lineage.refresh_redaction). Goes when it does.
ALLOWED_PRIVATE_NAMES = {
    ("airflow_provider_pseven.lineage", "airflow.providers.openlineage.plugins.adapter._secrets_masker")
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def parsed(package: Path) -> list[tuple[str, Path, ast.Module]]:
    return [
        (module_name(path), path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for path in sorted(package.rglob("*.py"))
    ]


def sources() -> list[tuple[str, Path, ast.Module]]:
    return parsed(PACKAGE)


MODULES = {name: path for name, path, _ in sources()}


def imports(module: str, path: Path, tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names imported from it) for every import statement in ``tree``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base, [alias.name for alias in node.names]


def is_private(module: str) -> bool:
    if module != "airflow" and not module.startswith("airflow."):
        return False
    segments = module.split(".")
    if any(s.startswith("_") and s not in ("__init__", "__main__") for s in segments):
        return True
    return any(module == p or module.startswith(p + ".") for p in PRIVATE_MODULES)


def test_nothing_private_of_airflow_is_imported() -> None:
    found = []
    for module, path, tree in sources():
        for line, imported, names in imports(module, path, tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if is_private(imported):
                found.append(f"{where}: {imported}")
            elif imported == "airflow" or imported.startswith("airflow."):
                private = [f"{imported}.{n}" for n in names if n.startswith("_")]
                found += [f"{where}: {p}" for p in private if (module, p) not in ALLOWED_PRIVATE_NAMES]
    assert not found, "private Airflow imports:\n" + "\n".join(found)


def class_name_checks(tree: ast.AST) -> list[int]:
    """Lines comparing ``type(x).__name__`` or ``x.__class__.__name__`` (``==``, ``!=``, ``in``)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and side.attr in ("__name__", "__qualname__"):
                    owner = side.value
                    by_type = isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "type"
                    by_class = isinstance(owner, ast.Attribute) and owner.attr == "__class__"
                    if by_type or by_class:
                        lines.append(node.lineno)
    return lines


def test_class_names_of_objects_are_not_compared() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for _, path, tree in sources()
        for line in class_name_checks(tree)
    ]
    assert not found, "class-name checks:\n" + "\n".join(found)


def test_the_class_name_rule_catches_both_spellings() -> None:
    source = "if type(a).__name__ == 'Asset':\n    pass\nok = a.__class__.__name__ in ('X',)\nname = type(a).__name__\n"
    assert class_name_checks(ast.parse(source)) == [1, 3]


def test_the_private_rule_says_what_it_means() -> None:
    assert is_private("airflow._shared.module_loading")
    assert is_private("airflow.sdk._shared.secrets_masker")
    assert is_private("airflow.sdk.execution_time.task_runner")
    assert is_private("airflow.sdk.execution_time")
    assert not is_private("airflow.sdk")
    assert not is_private("airflow.sdk.log")
    assert not is_private("airflow.providers.common.compat.connection")
    assert not is_private("_thread") and not is_private("importlib._bootstrap")


# -- cycles ------------------------------------------------------------------------------------------


def graph() -> dict[str, set[str]]:
    """Package module -> package modules it imports (``from pkg import mod`` is an edge to mod)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, path, tree in sources():
        for _, imported, names in imports(module, path, tree):
            if not imported.startswith(ROOT):
                continue
            targets = {f"{imported}.{n}" for n in names if f"{imported}.{n}" in MODULES}
            if len(targets) < len(names) or not names:  # some names are attributes of `imported`
                targets.add(imported)
            edges[module] |= {t for t in targets if t in MODULES and t != module}
    return edges


def cycles(edges: dict[str, set[str]], within: str) -> list[list[str]]:
    """Strongly connected components of more than one module among the modules under ``within``
    (Tarjan's algorithm); an edge into a package's ``__init__`` counts like any other."""
    nodes = [n for n in edges if n == within or n.startswith(within + ".")]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in nodes:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_client_modules_import_no_cycle() -> None:
    """Counts every import, function-level and TYPE_CHECKING ones too, except the package
    ``__init__`` importing its own modules (Python imports a package before its modules anyway)."""
    edges = graph()
    client = f"{ROOT}.client"
    edges[client] = set()  # the re-exports of client/__init__.py
    assert cycles(edges, client) == []


def test_package_modules_import_no_cycle() -> None:
    """The same over the whole package, package ``__init__`` files included."""
    assert cycles(graph(), ROOT) == []


def test_the_cycle_finder_finds_one() -> None:
    edges = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}, "q.x": set()}
    assert cycles(edges, "p") == [["p.a", "p.b", "p.c"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}, "p") == []
