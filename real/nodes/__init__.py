"""ROS 2 nodes; each module has ``main(argv=None)`` and a ``Node`` subclass that can be built in-process."""
