"""ROS 2 bridge for robo-reward (installed as ``robo_reward.real``).

Pure-Python pieces (no rclpy import): :mod:`.kinematics`, :mod:`.safety`, :mod:`.pairing`, :mod:`.images`,
:mod:`.heuristic`, :mod:`.policies`, :mod:`.sac`, :mod:`.bag_score`, :mod:`.bringup`. ROS 2 nodes live in
:mod:`.nodes`, each with a console-script style ``main(argv=None)``.
"""
