"""The waterfall stage: the deal lowered to a period program, and the engines that run it."""
