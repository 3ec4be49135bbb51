"""The shape of ``rag/``: rooms by purpose on floors, imports that never form a circle and never
run from a lower floor up to a higher one, and never from ``rag/`` into its users (``ui``,
``eval``, ``bench``). Read from the source with ``ast``, every import counted (also those
inside functions), so a new module or import that breaks the layout fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USERS = ("ui", "eval", "bench")  # rag's users: rag imports none of them

# Lowest first. A module may import its own room (a subpackage, or itself on top) and any
# room on a lower floor; rooms on one floor do not know each other.
FLOORS: list[tuple[str, ...]] = [
    ("rag", "rag.errors", "rag.values", "rag.fileio"),
    ("rag.checks", "rag.text", "rag.feedback"),
    ("rag.llm",),
    ("rag.config",),
    ("rag.articles", "rag.embedding"),
    ("rag.store",),
    ("rag.retrieval",),
    ("rag.answer",),
    ("rag.engines",),
    ("rag.pipeline",),
    ("rag.factory", "rag.doctor", "rag.suggestions"),
    ("rag.cli",),
]
MAX_MODULES_PER_FOLDER = 12
MAX_LINES = 400


def module_files() -> dict[str, Path]:
    """{dotted name: file} for every module of rag/ ('rag.llm' is rag/llm/__init__.py)."""
    found = {}
    for path in sorted((ROOT / "rag").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """Every module name an import in the file may refer to: ``from a.b import c`` gives
    a.b and a.b.c (c may be a module or a name in a.b)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """{module: the modules of rag/ and of its users that it imports}."""
    files = module_files()
    graph = {}
    for name, path in files.items():
        found = imported(name, path)
        graph[name] = {m for m in found if m in files and m != name} | {
            m for m in found if m.split(".")[0] in USERS
        }
    return graph


def room(module: str) -> str:
    """rag.llm.gguf -> rag.llm; rag.pipeline -> rag.pipeline; rag -> rag."""
    return ".".join(module.split(".")[:2])


def floor(module: str) -> int:
    for level, rooms in enumerate(FLOORS):
        if room(module) in rooms:
            return level
    raise AssertionError(f"{module} is on no floor: add its room to FLOORS in {__file__}")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles found by a depth-first walk (each one reported once)."""
    found, state = [], {}  # state: 1 on the walk's path, 2 done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt in graph and nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return found


def test_every_module_is_on_a_floor():
    for module in module_files():
        floor(module)


def test_imports_form_no_circle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_imports_run_down_the_floors_only():
    upward = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target.split(".")[0] == "rag"
        and room(target) != room(module)
        and floor(target) >= floor(module)
    ]
    assert upward == []


def test_rag_imports_none_of_its_users():
    into_users = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target.split(".")[0] in USERS
    ]
    assert into_users == []


def test_no_folder_is_a_long_flat_list():
    for folder in [ROOT / "rag", *(p for p in (ROOT / "rag").iterdir() if p.is_dir())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES_PER_FOLDER, folder


def test_no_module_of_rag_is_over_400_lines():
    long = {
        name: n
        for name, path in module_files().items()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
