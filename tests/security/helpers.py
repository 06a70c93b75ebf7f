"""What the security tests share: the deal they run, sources no cache has seen,
and the hostile things they plant (a pickle and a library that leave a marker)."""
from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from interpreter.native import build as cbuild

ROOT = Path(__file__).resolve().parents[2]
SEQ = ROOT / "deals" / "sequential-cmo.waterfall"
SEQ_YAML = ROOT / "deals" / "sequential-cmo.assumptions.yaml"
needs_cc = pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def unique_source() -> str:
    return f"double twice(double x) {{ return 2.0 * x; }}\n/* {uuid.uuid4().hex} */\n"


def twice(lib) -> float:
    lib.twice.restype = ctypes.c_double
    lib.twice.argtypes = [ctypes.c_double]
    return lib.twice(21.0)


def env_for(cache: Path, **extra) -> dict:
    env = dict(os.environ, WATERFALL_CACHE=str(cache), PYTHONPATH=str(ROOT), **extra)
    return env


class Bomb:
    """Unpickling it creates the file ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_library(tmp_path: Path, marker: Path) -> Path:
    """A library whose constructor writes ``marker`` when it is loaded (and that
    has the deal kernel's entry point, so that loading it would run)."""
    src = tmp_path / "evil.c"
    src.write_text(
        '#include <stdio.h>\n'
        '__attribute__((constructor)) static void boom(void) { FILE *f = fopen("%s", "w"); if (f) fclose(f); }\n'
        'int run_range(void) { return 0; }\n' % marker)
    so = tmp_path / "evil.so"
    subprocess.run([cbuild.compiler(), "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    return so
