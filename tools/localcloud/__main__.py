"""``python -m tools.localcloud --port 4566``: the local cloud in the foreground."""

import sys

from tools.localcloud import main

sys.exit(main())
