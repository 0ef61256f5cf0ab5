"""Repository-wide test settings: every test server listens on loopback and is reached directly."""

import os

os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
