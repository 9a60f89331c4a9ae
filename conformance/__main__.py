"""``python -m conformance``: the matrix against the bucket your settings name."""

import sys

from .run import main

sys.exit(main())
