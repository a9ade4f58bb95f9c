import sys

from azrender.cli import main

sys.exit(main())
