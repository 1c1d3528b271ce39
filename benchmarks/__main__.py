"""``python -m benchmarks``: see ``benchmarks/README.md``."""

import sys

from . import main

sys.exit(main(sys.argv[1:]))
