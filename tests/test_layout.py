"""The layout holds by construction: no import cycle among the project's modules (an
import anywhere in a file counts, deferred ones too), the algorithms in ``xlner/`` never
import Beam, and ``pipeline -> transforms -> xlner`` is never walked upwards."""

from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("xlner", "transforms", "pipeline")


def modules() -> dict:
    found = {}
    for package in PACKAGES:
        for base, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(base, name)
                    dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = path
    return found


def imported_names(path: str, package: str) -> set:
    names = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def import_graph() -> dict:
    mods = modules()
    graph = {}
    for mod, path in mods.items():
        package = mod if path.endswith("__init__.py") else mod.rpartition(".")[0]
        edges = set()
        for name in imported_names(path, package):
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and name != mod and not mod.startswith(name + "."):
                edges.add(name)
        graph[mod] = edges
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_layers_are_never_walked_upwards():
    rank = {"xlner": 0, "transforms": 1, "pipeline": 2}
    upward = [(mod, dep) for mod, deps in import_graph().items() for dep in deps
              if rank[dep.split(".")[0]] > rank[mod.split(".")[0]]]
    assert upward == []


def test_the_algorithms_import_no_beam():
    offenders = [mod for mod, path in modules().items() if mod.startswith("xlner")
                 and any(n.split(".")[0] == "apache_beam"
                         for n in imported_names(path, mod.rpartition(".")[0]))]
    assert offenders == []


def long_functions(limit: int = 60) -> list:
    """(lines, module, function) of every production function longer than ``limit``."""
    found = []
    for mod, path in modules().items():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append((length, mod, node.name))
    return found


def test_no_production_function_is_over_60_lines():
    assert long_functions() == []
    assert long_functions(limit=5)  # the checker sees functions at all
