"""The layout DESIGN.md §2 promises, checked on the source: nothing outside ``app/identity/``
tests a provider's kind, no blueprint imports another, no import circle anywhere in ``app/``,
and views stay thin."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.identity.base import _PROVIDERS
from app.settings import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
IDENTITY = APP / "identity"
BLUEPRINTS = APP / "blueprints"
KINDS = frozenset(_PROVIDERS)
VIEW_LINES = 30


def modules() -> dict[str, Path]:
    """Every module of ``app`` by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ``app`` modules this one imports, at any depth of the code (a function's own imports
    included): ``from X import Y`` counts as importing ``X.Y`` when that is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(name, path).split(".")
                anchor = ".".join(package[: len(package) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {imported for imported in found if imported in known and imported != name}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_there_are_three_builtin_kinds_to_look_for():
    assert {"esia", "oidc", "password"} <= KINDS


def test_no_import_circle_in_app():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _blueprint_of(module: str) -> str | None:
    """The blueprint package a module belongs to; None for the shared modules beside them
    (``guards``, ``forms``)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["app", "blueprints"]:
        return None
    return parts[2] if (BLUEPRINTS / parts[2] / "__init__.py").is_file() else None


def test_no_blueprint_imports_another():
    crossing = []
    for name, targets in import_graph().items():
        own = _blueprint_of(name)
        for target in targets:
            if own and _blueprint_of(target) not in (None, own):
                crossing.append(f"{name} → {target}")
    assert crossing == []


def test_the_blueprint_import_finder_finds_a_crossing():
    assert _blueprint_of("app.blueprints.account.routes") == "account"
    assert _blueprint_of("app.blueprints.guards") is None
    assert _blueprint_of("app.blueprints.forms") is None
    assert _blueprint_of("app.signin") is None


def _kind_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something with a provider kind's name (``==``, ``!=``, ``in``)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for operand in operands:
            values = []
            if isinstance(operand, ast.Constant):
                values = [operand.value]
            elif isinstance(operand, ast.Tuple | ast.List | ast.Set):
                values = [e.value for e in operand.elts if isinstance(e, ast.Constant)]
            if any(value in KINDS for value in values):
                lines.append(node.lineno)
    return lines


TEMPLATE_KIND_TEST = re.compile(
    r"""(==|!=|\bin)\s*\(?\s*["'](?P<a>[a-z_]+)["']|["'](?P<b>[a-z_]+)["']\s*(==|!=)"""
)


def test_no_kind_branch_outside_identity():
    branches = []
    for path in APP.rglob("*.py"):
        if IDENTITY in path.parents:
            continue
        for line in _kind_comparisons(ast.parse(path.read_text(encoding="utf-8"))):
            branches.append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    for path in (APP / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in TEMPLATE_KIND_TEST.finditer(line):
                if (match["a"] or match["b"]) in KINDS:
                    branches.append(f"{path.relative_to(PROJECT_ROOT)}:{number}")
    assert branches == []


def test_the_kind_branch_finder_finds_branches():
    source = 'if provider.kind == "esia":\n    pass\nif kind not in ("oidc", "x"):\n    pass\n'
    assert _kind_comparisons(ast.parse(source)) == [1, 3]
    assert TEMPLATE_KIND_TEST.search('{% if access.method == "oidc" %}')["a"] == "oidc"
    assert TEMPLATE_KIND_TEST.search('<input name="password" type="password">') is None


def _views(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr in ("route", "get", "post")
            for d in node.decorator_list
        ):
            yield node


def test_views_stay_under_thirty_lines():
    long = []
    for path in BLUEPRINTS.glob("*/routes.py"):
        for view in _views(path):
            length = view.end_lineno - view.lineno + 1
            if length >= VIEW_LINES:
                long.append(f"{path.relative_to(PROJECT_ROOT)}:{view.name} ({length} lines)")
    assert long == []
