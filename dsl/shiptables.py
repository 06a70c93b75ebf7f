"""Write the Lark tables shipped with the package, ``grammar/waterfall.tables.json.gz``
(``python -m dsl.shiptables``, after the grammar changes); ``dsl.larktables``
reads them."""
from __future__ import annotations

import gzip
import importlib.resources
import os
from pathlib import Path

from lark import Lark

from .larktables import SHIPPED, _text, shipped_key
from .parse import parser_options


def write_shipped() -> Path:
    """Write ``grammar/waterfall.tables.json.gz`` for the grammar and Lark of
    this checkout. (Lark orders some tables by object identity, so the bytes
    differ from one writing to the next; any writing parses alike.)"""
    folder = Path(str(importlib.resources.files("grammar")))
    grammar = (folder / "waterfall.lark").read_text(encoding="utf-8")
    options = parser_options()
    built = Lark(grammar, **options)
    text = _text(built, shipped_key(grammar, options), shipped=True)
    path = folder / SHIPPED
    tmp = path.with_name(f".{SHIPPED}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(gzip.compress(text.encode("utf-8"), 9, mtime=0))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    print(write_shipped())
