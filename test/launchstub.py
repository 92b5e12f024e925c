"""Load launch/pose.launch.py without `launch` (not on PyPI), with stand-ins for the classes it uses.

The stand-ins take exactly the parameters of the real classes of launch 3.4.3 and
launch_ros 0.26.6 (keyword-only where the real ones are), so a misspelled or
unsupported keyword in the launch file fails here with TypeError as it would under
`ros2 launch`; they only record what they were given.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

LAUNCH_FILE = Path(__file__).resolve().parents[1] / "launch" / "pose.launch.py"


class Recorded:
    """Base of the stand-ins: ``kind`` and the keywords given."""

    kind = ""

    def __init__(self, **kw: Any) -> None:
        self.kw = kw

    def __repr__(self) -> str:
        return f"{self.kind}({self.kw})"


class LaunchDescription(Recorded):
    kind = "LaunchDescription"

    def __init__(self, initial_entities=None, *, deprecated_reason=None):
        super().__init__(initial_entities=list(initial_entities or []), deprecated_reason=deprecated_reason)


class DeclareLaunchArgument(Recorded):
    kind = "DeclareLaunchArgument"

    def __init__(self, name, *, default_value=None, description=None, choices=None, condition=None):
        if choices is not None and default_value is not None and default_value not in choices:
            raise RuntimeError(f'Provided default_value "{default_value}" is not in provided choices "{choices}".')
        super().__init__(name=name, default_value=default_value, description=description, choices=choices)


class OpaqueFunction(Recorded):
    kind = "OpaqueFunction"

    def __init__(self, *, function, args=None, kwargs=None, condition=None):
        super().__init__(function=function, args=args, kwargs=kwargs)


class LogInfo(Recorded):
    kind = "LogInfo"

    def __init__(self, *, msg, condition=None):
        super().__init__(msg=msg)


class RegisterEventHandler(Recorded):
    kind = "RegisterEventHandler"

    def __init__(self, event_handler, *, condition=None):
        super().__init__(event_handler=event_handler)


class Shutdown(Recorded):
    kind = "Shutdown"

    def __init__(self, *, reason="reason not given", condition=None):
        super().__init__(reason=reason)


class TimerAction(Recorded):
    kind = "TimerAction"

    def __init__(self, *, period, actions, cancel_on_shutdown=True, condition=None):
        super().__init__(period=period, actions=list(actions), cancel_on_shutdown=cancel_on_shutdown)


class OnProcessExit(Recorded):
    kind = "OnProcessExit"

    def __init__(self, *, target_action=None, on_exit, handle_once=False):
        super().__init__(target_action=target_action, on_exit=on_exit, handle_once=handle_once)


class LaunchConfiguration(Recorded):
    kind = "LaunchConfiguration"

    def __init__(self, variable_name, *, default=None):
        super().__init__(variable_name=variable_name, default=default)

    def perform(self, context) -> str:
        return context.launch_configurations[self.kw["variable_name"]]


class Node(Recorded):
    kind = "Node"

    def __init__(self, *, executable, package=None, name=None, namespace=None, exec_name=None, parameters=None,
                 remappings=None, ros_arguments=None, arguments=None,
                 # launch.actions.ExecuteProcess / ExecuteLocal keywords
                 prefix=None, cwd=None, env=None, additional_env=None, shell=False, sigterm_timeout=None,
                 sigkill_timeout=None, emulate_tty=False, output="log", output_format=None, cached_output=False,
                 log_cmd=False, on_exit=None, respawn=False, respawn_delay=None, respawn_max_retries=-1,
                 condition=None):
        super().__init__(executable=executable, package=package, name=name, namespace=namespace,
                         parameters=parameters, remappings=remappings, ros_arguments=ros_arguments,
                         arguments=arguments, additional_env=additional_env, output=output,
                         emulate_tty=emulate_tty, respawn=respawn, respawn_delay=respawn_delay,
                         respawn_max_retries=respawn_max_retries, on_exit=on_exit)


class Context:
    """What the launch file reads of a LaunchContext: launch_configurations, environment, is_shutdown."""

    def __init__(self, configurations: dict[str, str], environment: dict[str, str] | None = None,
                 is_shutdown: bool = False) -> None:
        self.launch_configurations = dict(configurations)
        self.environment = dict(environment or {})
        self.is_shutdown = is_shutdown


class ProcessExited:
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode


MODULES = {
    "launch": {"LaunchDescription": LaunchDescription},
    "launch.actions": {c.kind: c for c in (DeclareLaunchArgument, OpaqueFunction, LogInfo, RegisterEventHandler,
                                           Shutdown, TimerAction)},
    "launch.event_handlers": {"OnProcessExit": OnProcessExit},
    "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
    "launch_ros": {},
    "launch_ros.actions": {"Node": Node},
}


def load_launch_file(path: Path = LAUNCH_FILE) -> types.ModuleType:
    """The launch file as a module, imported against the stand-ins (sys.modules is restored after)."""
    saved = {name: sys.modules.get(name) for name in MODULES}
    try:
        for name, attrs in MODULES.items():
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys.modules[name] = mod
        spec = importlib.util.spec_from_file_location("pose_launch", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def declared(module) -> dict[str, dict]:
    """name -> keywords of every DeclareLaunchArgument of generate_launch_description()."""
    ld = module.generate_launch_description()
    return {e.kw["name"]: e.kw for e in ld.kw["initial_entities"] if isinstance(e, DeclareLaunchArgument)}


def run_setup(module, given: dict[str, str], environment: dict[str, str] | None = None) -> list:
    """The actions of the launch file's OpaqueFunction for the arguments ``given`` (others: their defaults)."""
    ld = module.generate_launch_description()
    args = {e.kw["name"]: e.kw["default_value"] for e in ld.kw["initial_entities"]
            if isinstance(e, DeclareLaunchArgument)}
    args.update(given)
    [opaque] = [e for e in ld.kw["initial_entities"] if isinstance(e, OpaqueFunction)]
    return opaque.kw["function"](Context(args, environment))


def nodes_of(actions: list) -> list[Node]:
    return [a for a in actions if isinstance(a, Node)]


def exit_handler(actions: list, node: Node):
    """The on_exit callback registered for ``node``."""
    [handler] = [a.kw["event_handler"] for a in actions
                 if isinstance(a, RegisterEventHandler) and a.kw["event_handler"].kw["target_action"] is node]
    return handler.kw["on_exit"]
