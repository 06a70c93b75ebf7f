"""Write editors/vscode/syntaxes/waterfall.tmLanguage.json from dsl/highlight.py.

The TextMate grammar and the Pygments lexer share one table of rules, so a
word added to the grammar is added once (dsl/highlight.py) and this script
rewrites the JSON; tests/highlight fails while the two differ. Needs
Pygments (pip install -e '.[highlight]'). Run from anywhere:

    python editors/make_tmlanguage.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "editors" / "vscode" / "syntaxes" / "waterfall.tmLanguage.json"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from dsl.highlight import tmlanguage
    return json.dumps(tmlanguage(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    text = render()
    # Written beside the target and renamed over it, so an editor never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=TARGET.parent, prefix=".tmLanguage-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # a file of the repository, not a private temporary
        os.replace(tmp, TARGET)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
