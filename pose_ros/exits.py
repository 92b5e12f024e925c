"""Process exit codes shared by the node executables, `pose-ros run`, its supervisor and the launch file.

A module of its own so that the runner, the respawn supervisor and the entry points can
all name them without importing each other.
"""
EXIT_OK = 0          # a normal stop (Ctrl-C, end of a video): nothing to respawn
EXIT_BAD_INPUT = 2   # bad source, parameter or model file at start-up: a respawn would fail the same way
