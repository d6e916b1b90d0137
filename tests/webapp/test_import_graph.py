"""The web app's modules import one another without a cycle.

Every import counts, one inside a function too (it would hide a cycle until that
function first runs); only one under ``if TYPE_CHECKING:`` does not, as it never runs.
Which package faces the web app may use is checked by ruff (``TID251`` in
``pyproject.toml``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / "webapp").rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif not (isinstance(node, ast.If) and _is_type_checking(node)):
            found += _imports(node)
    return found


def _imported(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if node.level or node.module is None:
        raise AssertionError(f"relative import of {node.module!r}: use the absolute name")
    found = set()
    for alias in node.names:
        submodule = f"{node.module}.{alias.name}"
        if submodule in modules:
            found.add(submodule)
        elif node.module in modules:
            found.add(node.module)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = {
            target
            for node in _imports(tree)
            for target in _imported(node, modules)
            if target != name
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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


def test_the_web_app_modules_import_one_another_without_a_cycle():
    graph = _import_graph()
    assert "webapp.pipeline.runner" in graph and graph["webapp.pipeline.runner"]
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_web_app_loads_without_the_model_packages():
    # The model packages load PyAV, NumPy and SciPy on import (over a second); the web
    # app imports them only inside the functions that transcribe, draft or check audio.
    code = (
        "import sys\n"
        "import webapp.worker, webapp.web, webapp.celery_app, webapp.commands\n"
        "from webapp.blueprints import admin, api, oversight, recordings, review\n"
        "print(sorted(m for m in ('transcribe', 'summarise', 'av', 'scipy') if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]"


def test_ruff_refuses_an_import_past_a_package_face_and_accepts_the_face():
    root = Path(__file__).resolve().parents[2]

    def lint(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251",
             "--stdin-filename", "webapp/services/_probe.py", "-"],
            input=code, capture_output=True, text=True, cwd=root, check=False,
        )  # fmt: skip

    refused = lint("from summarise.write import write_statements\n")
    assert refused.returncode != 0 and "TID251" in refused.stdout
    assert lint("from summarise import draft_note\n").returncode == 0
