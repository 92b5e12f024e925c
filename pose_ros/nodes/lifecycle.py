"""Managed (lifecycle) nodes: configure loads, activate subscribes, deactivate idles.

``ManagedNode`` wraps rclpy's LifecycleNode so that a failing transition logs one
clear line and returns FAILURE instead of raising, and so that ``autostart``
(default true) brings the node straight to active, as a plain node would start.
"""
from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle.node import LifecycleNodeMixin

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class ManagedNode(LifecycleNode):
    """Subclasses implement configure_node / activate_node / deactivate_node / cleanup_node."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.active = False
        self.configured = False
        self.transition_error: str | None = None  # last failed transition, for diagnostics

    def autostart(self) -> None:
        """Configure and activate now (the autostart parameter)."""
        if self.trigger_configure() == SUCCESS:
            self.trigger_activate()

    def reload_allowed(self) -> bool:
        """Parameters that need a reload may change only while not active."""
        return not self.active

    def _LifecycleNodeMixin__on_change_state(self, req, resp):  # noqa: N802 (overrides rclpy's private handler)
        """A transition that is invalid in the current state gets success=False and a log line.

        rclpy raises out of the service callback instead, which ends the node's spin.
        """
        try:
            return LifecycleNodeMixin._LifecycleNodeMixin__on_change_state(self, req, resp)
        except Exception as exc:
            sid, label = self._state_machine.current_state
            name = req.transition.label or f"id {req.transition.id}"
            self.get_logger().error(f"lifecycle transition {name} refused in state '{label}': {exc}")
            resp.success = False
            return resp

    # -- hooks for subclasses --------------------------------------------------------------
    def configure_node(self) -> None: ...

    def activate_node(self) -> None: ...

    def deactivate_node(self) -> None: ...

    def cleanup_node(self) -> None: ...

    # -- rclpy transition callbacks ----------------------------------------------------------
    def _run(self, what: str, fn) -> TransitionCallbackReturn:
        try:
            fn()
        except Exception as exc:
            self.transition_error = f"{what} failed: {exc}"
            self.get_logger().error(self.transition_error)
            return FAILURE
        self.transition_error = None
        self.get_logger().info(f"{what}: done")
        return SUCCESS

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        ret = self._run("configure", self.configure_node)
        self.configured = ret == SUCCESS
        return ret

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        ret = self._run("activate", self.activate_node)
        if ret == SUCCESS:
            super().on_activate(state)
            self.active = True
        return ret

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        super().on_deactivate(state)
        return self._run("deactivate", self.deactivate_node)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.configured = False
        return self._run("cleanup", self.cleanup_node)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.active:
            self.active = False
            self._run("deactivate", self.deactivate_node)
        if self.configured:
            self.configured = False
            self._run("cleanup", self.cleanup_node)
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f"error in state {state.label}; cleaning up to unconfigured")
        self.active = False
        self.on_shutdown(state)
        return SUCCESS
