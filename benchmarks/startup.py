"""The fixed start-up cost of `run-deal`, piece by piece, each in fresh processes.

    python benchmarks/startup.py [--repeat 7] [--deal deals/cwalt-2004-j4.waterfall]

Prints the median of each, in milliseconds:

* bare imports: a whole `python -c "import numpy, lark, attrs, yaml"` process;
* import interpreter.cli: the process, and the import alone after the bare imports;
* parse+check, cold: load_deal with an empty deal cache (Lark's tables cached),
  and on a first run ever (an empty cache folder: Lark builds its tables too);
* parse+check, warm: load_deal of a deal in the deal cache;
* assumptions: load_assumptions of the deal's YAML (import, then load);
* run-deal: the whole process, warm and cold, less the bare imports (the issue's measure).

Every run uses its own cache folder (WATERFALL_CACHE) in a temporary directory,
so the user's cache is neither read nor changed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = "import numpy, lark, attrs, yaml"

LOAD = """
import json, sys, time
import numpy, lark, attrs, yaml
t0 = time.perf_counter()
from dsl.check import load_deal
t1 = time.perf_counter()
deal = load_deal(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "lark imported": "dsl.parse" in sys.modules}))
"""

IMPORT_CLI = """
import json, time
import numpy, lark, attrs, yaml
t0 = time.perf_counter()
import interpreter.cli
print(json.dumps({"import": time.perf_counter() - t0}))
"""

ASSUMPTIONS = """
import json, sys, time
import numpy, lark, attrs, yaml
from dsl.check import load_deal
deal = load_deal(sys.argv[1])
t0 = time.perf_counter()
from interpreter.assumptions import load_assumptions
t1 = time.perf_counter()
load_assumptions(sys.argv[2], deal)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""


def run(cmd, env) -> tuple:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    try:
        inner = json.loads(last)
    except ValueError:
        inner = {}
    return wall, inner


def median(xs):
    return statistics.median(xs) * 1000.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--deal", default="deals/cwalt-2004-j4.waterfall")
    args = ap.parse_args()
    deal = args.deal
    yaml_path = str(Path(deal).with_suffix("")) + ".assumptions.yaml"
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="waterfall-startup-"))
    try:
        env = dict(os.environ)
        warm = work / "warm"
        env_warm = {**env, "WATERFALL_CACHE": str(warm)}
        run([py, "-c", LOAD, deal], env_warm)  # fills the cache: Lark's tables and the deal
        subprocess.run([py, "-m", "interpreter", deal], cwd=ROOT, env=env_warm, capture_output=True)  # kernels
        run([py, "-c", BARE], env)  # the OS file cache

        rows = []
        bare = [run([py, "-c", BARE], env)[0] for _ in range(args.repeat)]
        rows.append(("bare imports (process)", median(bare), ""))

        cli = [run([py, "-c", IMPORT_CLI], env_warm) for _ in range(args.repeat)]
        rows.append(("import interpreter.cli (process)", median([w for w, _ in cli]),
                     f"{median([w for w, _ in cli]) - median(bare):+.1f} over bare"))
        rows.append(("import interpreter.cli (after bare)", median([i["import"] for _, i in cli]), ""))

        def load(kind):
            out = []
            for k in range(args.repeat):
                if kind == "first":
                    e = {**env, "WATERFALL_CACHE": str(work / f"first-{k}")}
                else:
                    if kind == "cold":  # Lark's tables cached (Lark checks their path too), the deal not
                        shutil.rmtree(warm / "deals", ignore_errors=True)
                    e = env_warm
                out.append(run([py, "-c", LOAD, deal], e)[1])
            return out

        for kind, label in (("first", "parse+check, first run ever (empty cache)"),
                            ("cold", "parse+check, cold (deal not cached)"),
                            ("warm", "parse+check, warm (deal cached)")):
            if kind == "warm":
                run([py, "-c", LOAD, deal], env_warm)
            res = load(kind)
            rows.append((label, median([r["load"] for r in res]),
                         f"imports {median([r['import'] for r in res]):.1f}; Lark imported: "
                         f"{res[-1]['lark imported']}"))

        asm = [run([py, "-c", ASSUMPTIONS, deal, yaml_path], env_warm)[1] for _ in range(args.repeat)]
        rows.append(("assumptions load", median([a["load"] for a in asm]),
                     f"import {median([a['import'] for a in asm]):.1f}"))

        cmd = [py, "-m", "interpreter", deal]
        try:
            run(cmd, env_warm)
            whole_warm = [run(cmd, env_warm)[0] for _ in range(args.repeat)]
            rows.append(("run-deal (process, warm)", median(whole_warm),
                         f"{median(whole_warm) - median(bare):+.1f} over bare"))
            whole_cold = []
            for k in range(args.repeat):
                shutil.rmtree(warm / "deals", ignore_errors=True)
                whole_cold.append(run(cmd, env_warm)[0])
            rows.append(("run-deal (process, deal not cached)", median(whole_cold),
                         f"{median(whole_cold) - median(bare):+.1f} over bare"))
        except subprocess.CalledProcessError as e:
            rows.append(("run-deal", float("nan"), f"failed (exit {e.returncode}): {(e.stderr or '').strip()[-200:]}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{deal}, median of {args.repeat} (ms)"
          + ("; PYTHONDONTWRITEBYTECODE is set: our modules are compiled on every import"
             if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))
    for label, ms, note in rows:
        print(f"  {label:<45} {ms:8.1f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
