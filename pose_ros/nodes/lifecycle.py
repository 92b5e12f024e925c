"""Managed (lifecycle) nodes: configure loads, activate subscribes, deactivate idles.

``ManagedNode`` wraps rclpy's LifecycleNode so that a failing transition logs one
clear line and returns FAILURE instead of raising, and so that ``autostart``
(default true) brings the node straight to active, as a plain node would start.

A node that autostarts and cannot configure or activate (a missing model file, say)
has nothing to serve: ``autostart`` destroys it and raises :class:`StartupError`,
which the process skeleton (``runner.serve``) prints as one line and turns into exit
code 2. A node started with ``autostart:=false`` is driven by a lifecycle manager:
a failing transition is reported (FAILURE, /diagnostics ERROR) and the node keeps
serving, so the manager can fix parameters and try again.
"""
from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle.node import LifecycleNodeMixin

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class StartupError(RuntimeError):
    """autostart could not configure or activate the node; ``__cause__`` is the original error."""


class ManagedNode(LifecycleNode):
    """Subclasses implement configure_node / activate_node / deactivate_node / cleanup_node."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.active = False
        self.configured = False
        self.transition_error: str | None = None  # last failed transition, for diagnostics
        self.transition_exception: BaseException | None = None
        self.autostarting = False

    def autostart(self) -> None:
        """Configure and activate now (the autostart parameter).

        On failure the node is destroyed and StartupError raised (message: the one line to
        print); the caller's process exits (see ``runner.serve``).
        """
        self.autostarting = True
        try:
            ok = self.trigger_configure() == SUCCESS and self.trigger_activate() == SUCCESS
        finally:
            self.autostarting = False
        if not ok:
            error, cause = self.transition_error or "autostart failed", self.transition_exception
            self.destroy_node()
            raise StartupError(error) from cause

    def destroy_node(self) -> None:
        """Also free rcl_lifecycle's state machine, which owns the get_state/change_state/... services
        and a reference to the node: left to garbage collection, the process that exits through
        shutdown.finish never frees them, and other processes see the node for another 20 s (lease)."""
        super().destroy_node()
        self._state_machine.destroy_when_not_in_use()

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
            self.transition_exception = exc
            if not self.autostarting:  # under autostart the process prints it once and exits
                stays = {"configure": " -- the node stays unconfigured and publishes nothing",
                         "activate": " -- the node stays inactive"}.get(what, "")
                self.get_logger().error(self.transition_error + stays)
            return FAILURE
        self.transition_error = None
        self.transition_exception = None
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
