"""python -m interpreter.lsp: the language server on stdin/stdout."""
import sys

from interpreter.lsp import main

sys.exit(main())
