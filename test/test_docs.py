"""docs/nodes.md and README's launch-argument table are generated from the code, and the node
descriptions they are generated from (pose_ros/interfaces.py) agree with the node sources."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from pose_ros.graph import EXECUTABLES, node_class
from pose_ros.interfaces import NODES

# where a node's names may come from besides its own module (shared helpers)
HELPERS = ("pose_ros/nodes/diagnostics.py", "pose_ros/nodes/estimator_health.py", "pose_ros/client.py")
CREATORS = {"create_publisher", "add_publisher", "create_lifecycle_publisher", "create_subscription"}
PLACEHOLDER = re.compile(r"<[a-z_]+>")


def module_file(name: str) -> Path:
    return ROOT / (EXECUTABLES[name].target.split(":")[0].replace(".", "/") + ".py")


def string_patterns(paths) -> list[re.Pattern]:
    """Every string constant and f-string of the files, as full-match regexes (``{x}`` -> ``.+``)."""
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(re.compile(re.escape(node.value)))
            elif isinstance(node, ast.JoinedStr):
                parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in node.values]
                if any(isinstance(v, ast.Constant) and v.value.strip() for v in node.values):  # not f"{x}"
                    out.append(re.compile("".join(parts)))
    return out


def found(name: str, patterns: list[re.Pattern]) -> bool:
    sample = PLACEHOLDER.sub("x1", name)
    return any(p.fullmatch(sample) for p in patterns)


def created_topics(path: Path) -> set[str]:
    """Topic names given as plain strings to create_publisher / create_subscription / ... in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CREATORS \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            names.add(node.args[1].value)
    return names


def test_nodes_md_is_generated_from_the_code():
    from gen_docs import NODES_MD, render
    assert NODES_MD.is_file() and NODES_MD.read_text() == render(), \
        "docs/nodes.md is out of date: run .venv/bin/python scripts/gen_docs.py"


def test_readme_launch_arguments_are_generated_from_the_registry():
    from gen_docs import README, render_readme
    text = README.read_text()
    assert text == render_readme(text), \
        "README.md's launch-argument table is out of date: run .venv/bin/python scripts/gen_docs.py"


def test_every_executable_is_described():
    assert list(NODES) == list(EXECUTABLES)


def test_declared_names_occur_in_the_node_sources():
    for name, iface in NODES.items():
        patterns = string_patterns([module_file(name), *(ROOT / h for h in HELPERS)])
        topics = [*iface.subscribes, *iface.publishes, *iface.services, *iface.clients]
        missing = [t.name for t in topics if t.name != "<wait_for>" and not found(t.name, patterns)]
        missing += [k for k in iface.diagnostics if not found(k, patterns)]
        assert not missing, f"{name}: declared in pose_ros/interfaces.py but not in its sources: {missing}"


def test_every_topic_a_node_module_creates_is_declared():
    for name, iface in NODES.items():
        declared = {t.name for t in (*iface.subscribes, *iface.publishes)}
        undeclared = created_topics(module_file(name)) - declared
        assert not undeclared, f"{name} creates {sorted(undeclared)}: describe them in pose_ros/interfaces.py"


def test_lifecycle_flag_matches_the_node_class():
    from rclpy.lifecycle import LifecycleNode
    for name, iface in NODES.items():
        assert issubclass(node_class(name), LifecycleNode) == iface.lifecycle, name


def test_the_source_checks_can_fail():
    patterns = string_patterns([module_file("hri_bridge")])
    assert found("/humans/bodies/<id>/roi", patterns)
    assert not found("/humans/faces/<id>/roi", patterns)
    assert not found("people counted", patterns)
    assert "skeletons" in created_topics(module_file("action_classifier"))


def _resolve(name: str, namespace: str) -> str:
    return name if name.startswith("/") else namespace.rstrip("/") + "/" + name


def _type(name: str) -> str:
    return name.replace("/msg/", "/")


def _reliability(qos: str):
    """The declared reliability (rclpy's enum value), or None when a parameter decides it."""
    from rclpy.qos import ReliabilityPolicy
    return {"reliable": ReliabilityPolicy.RELIABLE, "best effort": ReliabilityPolicy.BEST_EFFORT}.get(
        qos.split(",")[0].split(" (")[0])


def test_running_nodes_have_the_declared_topics_types_and_reliability():
    """The cheap nodes, started in this process: every unconditional topic is there with its type and
    reliability, and every topic there is declared (pose_estimator and video_source need a model / a
    source: they get the source check only)."""
    import rclpy
    from rosutil import wait_for

    overrides = {"action_classifier": {"actions.model": "rules"}}
    ignored = {"/rosout", "/parameter_events"}
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        for name in ("pose_tracker", "action_classifier", "hri_bridge", "hands_up_stop", "follow_person",
                     "point_target"):
            from rclpy.parameter import Parameter
            params = [Parameter(k, value=v) for k, v in overrides.get(name, {}).items()]
            node = node_class(name)(context=ctx, parameter_overrides=params)
            try:
                iface = NODES[name]
                for kind, declared, query, info in (
                        ("publishes", iface.publishes, node.get_publisher_names_and_types_by_node,
                         node.get_publishers_info_by_topic),
                        ("subscribes", iface.subscribes, node.get_subscriber_names_and_types_by_node,
                         node.get_subscriptions_info_by_topic)):
                    ns = node.get_namespace()
                    want = {_resolve(t.name, ns): _type(t.type) for t in declared}
                    must = {_resolve(t.name, ns) for t in declared if not t.when and "<" not in t.name}

                    def actual():
                        return {n: _type(ts[0]) for n, ts in query(node.get_name(), node.get_namespace())
                                if n not in ignored and not n.endswith("/transition_event")}
                    assert wait_for(lambda: must <= set(actual()), 10.0), f"{name} {kind}: {sorted(actual())}"
                    got = actual()
                    assert set(got) <= set(want), f"{name} {kind} undeclared: {sorted(set(got) - set(want))}"
                    assert all(want[n] == t for n, t in got.items()), f"{name} {kind} types: {got} vs {want}"
                    for t in declared:
                        topic, rel = _resolve(t.name, ns), _reliability(t.qos)
                        if topic in got and rel is not None:
                            mine = [i for i in info(topic) if i.node_name == node.get_name()]
                            assert mine and all(i.qos_profile.reliability == rel for i in mine), \
                                f"{name} {kind} {topic}: declared {t.qos}"
            finally:
                node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
