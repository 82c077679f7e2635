"""Import arrows of the gateway and the adapters: adapters never import the gateway, and no
module of either imports itself back in a circle (type-only and function-level imports count)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("consumers/gateway", "consumers/adapters")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def local_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module of ``known`` that ``path`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & known


def test_adapters_do_not_import_the_gateway() -> None:
    modules = local_modules()
    wrong = {
        name: sorted(i for i in imports_of(path, set(modules)) if i.startswith("consumers.gateway"))
        for name, path in modules.items()
        if name.startswith("consumers.adapters")
    }
    assert not {k: v for k, v in wrong.items() if v}


def test_no_import_circle_in_gateway_or_adapters() -> None:
    modules = local_modules()
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(graph[current])
        return False

    circles = sorted((a, b) for a, deps in graph.items() for b in deps if a < b and reaches(b, a))
    assert not circles, f"modules importing each other (directly or around): {circles}"
