"""Copy top-level definitions out of an engine module, with everything they use, as source text.

The exported script gets the engine's *own* code for the model class and the tokenizer (not a
hand-written twin that could drift): `collect(module, ["MLP"])` returns the imports and the
definitions (classes, functions, constants) that MLP needs, in the module's order. What they import from
NN Lab itself is copied the same way, from the module that defines it (a featurizer's base class): the
script runs with torch and numpy alone.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from types import ModuleType

from engine.predict.export.source import ExportError

ALLOWED_ROOTS = {"torch", "numpy", "re", "unicodedata", "math", "collections", "functools", "itertools",
                 "string", "typing", "dataclasses", "json"}


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.value.id for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}


def collect(module: ModuleType, names: list[str]) -> tuple[list[str], list[str]]:
    """(import lines, definition sources) for `names` of `module` and their module-level dependencies."""
    text = inspect.getsource(module)
    tree = ast.parse(text)
    owners: dict[str, ast.stmt] = {}
    for node in tree.body:
        for name in _defined_names(node):
            owners[name] = node
    needed: list[ast.stmt] = []
    imported: dict[int, set[str]] = {}  # id of an import from NN Lab -> the names of it that are used
    todo = list(names)
    while todo:
        name = todo.pop()
        node = owners.get(name)
        if isinstance(node, ast.ImportFrom):
            imported.setdefault(id(node), set()).add(name)
        if node is None:
            if name in names:
                raise ExportError(f"{module.__name__} defines no {name!r}")
            continue  # a builtin or a local name
        if node in needed:
            continue
        needed.append(node)
        if not isinstance(node, ast.Import | ast.ImportFrom):
            todo.extend(_used_names(node))
    imports, defs = [], []
    for node in tree.body:  # keep the module's order
        if node not in needed:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "engine":
            more_imports, more_defs = collect(importlib.import_module(node.module), sorted(imported[id(node)]))
            imports += [i for i in more_imports if i not in imports]
            defs += [d for d in more_defs if d not in defs]
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            root = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
            if root.split(".")[0] not in ALLOWED_ROOTS:
                raise ExportError(f"{module.__name__} needs `{ast.unparse(node)}`, which an exported script cannot "
                                  "import (torch, numpy and the standard library only)")
            imports.append(ast.unparse(node))
        else:
            defs.append(ast.get_source_segment(text, node))
    return imports, defs
