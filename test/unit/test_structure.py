"""Guard rails of the package layout, read from the sources with ``ast`` (nothing is imported).

- nothing under ``pose_ros/core`` imports ROS (rclpy, message packages, launch) or a
  pose_ros module outside the core;
- no import cycle between pose_ros modules (imports inside functions and under
  ``TYPE_CHECKING`` count: a lazy import is still a dependency);
- no private (``_name``) imported from another module, anywhere in the project;
- no file under ``pose_ros/`` over 400 lines.

Each rule is also run on a small bad example, so that a checker that finds nothing
because it is broken fails too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pose_ros"
ROS_PREFIXES = ("rclpy", "rosidl", "launch", "launch_ros", "rosbag2_py", "cv_bridge", "pose_ros.msg",
                "std_msgs", "sensor_msgs", "geometry_msgs", "visualization_msgs", "diagnostic_msgs",
                "lifecycle_msgs", "builtin_interfaces", "rcl_interfaces", "rosgraph_msgs", "hri_msgs", "tf2_msgs",
                "tf2_ros")
MAX_LINES = 400


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / "pose_ros").rglob("*.py"))}


def imports(path: Path, name: str, modules: set[str]) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in the file, resolved.

    ``from pkg import sub`` where ``sub`` is a module counts as an import of ``pkg.sub``.
    """
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            plain = []
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in modules:
                    found.append((sub, [], node.lineno))
                else:
                    plain.append(a.name)
            if plain or not node.names:
                found.append((base, plain, node.lineno))
    return found


def graph(root: Path = ROOT) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, list[str], int]]]]:
    mods = package_modules(root)
    names = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    raw: dict[str, list[tuple[str, list[str], int]]] = {}
    for m, p in mods.items():
        raw[m] = imports(p, m, names)
        for target, _, _ in raw[m]:
            if target in names and target != m:
                edges[m].add(target)
    return edges, raw


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def core_violations(root: Path = ROOT) -> list[str]:
    _, raw = graph(root)
    bad = []
    for m, found in raw.items():
        if not m.startswith("pose_ros.core"):
            continue
        for target, _, line in found:
            if target.startswith(ROS_PREFIXES):
                bad.append(f"{m}:{line} imports ROS module {target}")
            elif target.startswith("pose_ros") and not target.startswith("pose_ros.core"):
                bad.append(f"{m}:{line} imports {target} from outside the core")
    return bad


def private_imports(files: list[Path], root: Path = ROOT) -> list[str]:
    mods = set(package_modules(root))
    bad = []
    for p in files:
        name = module_name(p, root) if p.is_relative_to(root / "pose_ros") else p.stem
        for target, taken, line in imports(p, name, mods):
            if target == "__future__":
                continue
            for n in taken:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{p.relative_to(root)}:{line} imports private {n} from {target}")
    return bad


def project_files(root: Path = ROOT) -> list[Path]:
    files = [*(root / "pose_ros").rglob("*.py"), *(root / "bench").rglob("*.py"), *(root / "test").rglob("*.py"),
             *(root / "scripts").rglob("*.py"), *(root / "launch").rglob("*.py")]
    return sorted(f for f in files if "__pycache__" not in f.parts)


def test_core_imports_no_ros_and_nothing_outside_core() -> None:
    assert core_violations() == []


def test_no_import_cycles() -> None:
    edges, _ = graph()
    assert cycles(edges) == []


def test_no_private_names_imported_from_other_modules() -> None:
    assert private_imports(project_files()) == []


def test_package_files_stay_small() -> None:
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in sorted(PACKAGE.rglob("*.py"))
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert big == []


@pytest.fixture()
def bad_tree(tmp_path: Path) -> Path:
    """A tiny package that breaks every rule once."""
    core = tmp_path / "pose_ros" / "core"
    (core / "stage").mkdir(parents=True)
    (tmp_path / "pose_ros" / "nodes").mkdir()
    for d in ("pose_ros", "pose_ros/core", "pose_ros/core/stage", "pose_ros/nodes"):
        (tmp_path / d / "__init__.py").write_text("")
    (core / "stage" / "a.py").write_text("import rclpy\nfrom pose_ros.core.stage import b\n_X = 1\n")
    (core / "stage" / "b.py").write_text("def f():\n    from pose_ros.core.stage.a import _X\n    return _X\n")
    (core / "c.py").write_text("from pose_ros.nodes.n import thing\n")
    (tmp_path / "pose_ros" / "nodes" / "n.py").write_text("thing = 1\n")
    return tmp_path


def test_the_checks_catch_a_bad_tree(bad_tree: Path) -> None:
    edges, _ = graph(bad_tree)
    assert cycles(edges) == [["pose_ros.core.stage.a", "pose_ros.core.stage.b"]]
    core = core_violations(bad_tree)
    assert any("imports ROS module rclpy" in v for v in core)
    assert any("pose_ros.nodes.n from outside the core" in v for v in core)
    assert private_imports(project_files(bad_tree), bad_tree) == [
        "pose_ros/core/stage/b.py:2 imports private _X from pose_ros.core.stage.a"]
