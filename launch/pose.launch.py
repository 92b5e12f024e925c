"""Start the pose_ros graph (namespace /pose by default).

    ros2 launch pose_ros pose.launch.py camera_topic:=/my/camera
    ros2 launch pose_ros pose.launch.py video:=/path/clip.mp4 backend:=movenet rviz:=true
    ros2 launch pose_ros pose.launch.py respawn:=true respawn_delay:=2.0   # restart nodes that die
    ros2 launch pose_ros pose.launch.py --show-args

The arguments, the nodes and the respawn rule come from ``pose_ros.graph`` (the same
table `pose-ros run` uses), the files and the DDS profile from ``pose_ros.paths``.
Arguments left empty (backend, compressed, use_sim_time) are not passed to the nodes,
so the values in params_file apply.

Respawn is done here, not by launch_ros (which respawns on any exit), through the step
`pose-ros run` takes too (``pose_ros.respawn.after_exit``): a node that exits with code 2
(bad input or configuration; it would fail the same way again) ends the launch, with or
without respawn; a crash is respawned after respawn_delay seconds, at most
respawn_max_retries times.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction, RegisterEventHandler, Shutdown, \
    TimerAction
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pose_ros import graph, paths, respawn


def declare_arguments():
    """One DeclareLaunchArgument per entry of graph.LAUNCH_ARGUMENTS, with its choices."""
    out = []
    for name, arg in graph.LAUNCH_ARGUMENTS.items():
        extra = {"choices": list(arg.choices)} if arg.choices else {}
        out.append(DeclareLaunchArgument(name, default_value=arg.default, description=arg.description, **extra))
    return out


def node_action(spec, args, env):
    """The launch_ros Node of one graph.NodeSpec: params_file first, then only the arguments given."""
    parameters = [args["params_file"]] + ([spec.overrides] if spec.overrides else [])
    return Node(package="pose_ros", executable=spec.executable, name=spec.name, namespace=spec.namespace,
                parameters=parameters, remappings=spec.remappings,
                ros_arguments=["--log-level", args["log_level"]],
                additional_env=env, output="screen", emulate_tty=True)


def start_node(spec, args, env, policy, restarts=0):
    """The node and the handler that applies policy (graph.RespawnPolicy) when it exits."""
    node = node_action(spec, args, env)

    def on_exit(event, context):
        return after_exit(spec, args, env, policy, restarts, event.returncode, context.is_shutdown)

    return [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit, handle_once=True))]


def after_exit(spec, args, env, policy, restarts, code, shutting_down):
    """What the launch does when ``spec``'s process exits with ``code``: the runner's respawn step
    (pose_ros.respawn.after_exit: the rule, its log line, the dead process's shared memory)."""
    if shutting_down:
        return None
    what, line = respawn.after_exit(policy, spec.name, code, restarts)
    if what == "bad_input":
        return [Shutdown(reason=line)]
    if what == "respawn":
        return [LogInfo(msg=line),
                TimerAction(period=policy.delay, actions=start_node(spec, args, env, policy, restarts + 1))]
    if what == "give_up":
        return [LogInfo(msg=line)]
    return None


def launch_setup(context):
    """The graph for the evaluated arguments (an OpaqueFunction: values are known only here)."""
    given = {name: LaunchConfiguration(name).perform(context) for name in graph.LAUNCH_ARGUMENTS}
    args = graph.resolve_args(given)  # also checks what choices= cannot (namespace, respawn numbers)
    policy = graph.respawn_policy(args)
    # Our image publishers get the large-frame Fast DDS profile; a profile the user set wins.
    env = paths.profile_env(context.environment, paths.config_file(paths.FASTDDS_PROFILE_NAME))
    actions = []
    for spec in graph.build_graph(args):
        actions += start_node(spec, args, env, policy)
    if graph.as_bool(args["rviz"]):
        if paths.find_rviz2() is None:
            actions.append(LogInfo(msg="WARNING: " + paths.rviz_missing_message()))
        else:
            sim = {"use_sim_time": graph.as_bool(args["use_sim_time"])}
            actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                                arguments=["-d", str(paths.config_file("pose.rviz"))],
                                parameters=[sim], output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription(declare_arguments() + [OpaqueFunction(function=launch_setup)])
