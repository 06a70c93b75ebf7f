"""A newcomer's first command: how much longer the first `run-deal` takes than the next ones.

    python benchmarks/first_run.py [--repeat 3] [--deal deals/cwalt-2004-j4.waterfall] [--fresh-package]

Each trial: WATERFALL_CACHE set to a new empty folder; the wall time of
`python -m interpreter DEAL`; then two more runs with that cache; the figure is
the first run's time less the faster of the next two. Printed per trial, and
the median over ``--repeat`` trials. Before each next trial the background
build the first run started (the deal's kernel, for the next run) is waited
for, so trials do not overlap.

What is not in the cache is what a checkout or an install holds: Lark's tables
(shipped, ``grammar/waterfall.tables.json.gz``) and the fixed kernels' libraries
(built into the package, ``interpreter/kernels``, by the first run ever or by
``python -m interpreter.native.fixed``). ``--fresh-package`` also removes those
libraries before each trial: a fresh checkout's very first run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "interpreter" / "kernels"


def timed(deal: str, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "interpreter", deal], check=True, stdout=subprocess.DEVNULL, env=env,
                   cwd=ROOT)
    return time.perf_counter() - t0


def wait_for_builds(folders, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not any(p.name.endswith(".building.tmp") for f in folders if f.is_dir() for p in f.iterdir()):
            return
        time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--deal", default="deals/cwalt-2004-j4.waterfall")
    ap.add_argument("--fresh-package", action="store_true",
                    help="remove the fixed kernels' libraries kept in the package before each trial")
    args = ap.parse_args()
    figures = []
    for i in range(args.repeat):
        if args.fresh_package:
            for p in list(KERNELS.glob("*.so")) + list(KERNELS.glob("*.sha256")):
                p.unlink()
        cache = tempfile.mkdtemp(prefix="waterfall-first-run-")
        env = dict(os.environ, WATERFALL_CACHE=cache, PYTHONPATH=str(ROOT))
        for k in ("WATERFALL_ENGINE", "WATERFALL_QUICK_START"):
            env.pop(k, None)
        try:
            first = timed(args.deal, env)
            wait_for_builds([Path(cache) / "c", KERNELS])
            warm = [timed(args.deal, env) for _ in range(2)]
        finally:
            wait_for_builds([Path(cache) / "c", KERNELS])
            shutil.rmtree(cache, ignore_errors=True)
        figure = first - min(warm)
        figures.append(figure)
        print(f"trial {i + 1}: first {first:.2f} s, next {warm[0]:.2f} / {warm[1]:.2f} s, difference {figure:.2f} s",
              flush=True)
    print(f"first run minus warm run: median {statistics.median(figures):.2f} s over {len(figures)} "
          f"(target <= 1.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
