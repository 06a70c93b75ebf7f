"""waterfall: tools for working on deal files (``run-deal`` runs one).

    waterfall fmt [--check] PATH...   lay deal files out in the canonical layout
    waterfall check PATH...           what 'run-deal DEAL --check' does, for many deals
    waterfall lsp                     the language server, on stdin and stdout

A PATH may be a folder: every ``.waterfall`` file in it and its subfolders
(hidden ones aside). Exit status: 0 when all is well; 1 from ``fmt --check``
when a file would change; 2 for an error (a file that does not parse, cannot
be read or written, a bad argument), without a traceback.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from dsl.diagnostics import DealError

PROG = "waterfall"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Tools for working on .waterfall deal files "
                                                       "(run-deal runs one).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    f = sub.add_parser("fmt", help="rewrite deal files in the canonical layout",
                       description="Rewrite deal files in the canonical layout, keeping every comment, blank "
                                   "line (at most one in a row), word and label as written. A file that does "
                                   "not parse is reported and left as it is.")
    f.add_argument("paths", nargs="+", metavar="PATH", help="a .waterfall file, or a folder of them")
    f.add_argument("--check", action="store_true",
                   help="change nothing; list the files that would change and exit 1 if any would")
    c = sub.add_parser("check", help="validate deals and their assumptions (run-deal --check for each)",
                       description="Validate each deal and the assumptions file beside it "
                                   "(DEAL.assumptions.yaml), as 'run-deal DEAL --check' does.")
    c.add_argument("paths", nargs="+", metavar="PATH", help="a .waterfall file, or a folder of them")
    sub.add_parser("lsp", help="start the language server on stdin/stdout",
                   description="Start the waterfall language server on stdin and stdout "
                               "(needs pip install 'waterfall-dsl[lsp]').")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: name a command: fmt, check or lsp", file=sys.stderr)
        return 2
    try:
        if args.command == "fmt":
            return _fmt(args.paths, args.check)
        if args.command == "check":
            return _check(args.paths)
        return _lsp()
    except KeyboardInterrupt:
        print(f"{PROG}: stopped by SIGINT", file=sys.stderr)
        return 130


def deal_files(paths: List[str]) -> tuple:
    """The deal files PATHs name (a folder: its .waterfall files, sorted), and
    the PATHs that name nothing."""
    files, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*.waterfall")
                                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        elif p.exists():
            files.append(p)
        else:
            missing.append(p)
    return files, missing


def _report_missing(missing) -> None:
    for p in missing:
        print(f"{PROG}: error: no such file or folder: {p}", file=sys.stderr)


# ------------------------------------------------------------------ fmt
def _fmt(paths: List[str], check_only: bool) -> int:
    from dsl.format import FormatError, format_text
    files, missing = deal_files(paths)
    _report_missing(missing)
    errors, changed = bool(missing), 0
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as e:
            print(f"{PROG}: error: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            errors = True
            continue
        except UnicodeDecodeError as e:
            print(f"{path}: error: not UTF-8 text (byte {e.start}); the file is left as it is", file=sys.stderr)
            errors = True
            continue
        try:
            formatted = format_text(text, str(path))
        except DealError as e:
            print(e.render(), file=sys.stderr)
            errors = True
            continue
        except FormatError as e:
            print(f"{e}; the file is left as it is (a bug of '{PROG} fmt': please report it)", file=sys.stderr)
            errors = True
            continue
        if formatted == text:
            continue
        changed += 1
        if check_only:
            print(f"would reformat {path}")
            continue
        try:
            write_atomically(path, formatted.encode("utf-8"))
        except OSError as e:
            print(f"{PROG}: error: cannot write {path}: {e.strerror or e}; the file is left as it is",
                  file=sys.stderr)
            errors = True
            continue
        print(f"reformatted {path}")
    if errors:
        return 2
    return 1 if check_only and changed else 0


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file at ``path`` (through a symbolic link, to its target)
    with ``data``: written to a temporary file beside it with the file's mode,
    then renamed over it, so the file is whole, old or new, at every moment."""
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(os.stat(target).st_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------ check
def _check(paths: List[str]) -> int:
    from .cli import main as run_deal
    files, missing = deal_files(paths)
    _report_missing(missing)
    failed = bool(missing)
    for path in files:
        status = run_deal([str(path), "--check"])
        if status in (130, 143):  # stopped by a signal: stop here too
            return status
        failed = failed or status != 0
    return 2 if failed else 0


# ------------------------------------------------------------------ lsp
def _lsp() -> int:
    try:
        from .lsp import main as serve
    except ImportError:
        print(f"{PROG} lsp: the language server needs pip install 'waterfall-dsl[lsp]'", file=sys.stderr)
        return 2
    status = serve()
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
