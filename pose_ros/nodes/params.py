"""Declaring validated, documented parameters in one line each.

Every parameter gets a description (shown by ``ros2 param describe``), a range or a
set of choices where that makes sense, and is checked both at start-up and when
changed at run time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node


def group(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """All values under ``prefix.`` with the prefix stripped (e.g. ``tracker.``)."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in values.items() if k.startswith(prefix + ".")}


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: Sequence[Any] | None = None
    reload: bool = False  # needs a reload: refused while a lifecycle node is active (restart for a plain node)

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is invalid, or None."""
        if self.choices is not None and value not in self.choices:
            return f"{self.name}={value!r} is not one of {list(self.choices)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value or (self.min is not None and value < self.min) \
                    or (self.max is not None and value > self.max):  # value != value: NaN
                return f"{self.name}={value} is out of range; allowed: {self.allowed()}"
        return None

    def allowed(self) -> str:
        """The allowed range in words, for error messages."""
        if self.min is not None and self.max is not None:
            return f"{self.min} to {self.max}"
        if self.min is not None:
            return f">= {self.min}"
        return f"<= {self.max}" if self.max is not None else "any number"

    def descriptor(self) -> ParameterDescriptor:
        extra = f" One of {list(self.choices)}." if self.choices else ""
        d = ParameterDescriptor(description=self.description + extra, read_only=False)
        if isinstance(self.default, bool):
            return d
        if isinstance(self.default, int) and self.min is not None and self.max is not None:
            d.integer_range = [IntegerRange(from_value=int(self.min), to_value=int(self.max), step=0)]
        elif isinstance(self.default, float) and self.min is not None and self.max is not None:
            d.floating_point_range = [FloatingPointRange(from_value=float(self.min), to_value=float(self.max),
                                                         step=0.0)]
        return d


class ParamSet:
    """Declares a list of :class:`Param` on a node and keeps their current values."""

    def __init__(self, node: Node, params: Sequence[Param],
                 on_change: Callable[[dict[str, Any]], str | None] | None = None,
                 reload_allowed: Callable[[], bool] | None = None) -> None:
        self._node = node
        self._reload_allowed = reload_allowed or (lambda: False)
        self._specs = {p.name: p for p in params}
        self.values: dict[str, Any] = {}
        self._on_change = on_change
        errors = []
        for p in params:
            # dynamic_typing lets an int in YAML set a float parameter (e.g. `1` for `1.0`).
            desc = p.descriptor()
            desc.dynamic_typing = True
            value = node.declare_parameter(p.name, p.default, desc).value
            if isinstance(p.default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if value is None:
                value = p.default
            err = p.check(value)
            if err:
                errors.append(err)
            self.values[p.name] = value
        if errors:
            raise ValueError("invalid parameters: " + "; ".join(errors))
        node.add_on_set_parameters_callback(self._validate)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def group(self, prefix: str) -> dict[str, Any]:
        """All values under ``prefix.`` with the prefix stripped (e.g. ``tracker.``)."""
        return group(self.values, prefix)

    def _validate(self, changes: list) -> SetParametersResult:
        new = {}
        for c in changes:
            spec = self._specs.get(c.name)
            if spec is None:
                continue
            if spec.reload and not self._reload_allowed():
                return SetParametersResult(
                    successful=False, reason=f"{c.name} needs a reload: deactivate the node (lifecycle), change it, "
                    "then activate again (or restart the node)")
            value = c.value
            if isinstance(spec.default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not type(spec.default):
                return SetParametersResult(successful=False,
                                           reason=f"{c.name} must be {type(spec.default).__name__}, got {value!r}")
            err = spec.check(value)
            if err:
                return SetParametersResult(successful=False, reason=err)
            new[c.name] = value
        if new and self._on_change is not None:
            reason = self._on_change(new)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        self.values.update(new)
        return SetParametersResult(successful=True)
