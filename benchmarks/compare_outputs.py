"""Every bundled deal's outputs, here and at another commit, compared number by number.

    python benchmarks/compare_outputs.py [--against REF] [--rtol 1e-9]

For each deal in deals/ and each engine (numpy, c), runs `run-deal` with
``--format json`` (the tables, unrounded) and, on numpy (which keeps the
payment ledger), ``--cashflows`` (every class's, the collateral's, the clause
ledger's and the payments' CSV), once in this work
tree and once in a temporary checkout of REF (default: HEAD~1), and compares
them: text cells must be equal, numbers equal to ``rtol`` relative (and 1e-9
absolute near zero). Prints one line per deal and engine, then every cell
that differs; exits 1 if any does. A refactor that must not change what a
user sees (issue 14) is checked with it against the commit before.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(tree: Path, deal: Path, engine: str, out: Path) -> dict:
    """JSON tables and cashflow files of one deal, run from ``tree``'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree), "WATERFALL_ENGINE": engine}
    cmd = [sys.executable, "-m", "interpreter", str(deal), "--format", "json"]
    if engine == "numpy":  # the cashflow files carry the payment ledger, which the numpy engine keeps
        cmd += ["--cashflows", str(out)]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    files = {}
    for f in sorted(out.glob("*.csv")):
        with open(f, newline="") as fh:
            files[f.name] = list(csv.reader(fh))
    return {"json": json.loads(proc.stdout), "files": files}


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def differences(a, b, rtol: float, where: str = ""):
    """Cells of ``a`` and ``b`` (nested dicts, lists, strings, numbers) that differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                yield f"{where}/{k}: only in {'this tree' if k in a else 'the other'}"
            else:
                yield from differences(a[k], b[k], rtol, f"{where}/{k}")
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} rows here, {len(b)} there"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, rtol, f"{where}[{i}]")
        return
    x, y = _num(a), _num(b)
    if x is not None and y is not None and not isinstance(a, bool):
        if (math.isnan(x) and math.isnan(y)) or x == y:
            return
        if abs(x - y) <= rtol * max(abs(x), abs(y)) + 1e-9:
            return
        yield f"{where}: {a!r} here, {b!r} there"
    elif a != b:
        yield f"{where}: {a!r} here, {b!r} there"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--against", default="HEAD~1", help="the commit to compare with (default HEAD~1)")
    p.add_argument("--rtol", type=float, default=1e-9)
    p.add_argument("--deal", action="append", help="only these deals (default: every deal in deals/)")
    args = p.parse_args()
    deals = [Path(d).resolve() for d in args.deal] if args.deal else sorted((ROOT / "deals").glob("*.waterfall"))
    bad = 0
    with tempfile.TemporaryDirectory(prefix="compare-outputs-") as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.against], cwd=ROOT, check=True)
        try:
            for deal in deals:
                rel = deal.relative_to(ROOT) if deal.is_relative_to(ROOT) else deal
                for engine in ("numpy", "c"):
                    here = run(ROOT, deal, engine, Path(tmp) / f"{deal.stem}-{engine}-here")
                    there = run(other, other / rel if deal.is_relative_to(ROOT) else deal, engine,
                                Path(tmp) / f"{deal.stem}-{engine}-there")
                    diffs = list(differences(here, there, args.rtol))
                    if "error" in here or "error" in there:
                        diffs.insert(0, f"run failed: {here.get('error') or there.get('error')}")
                    cells = sum(len(r) for rows in here.get("files", {}).values() for r in rows)
                    print(f"{deal.name:32} {engine:6} {'equal' if not diffs else f'{len(diffs)} differ'}"
                          f" ({cells:,} cashflow cells, {len(here.get('json', {}).get('tables', []))} table rows)")
                    for d in diffs[:20]:
                        print("    " + d)
                    bad += bool(diffs)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
