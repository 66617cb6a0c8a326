"""The package's shape, as docs/architecture.md draws it: layers, no cycles, registries.

The module graph is built with ``ast`` from every import, those inside functions included.
Importing ``xattrib.a.b`` from outside package ``xattrib.a`` also runs ``xattrib/a/__init__``,
so it counts as an arrow to both.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "xattrib"
DOC = ROOT / "docs" / "architecture.md"
#: verbs the package exports: no module may share a name with one
VERBS = {"benchmark", "fit", "attribute", "trim", "score", "summarize", "evaluate", "audit"}


def modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def graph() -> dict[str, set[str]]:
    """module → the xattrib modules it imports (anywhere in it)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from P import m` of a module m reads m; of a name, P's __init__
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t not in mods or t == name:
                    continue
                edges[name].add(t)
                # the packages above t that t's import runs, outside name's own package
                parts = t.split(".")
                for i in range(2, len(parts)):
                    parent = ".".join(parts[:i])
                    if name != parent and not name.startswith(parent + "."):
                        edges[name].add(parent)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def levels(edges: dict[str, set[str]]) -> dict[str, int]:
    """Longest import chain below each module (1 for a module importing nothing)."""
    memo: dict[str, int] = {}

    def depth(v: str) -> int:
        if v not in memo:
            memo[v] = 0  # guards against cycles (the cycle test reports them)
            memo[v] = 1 + max((depth(w) for w in edges[v]), default=0)
        return memo[v]

    return {v: depth(v) for v in edges}


def layers() -> list[tuple[str, list[str]]]:
    """The layers of docs/architecture.md, bottom first: (name, top-level names in order)."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- layers -->\s*```text\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md lost its layers block"
    out = []
    for line in block.group(1).strip().splitlines():
        head, _, names = line.partition(":")
        out.append((head.split()[-1], names.split()))
    return out


def rank(module: str, table: list[tuple[str, list[str]]]) -> tuple[int, int]:
    """(layer, position within the layer; stages are ordered, others all 0)."""
    top = module.split(".")[1] if "." in module else "__init__"
    for i, (name, members) in enumerate(table):
        if top in members:
            return i, members.index(top) if name == "stages" else 0
    raise AssertionError(f"{module}: {top!r} is in no layer of docs/architecture.md")


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_imports_point_down_the_layers():
    table = layers()
    wrong = []
    for src, targets in graph().items():
        for dst in targets:
            if rank(dst, table) > rank(src, table):
                wrong.append(f"{src} → {dst}")
    assert wrong == [], "imports pointing up the layers of docs/architecture.md: " + \
        ", ".join(sorted(wrong))


def test_every_module_has_a_layer_and_the_top_stays_small():
    table = layers()
    for m in modules():
        rank(m, table)
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= 12, top


def test_no_module_shares_a_name_with_an_exported_verb():
    clash = [m for m in modules() if m.rsplit(".", 1)[-1] in VERBS]
    assert clash == []


def test_the_tests_mirror_the_package():
    """tests/<subpackage>/test_<module>.py: every test module names a module or a
    subpackage of xattrib (or a whole-package concern listed here)."""
    whole = {"test_architecture", "test_docs", "test_examples", "test_lint", "test_errors",
             "test_properties", "test_reproducibility", "test_distributed",
             "test_longitudes",  # grid, benchmark, scores and figures in any labelling
             "test_seams"}  # one vocabulary and one defence across the verbs
    mods = modules()
    stray = []
    for p in (ROOT / "tests").rglob("test_*.py"):
        rel = p.relative_to(ROOT / "tests").with_suffix("").parts
        if rel[-1] in whole and len(rel) == 1:
            continue
        name = ".".join(("xattrib", *rel[:-1], rel[-1].removeprefix("test_")))
        if name not in mods:
            stray.append(str(p.relative_to(ROOT)))
    assert stray == [], f"test modules that mirror no module of xattrib: {stray}"


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_verbs_are_reachable(verb):
    import xattrib

    if verb == "summarize":
        assert callable(xattrib.scoring.summarize)
    else:
        assert callable(getattr(xattrib, verb))


