import os

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Small MLPs on a shared 2-core machine: one torch thread is ~50x faster than two contending ones.
torch.set_num_threads(1)
