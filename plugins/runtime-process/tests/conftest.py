"""Fixtures of the local-runtime tests: ``local_conformance`` importable, polling with a deadline."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `import local_conformance` from any rootdir
