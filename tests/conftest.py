import os

# Ray in the tests stays on the loopback address: without this Ray replaces 127.0.0.1 by
# this machine's network address for its node (and every process it starts listens
# there); with it, Ray's head, raylet and workers listen on 127.0.0.1 only. A head
# started by `ray start` asks drivers for its token (RAY_AUTH_MODE=token reads it).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch
from hypothesis import settings

settings.register_profile("default", deadline=None, print_blob=True)
settings.load_profile("default")
torch.set_num_threads(2)
