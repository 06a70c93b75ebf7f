"""python -m interpreter DEAL.waterfall ... (the same as run-deal)."""
import sys

from .cli import main

sys.exit(main())