def _folders(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between top-level units (a top module or a subpackage)."""
    def unit(m: str) -> str:
        return m.split(".")[1] if "." in m else "__init__"

    out: dict[str, set[str]] = {}
    for src, targets in edges.items():
        out.setdefault(unit(src), set()).update(unit(t) for t in targets if unit(t) != unit(src))
    for targets in list(out.values()):
        for t in targets:
            out.setdefault(t, set())
    return out


if __name__ == "__main__":  # the measured graph; another checkout's with its root as argument
    import sys

    if len(sys.argv) > 1:
        ROOT = Path(sys.argv[1]).resolve()
        PKG = ROOT / "xattrib"
    e = graph()
    inner = sum(1 for p in PKG.rglob("*.py") for fn in ast.walk(ast.parse(p.read_text()))
                if isinstance(fn, ast.FunctionDef) for n in ast.walk(fn)
                if isinstance(n, ast.ImportFrom) and n.level)
    f = _folders(e)
    print(f"modules: {len(e)} ({len(list(PKG.glob('*.py')))} at the top), arrows "
          f"{sum(map(len, e.values()))}, levels {max(levels(e).values())}, cycles "
          f"{cycles(e) or 'none'}; xattrib imports inside functions: {inner}")
    print(f"top-level units: {len(f)}, arrows {sum(map(len, f.values()))}, levels "
          f"{max(levels(f).values())}, cycles {cycles(f) or 'none'}")


HEAVY = {"torch", "captum", "matplotlib"}


def _unit(module: str) -> str:
    """The top-level unit of a module: its subpackage, or itself for a top module."""
    return module.split(".")[1] if "." in module else "__init__"


def _resolve(name: str, path: Path, node: ast.ImportFrom) -> str:
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if not node.level:
        return node.module or ""
    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _import_nodes(tree: ast.AST, inside: bool = False):
    """(node, inside a function) for every import of a module (those under
    ``if TYPE_CHECKING:`` never run, so they are left out)."""
    for child in ast.iter_child_nodes(tree):
        if _type_checking(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, inside
        yield from _import_nodes(child, inside or isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))


def _targets(name: str, path: Path, node: ast.AST, mods: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        t = _resolve(name, path, node)
        return [f"{t}.{a.name}" if f"{t}.{a.name}" in mods else t for a in node.names]
    return [a.name for a in node.names]  # type: ignore[attr-defined]


def loads_at_import() -> dict[str, set[str]]:
    """module → the third-party top-level packages importing it loads (transitively, through
    the xattrib modules and parent packages its module-level imports run)."""
    mods = modules()
    direct: dict[str, set[str]] = {}
    ext: dict[str, set[str]] = {}
    for name, path in mods.items():
        direct[name], ext[name] = set(), set()
        parts = name.split(".")
        direct[name] |= {".".join(parts[:i]) for i in range(1, len(parts))}  # parents run
        for node, inside in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if inside:
                continue
            for t in _targets(name, path, node, mods):
                if t in mods:
                    direct[name].add(t)
                    tp = t.split(".")
                    direct[name] |= {".".join(tp[:i]) for i in range(1, len(tp))}
                elif not t.startswith("xattrib"):
                    ext[name].add(t.split(".")[0])
    out: dict[str, set[str]] = {}
    for m in mods:  # everything reachable from m (parents and packages form cycles: BFS)
        seen, todo = {m}, [m]
        while todo:
            for w in direct[todo.pop()] - seen:
                seen.add(w)
                todo.append(w)
        out[m] = set().union(*(ext[w] for w in seen))
    return out


def test_no_private_name_is_imported_from_another_subpackage():
    """What other subpackages use is public (no leading underscore): a private name is free
    to change inside its own subpackage, and a `_name` imported across subpackages is a
    dependency nobody sees when they change it."""
    mods = modules()
    wrong = []
    for name, path in mods.items():
        for node, _ in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(name, path, node)
            if not target.startswith("xattrib") or _unit(target) == _unit(name):
                continue
            for a in node.names:
                private = a.name.startswith("_") and not a.name.startswith("__")
                if private or any(p.startswith("_") and not p.startswith("__")
                                  for p in target.split(".")):
                    wrong.append(f"{name} imports {target}.{a.name}")
    assert wrong == [], "private names imported across subpackages: " + "; ".join(wrong)


#: xattrib imports inside a function whose target loads nothing heavy, and why each stays
LAZY_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {
    ("xattrib.covariances.dense", "xattrib.covariances.lowrank"):
        "registration order: 'dense' registers first, so the samplers table and the CLI's "
        "choices list it first; lowrank subclasses dense's Covariance",
    ("xattrib.covariances.dense", "xattrib.covariances.spectral"):
        "registration order (as lowrank); spectral imports dense's kernels",
}


def test_imports_inside_functions_only_defer_something_heavy():
    """An xattrib import inside a function defers a module that loads torch, captum or
    matplotlib (so `import xattrib` stays light), or is listed above with its reason;
    any other belongs at the top of the module, where readers and tools see it."""
    mods = modules()
    heavy = loads_at_import()
    wrong = []
    for name, path in mods.items():
        for node, inside in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if not inside:
                continue
            for t in _targets(name, path, node, mods):
                if t not in mods or t == name:
                    continue
                if heavy[t] & HEAVY or (name, t) in LAZY_IMPORTS_ALLOWED:
                    continue
                wrong.append(f"{name} → {t}")
    assert wrong == [], ("xattrib imports inside functions of modules that load nothing "
                         "heavy (move them to the top, or list them with a reason): "
                         + ", ".join(sorted(set(wrong))))


#: the modules of the four explaining verbs: they share through attribution/engine.py
VERB_MODULES = {"xattrib.attribution.heatmaps": "attribute", "xattrib.attribution.transformed": "trim",
                "xattrib.evaluation.gtfree": "evaluate", "xattrib.evaluation.auditing": "audit"}


def test_verbs_share_through_the_engine_not_each_other():
    """attribute, trim, evaluate and audit take what every explainer run shares (baselines,
    method choice, the batched runner, the member and output fan-outs) from the engine;
    from one another they may use the public verb itself (audit runs attribute and
    evaluate), never a helper."""
    mods = modules()
    wrong = []
    for name in VERB_MODULES:
        path = mods[name]
        for node, _ in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(name, path, node)
            if target in VERB_MODULES and target != name:
                wrong += [f"{name} imports {target}.{a.name}" for a in node.names
                          if a.name != VERB_MODULES[target]]
    assert wrong == [], "verb modules importing each other's helpers: " + "; ".join(wrong)


def _functions() -> list[tuple[str, str, int]]:
    out = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append((name, node.name, node.end_lineno - node.lineno + 1))
    return out


def test_functions_stay_short():
    """No function over 120 lines (docstring included); the verbs evaluate and audit, made
    of named steps, at most 100; the heatmaps module at most 400 lines."""
    lengths = _functions()
    long = [f"{m}.{f} ({n})" for m, f, n in lengths if n > 120]
    assert long == [], f"functions over 120 lines: {long}"
    verbs = {(m, f): n for m, f, n in lengths if (m, f) in (
        ("xattrib.evaluation.gtfree", "evaluate"), ("xattrib.evaluation.auditing", "audit"))}
    assert len(verbs) == 2 and max(verbs.values()) <= 100, verbs
    lines = len((PKG / "attribution" / "heatmaps.py").read_text().splitlines())
    assert lines <= 400, f"attribution/heatmaps.py has {lines} lines"
