"""Managed (lifecycle) nodes: configure loads, activate subscribes, deactivate idles.

``ManagedNode`` is rclpy's LifecycleNode used the way ros2/demos' ``lifecycle_py`` does:
outputs are lifecycle publishers created in configure (:meth:`create_publishers`) and
destroyed in cleanup, so rclpy itself drops what a node publishes while inactive; the
node's state is rclpy's state machine (:attr:`state`), never a copy of it. A failing
transition logs one clear line and returns FAILURE instead of raising, and ``autostart``
(default true) brings the node straight to active, as a plain node would start.

A node that autostarts and cannot configure or activate (a missing model file, say)
has nothing to serve: ``autostart`` destroys it and raises :class:`StartupError`,
which the process skeleton (``runner.serve``) prints as one line and turns into exit
code 2. A node started with ``autostart:=false`` is driven by a lifecycle manager:
a failing transition is reported (FAILURE, /diagnostics ERROR) and the node keeps
serving, so the manager can fix parameters and try again.
"""
from __future__ import annotations

import importlib.metadata
import re

from lifecycle_msgs.msg import Transition
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle.node import LifecycleNodeMixin

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
_TRANSITION_NAMES = {v: k[len("TRANSITION_"):].lower() for k, v in vars(Transition).items()
                     if k.startswith("TRANSITION_") and isinstance(v, int)}


def rclpy_version() -> tuple[int, ...]:
    """The installed rclpy's version, (0,) when unknown."""
    try:
        return tuple(int(x) for x in re.findall(r"\d+", importlib.metadata.version("rclpy"))[:3]) or (0,)
    except importlib.metadata.PackageNotFoundError:
        return (0,)


# rclpy before 8.0.0 (Humble 3.x, Jazzy 7.x; checked in 7.1.6's lifecycle/node.py) lets the
# RCLError of a transition that is invalid in the current state ("Transition is not
# registered") escape the change_state service callback, which ends the node's spin:
# https://github.com/ros2/rclpy/issues/1209, fixed by ros2/rclpy#1319 in 8.0.0 (Kilted).
NEEDS_TRANSITION_WORKAROUND = rclpy_version() < (8,)


class StartupError(RuntimeError):
    """autostart could not configure or activate the node; ``__cause__`` is the original error."""


class ManagedNode(LifecycleNode):
    """Subclasses implement create_publishers / configure_node / activate_node / deactivate_node / cleanup_node."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.transition_error: str | None = None  # last failed transition, for diagnostics
        self.transition_exception: BaseException | None = None
        self.autostarting = False
        self._lifecycle_publishers: list = []
        self._state_machine_freed = False

    # -- state, from rclpy's state machine -------------------------------------------------
    @property
    def state(self) -> str:
        """rclpy's current state label: unconfigured, inactive, active, finalized or a transition state.

        After destroy_node the state machine is freed (reading it would crash): finalized.
        """
        if self._state_machine_freed:
            return "finalized"
        return self._state_machine.current_state[1]

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def configured(self) -> bool:
        return self.state in ("inactive", "active")

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

    def reload_allowed(self) -> bool:
        """Parameters that need a reload may change only while not active."""
        return not self.active

    def add_publisher(self, msg_type, topic: str, qos):
        """A lifecycle publisher (silent unless active), destroyed again at cleanup; for create_publishers."""
        pub = self.create_lifecycle_publisher(msg_type, topic, qos)
        self._lifecycle_publishers.append(pub)
        return pub

    def _destroy_publishers(self) -> None:
        for pub in self._lifecycle_publishers:
            self.destroy_lifecycle_publisher(pub)
        self._lifecycle_publishers.clear()

    def destroy_node(self) -> None:
        """Shut down through the state machine first (deactivate, clean up), as rclcpp's LifecycleNode does.

        Then also free rcl_lifecycle's state machine, which owns the get_state/change_state/...
        services and a reference to the node: left to garbage collection, a process that exits
        through shutdown.finish never frees them, and other processes see the node for another
        20 s (lease).
        """
        if self._state_machine_freed:  # destroyed already (autostart failure, then the process skeleton)
            return
        if self.state in ("unconfigured", "inactive", "active"):
            try:
                self.trigger_shutdown()
            except Exception as exc:  # the context may be gone (Ctrl-C); destroying must go on
                self.get_logger().debug(f"shutdown transition skipped: {exc}")
        super().destroy_node()
        self._state_machine_freed = True
        self._state_machine.destroy_when_not_in_use()

    # -- hooks for subclasses --------------------------------------------------------------
    def create_publishers(self) -> None:
        """Create the outputs with :meth:`add_publisher` (called at configure, after configure_node)."""

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

    def _configure(self) -> None:
        self.configure_node()
        try:
            self.create_publishers()
        except Exception:
            self._destroy_publishers()
            self.cleanup_node()
            raise

    def _cleanup(self) -> None:
        try:
            self.cleanup_node()
        finally:
            self._destroy_publishers()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("configure", self._configure)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        ret = self._run("activate", self.activate_node)
        if ret == SUCCESS:
            ret = super().on_activate(state)  # enables the lifecycle publishers
        return ret

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        super().on_deactivate(state)  # silences the lifecycle publishers first
        return self._run("deactivate", self.deactivate_node)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("cleanup", self._cleanup)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """``state`` is the state shut down from: undo what it holds."""
        if state.label == "active":
            super().on_deactivate(state)
            self._run("deactivate", self.deactivate_node)
        if state.label in ("active", "inactive"):
            self._run("cleanup", self._cleanup)
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised past _run (rclpy's own part of it): undo everything, back to unconfigured."""
        self.get_logger().error(f"error in a transition from state '{state.label}'; cleaning up to unconfigured")
        super().on_deactivate(state)
        self._run("deactivate", self.deactivate_node)
        self._run("cleanup", self._cleanup)
        return SUCCESS


def _on_change_state_without_raising(self: ManagedNode, req, resp):
    """rclpy's change_state service handler, with an invalid transition answered success=False and a log line."""
    try:
        return LifecycleNodeMixin._LifecycleNodeMixin__on_change_state(self, req, resp)
    except Exception as exc:
        tid = req.transition.id
        name = req.transition.label or f"{tid} ({_TRANSITION_NAMES.get(tid, 'unknown')})"
        self.get_logger().error(f"lifecycle transition {name} refused in state '{self.state}': {exc}")
        resp.success = False
        return resp


if NEEDS_TRANSITION_WORKAROUND:
    # Overrides the name-mangled private handler that LifecycleNodeMixin registers as the
    # change_state service callback (self.__on_change_state resolves through the MRO).
    ManagedNode._LifecycleNodeMixin__on_change_state = _on_change_state_without_raising
