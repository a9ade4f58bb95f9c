"""``python -m azrender.backends.local <job dir>``: the job's detached runner (see runner.py)."""

import sys

from .runner import main

sys.exit(main(sys.argv[1:]))
