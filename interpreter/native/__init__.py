"""Compiled kernels: building and loading C (``build``), the fixed kernels of
``interpreter/kernels`` (``fixed``), builds for the next run (``background``),
and one policy for every kernel: which backend runs, the fallback, threads
(``policy``). No submodule is imported here."""
