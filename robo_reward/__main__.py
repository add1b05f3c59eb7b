import sys

from robo_reward.cli.main import main

sys.exit(main())
