"""The engine's shape stays readable: no import cycle between its modules (function-level imports
included), no file too long to read in one go, and few modules directly in engine/ (the rest in
packages by purpose)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 10


def module_name(path: Path, top: Path) -> str:
    parts = list(path.relative_to(top.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """module -> modules of `package` it imports anywhere in its source (function-level imports too). An import of
    a package's member that is not itself a module counts as an import of the package."""
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".")
                    keep = len(parts) - node.level + (1 if is_pkg else 0)
                    base = ".".join(parts[:keep] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                # importing a module runs its parent packages' __init__ first: edges to them too, except to
                # the importer's own parents (Python has loaded those already)
                while target:
                    if target in files and target != mod and not mod.startswith(target + "."):
                        graph[mod].add(target)
                    target = target.rpartition(".")[0]
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if not state.get(nxt) and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if not state.get(node) and (found := visit(node)):
            return found
    return []


def test_the_engine_has_no_import_cycle():
    cycle = find_cycle(import_graph(ROOT / "engine"))
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "engine"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("from engine.b import thing\n")
    (pkg / "a" / "x.py").write_text("")
    (pkg / "b.py").write_text("def f():\n    from engine.a import x\n")
    cycle = find_cycle(import_graph(pkg))
    assert cycle[0] == cycle[-1] and {"engine.a", "engine.b"} <= set(cycle)


def test_no_source_file_is_too_long_to_read_in_one_go():
    files = [
        p for d in ("engine", "ui", "pages") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_few_modules_sit_directly_in_the_engine():
    top = sorted(p.name for p in (ROOT / "engine").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
