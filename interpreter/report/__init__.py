"""What a run reports: the term-sheet figures (``analyze``), their tables as
text (``tables``) and the per-period cashflow files (``cashflows``)."""
