"""``python -m newsindex``: the same as the ``newsindex`` command."""

import sys

from .cli import main

sys.exit(main())
