"""``python -m tools.ci.plan_review``: see tools.ci.plan_review.cli."""

import sys

from tools.ci.plan_review.cli import main

sys.exit(main())
