"""The language server for .waterfall files (``waterfall lsp``, or
``python -m interpreter.lsp``): it speaks the Language Server Protocol on
stdin/stdout. pygls is the optional extra ``lsp`` and is imported only here,
when the server starts; what the server answers is computed in
``interpreter.lsp.analysis`` and ``dsl.symbols``, which do not need it.
"""
from __future__ import annotations

import sys


def main() -> int:
    """Serve one editor on stdin/stdout until it exits (exit 2, with the way to
    install it, when the 'lsp' extra is absent)."""
    try:
        import pygls  # noqa: F401
        import lsprotocol  # noqa: F401
    except ImportError:
        print("waterfall lsp: the language server needs pygls: pip install 'waterfall-dsl[lsp]'",
              file=sys.stderr)
        return 2
    from .server import build_server
    build_server().start_io()
    return 0
