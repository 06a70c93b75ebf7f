"""The fixed kernels: the C files of ``interpreter/kernels`` (the same for every
deal), compiled with the warnings on.

A fixed kernel's library is kept with the package, beside its source, when
that folder is this user's and not writable by group or others (a source
checkout, a user's virtualenv): it is built once, by the first run that needs
it (or at install time: ``python -m interpreter.native.fixed``), and serves
every cache folder after, so a first run with an empty cache compiles only
the deal's own kernel. It is read from there when it and the folder are this
user's or root's and not writable by group or others, and its bytes match the
SHA-256 recorded beside it when it was built (``build.load_kept``). Where the
package cannot be written (a system install), it is kept in the cache folder
like any library.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Dict

from .build import compiler, library_key, load, load_kept

KERNELS = Path(__file__).resolve().parent.parent / "kernels"
NAMES = ("collateral", "analytics")
_INCLUDE = re.compile(r'^#include "([a-z_]+\.h)"[ \t]*$', re.M)
_sources: Dict[str, str] = {}


def source(name: str) -> str:
    """The C source of kernel ``name``: ``name.c`` with the headers it includes
    from its folder written in place (one translation unit, so the library's
    key covers the headers too)."""
    if name not in _sources:
        def expand(text: str, depth: int) -> str:
            if depth > 4:
                raise RecursionError("headers nested too deep")
            return _INCLUDE.sub(lambda m: expand((KERNELS / m.group(1)).read_text(encoding="ascii"), depth + 1), text)
        _sources[name] = expand((KERNELS / f"{name}.c").read_text(encoding="ascii"), 0)
    return _sources[name]


def library(name: str, note: str = ""):
    """The library of kernel ``name`` (ctypes), or None without a compiler (or,
    within ``build.later``, while it is being built). Raises build.CompileError."""
    cc = compiler()
    if cc is None:
        return None
    src = source(name)
    key = library_key(cc, src, warn=True)
    lib = load_kept(KERNELS / f"{name}-{key}.so", key)
    if lib is not None:
        return lib
    here = KERNELS if _ours(KERNELS) else None
    lib = load(name, src, note=note or f"the {name} kernel", warn=True, folder=here)
    if lib is not None and here is not None:
        _remove_older(name, key)
        for p in (KERNELS / f"{name}-{key}.so", KERNELS / f"{name}-{key}.sha256"):
            try:
                os.chmod(p, 0o644)  # as readable as the code beside it (an install for every user)
            except OSError:
                pass
    return lib


def _ours(folder: Path) -> bool:
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022 and os.access(folder, os.W_OK | os.X_OK)


def _remove_older(name: str, key: str) -> None:
    """The libraries of earlier versions of the kernel's source, kept here."""
    for p in KERNELS.glob(f"{name}-*"):
        if p.suffix in (".so", ".sha256") and p.stem != f"{name}-{key}":
            try:
                p.unlink()
            except OSError:
                pass


def main() -> int:
    """Build the fixed kernels now (at install time): into the package when it
    can be written, else into the cache folder."""
    if compiler() is None:
        print("no C compiler: the numpy paths will run", file=sys.stderr)
        return 0
    for name in NAMES:
        lib = library(name)
        print(f"{name}: {getattr(lib, '_name', None)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
