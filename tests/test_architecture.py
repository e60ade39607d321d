"""The package's import rules (ARCHITECTURE.md), read from the source with `ast`, so a change that breaks
one fails here instead of in a review.

Every import counts, module-level or inside a function: a function-local import is still a dependency
(it only runs later), and lazy imports were exactly how the old cycles hid. Only imports under
`if TYPE_CHECKING:` are left out, since they never run. `from pkg import name` depends on `pkg.name`
when that is a module, else on `pkg` itself; importing `a.b.c` does not count as importing `a` or `a.b`
(Python runs those `__init__`s first, but they are not a dependency the code chose).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "ttd"
# Entry points that parse arguments. Only they may import each other (the main CLI mounts the rest).
CLI_MODULES = {"ttd.cli", "ttd.retrieval.commands", "ttd.bench.cli", "ttd.dllm.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    walk(other)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            walk(child)

    walk(tree)
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """Absolute names of what module `name` imports (ttd modules resolved to files, others as written)."""
    path = modules()[name]
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = name.split(".") if is_package else name.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            out.add(candidate if candidate in modules() else base)
    return frozenset(out)


def ttd_edges() -> dict[str, set[str]]:
    known = modules()
    return {m: {i for i in imports_of(m) if i in known and i != m} for m in known}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def importers_of(target: str, where: str = "ttd") -> list[str]:
    """Modules under `where` that import `target` or anything below it."""
    return sorted(
        m
        for m in modules()
        if (m == where or m.startswith(where + "."))
        and any(i == target or i.startswith(target + ".") for i in imports_of(m))
    )


def test_the_parser_sees_the_imports_it_must():
    """The rules below are only as good as this reading: check it on imports known to exist."""
    assert "ttd.llm.gateway" in imports_of("ttd.run")  # module level
    assert "ttd.run" in imports_of("ttd.cli")  # inside a function
    assert "litellm" in imports_of("ttd.llm.gateway")
    assert "ttd.run" in ttd_edges()["ttd.cli"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    found = cycles(ttd_edges())
    assert not found, "import cycles (module-level and function-local imports): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_only_the_llm_gateway_package_imports_litellm():
    outside = [m for m in importers_of("litellm") if not (m == "ttd.llm" or m.startswith("ttd.llm."))]
    assert not outside, f"litellm imported outside ttd/llm: {outside}"


def test_diffusion_package_never_imports_litellm():
    found = importers_of("litellm", "ttd.dllm")
    assert not found, f"{found} import litellm (the dllm adapter belongs in ttd/llm/diffusion.py)"


@pytest.mark.parametrize("cli", sorted(CLI_MODULES))
def test_only_cli_modules_import_cli_modules(cli: str):
    """Retrieval, bench and the rest are libraries: argument parsing sits on top, never underneath."""
    bad = [m for m in importers_of(cli) if m not in CLI_MODULES]
    assert not bad, f"{cli} is imported by library modules {bad}"


def test_one_place_sets_the_litellm_environment():
    """ttd/__init__.py sets it; every ttd import runs that file first, so litellm never fetches its price
    list, even for a program that imports a ttd submodule and then litellm."""
    sources = [p for top in ("ttd", "tests", "evals") for p in (REPO / top).rglob("*.py")]
    setters = sorted(
        str(p.relative_to(REPO))
        for p in sources
        if p != Path(__file__) and "LITELLM_LOCAL_MODEL_COST_MAP" in p.read_text(encoding="utf-8")
    )
    assert setters == ["ttd/__init__.py"]
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    code = "import os, ttd.llm.gateway; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "True", out.stderr[-500:]
