"""The language's bounds on numbers that count time (a leaf: the parser and the checks read them)."""

MAX_MONTHS = 720  # the longest a deal runs, and a ramp: sixty years (interpreter.collateral.MAX_MONTHS too)
MAX_PERIOD = 10_000  # a table row's period: far past any run (at most MAX_MONTHS periods)
