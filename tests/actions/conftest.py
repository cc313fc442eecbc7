"""The containment tests reuse the Slack harness (tests/slack) and the deploy helpers
(tests/deploy) by their directories, as the rest of the suite does."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for helper_dir in (TESTS / "slack", TESTS / "deploy", Path(__file__).resolve().parent):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))
