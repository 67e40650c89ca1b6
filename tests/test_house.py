"""House rules the code keeps (docs/architecture.md): short modules, short signatures, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
#: What the rules cover: the service's packages and the web app's modules (the sandbox is a test tool).
CHECKED = [ROOT / "syncapi", ROOT / "jobs", ROOT / "app.py", ROOT / "wsgi.py"]
EXCLUDED_PARTS = {"migrations", "sandbox", "__pycache__"}
#: Most lines a module may have.
MAX_MODULE_LINES = 600
#: Most parameters a function may take, `self` and `cls` not counted.
MAX_PARAMETERS = 7
#: Packages whose import graph must have no cycle (imports inside functions included).
ROOT_PACKAGES = ("syncapi", "jobs")


def _modules() -> list[Path]:
    found = []
    for place in CHECKED:
        paths = [place] if place.is_file() else sorted(place.rglob("*.py"))
        found += [path for path in paths if not EXCLUDED_PARTS & set(path.relative_to(ROOT).parts)]
    return found


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [name for name in names if name not in ("self", "cls")]


def test_no_module_is_over_600_lines():
    long = {}
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_takes_more_than_7_parameters():
    wide = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                count = len(_parameters(node))
                if count > MAX_PARAMETERS:
                    wide[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = count
    assert not wide, f"functions with more than {MAX_PARAMETERS} parameters: {wide}"


def import_cycles(graph) -> list[list[str]]:
    """Every set of modules that import each other in a circle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, imported = work[-1]
            advanced = False
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append((other, iter(sorted(graph.find_modules_directly_imported_by(other)))))
                    advanced = True
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycles():
    graph = grimp.build_graph(*ROOT_PACKAGES, cache_dir=None)
    for module in [m for m in graph.modules if ".sandbox" in m or ".migrations" in m]:
        graph.remove_module(module)
    cycles = import_cycles(graph)
    details = {
        " -> ".join(cycle): [
            f"{a} -> {b}" for a in cycle for b in sorted(graph.find_modules_directly_imported_by(a)) if b in cycle
        ]
        for cycle in cycles
    }
    assert not cycles, f"modules that import each other in a circle: {details}"


def test_the_cycle_check_finds_a_cycle_through_an_import_inside_a_function():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")  # the deferred import closing the circle
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
