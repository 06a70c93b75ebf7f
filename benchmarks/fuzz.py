"""Fuzz the deal and assumptions readers with small random mutations.

Each case takes the bundled sequential CMO (``deals/sequential-cmo.waterfall``)
or its assumptions (``deals/sequential-cmo.assumptions.yaml``), applies one
mutation (delete, duplicate or swap a token; replace a number or a name;
delete or duplicate a line; see ``tests/errors/mutations.py``) and feeds the
result through the same path ``run-deal`` takes:

    parse + check            -> DealError is a handled outcome
    load_assumptions         -> DealError is a handled outcome
    engine.run               -> RunError is a handled outcome

Anything else that escapes is an *unhandled* exception: a traceback where the
user should have had a positioned diagnostic. Every DealError is also rendered
and its positions checked (a line inside the file, a column >= 1); a
diagnostic that points outside the file counts as *bad position*. Inputs that
load but ask for more than MAX_MONTHS months of projection are not run (they
would take minutes or gigabytes) and count as *absurd horizon*: the reader
should have refused them. The address space is capped so that a runaway
allocation raises MemoryError rather than waking the OOM killer.

Prints the counts of outcomes and, for each unhandled exception or bad
position, the mutation, a diff of the input and the traceback. Exits 1 if
there was any.

Run: python benchmarks/fuzz.py [--cases 10000] [--seed 0] [--target both|deal|yaml]
"""
from __future__ import annotations

import argparse
import collections
import difflib
import importlib.util
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.check import check  # noqa: E402
from dsl.diagnostics import DealError  # noqa: E402
from dsl.parse import parse  # noqa: E402
from interpreter.assumptions import load_assumptions  # noqa: E402
from interpreter.engine import RunError, run  # noqa: E402


def _load_mutations():
    spec = importlib.util.spec_from_file_location("waterfall_fuzz_mutations", ROOT / "tests" / "errors" / "mutations.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


M = _load_mutations()

DEAL_PATH = ROOT / "deals" / "sequential-cmo.waterfall"
YAML_PATH = ROOT / "deals" / "sequential-cmo.assumptions.yaml"
DEAL_TEXT = DEAL_PATH.read_text(encoding="utf-8")
YAML_TEXT = YAML_PATH.read_text(encoding="utf-8")

OUTCOMES = ("ran ok", "DealError (deal)", "DealError (assumptions)", "RunError", "unhandled", "bad position",
            "absurd horizon")
FAILING = ("unhandled", "bad position", "absurd horizon")

# A projection longer than this many months is not a mortgage deal: the inputs
# should have been refused (it would take minutes, or gigabytes, to run).
MAX_MONTHS = 1200


def months_asked(assumptions) -> int:
    """The longest run of months the assumptions ask the engine to project."""
    vals = [assumptions.horizon or 0, assumptions.recovery_lag or 0]
    for line in assumptions.lines:
        vals += [line.remaining_term, line.age, line.amort_term or 0, line.io_months, line.penalty_months]
    return max(vals)


def limit_memory(extra_bytes: int = 3 << 30) -> None:
    """Cap the address space at what is in use plus extra_bytes, so that a
    runaway allocation raises MemoryError instead of waking the OOM killer."""
    try:
        import resource
        with open("/proc/self/statm") as fh:
            in_use = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = in_use + extra_bytes
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, OSError, ValueError):
        pass


def check_positions(err: DealError, texts: dict) -> list:
    """Diagnostics of err that point outside their file, or render badly."""
    bad = []
    rendered = err.render()
    if "Traceback" in rendered:
        bad.append("rendered text holds a traceback")
    for d in err.diagnostics:
        text = texts.get(d.span.file)
        if text is None:
            continue
        n = max(len(text.splitlines()), 1)
        if not (1 <= d.span.line <= n + 1) or d.span.column < 1:
            bad.append(f"{d.span} is outside the file ({n} lines): {d.message}")
    return bad


class Runner:
    """Runs cases, memoising engine runs on the parsed inputs (many mutations
    leave the AST unchanged, e.g. a duplicated blank line)."""

    def __init__(self, workdir: Path, speeds=(1.0,)):
        self.workdir = workdir
        self.speeds = list(speeds)
        self.cache: dict = {}
        self.n = 0

    def _load_yaml(self, text: str, deal):
        self.n += 1
        p = self.workdir / f"case{self.n % 8}.assumptions.yaml"
        p.write_text(text, encoding="utf-8")
        return load_assumptions(str(p), deal), str(p)

    def case(self, deal_text: str, yaml_text: str) -> tuple:
        """(outcome, detail) for one input pair."""
        dpath = "deal.waterfall"
        try:
            deal = parse(deal_text, dpath)
            diags = check(deal)
            if diags:
                raise DealError(diags, {dpath: deal_text})
        except DealError as e:
            bad = check_positions(e, {dpath: deal_text if deal_text.endswith("\n") else deal_text + "\n"})
            return ("bad position", "\n".join(bad) + "\n" + e.render()) if bad else ("DealError (deal)", "")
        except Exception:  # noqa: BLE001 - the point of the exercise
            return "unhandled", "parse/check: " + traceback.format_exc()
        try:
            assumptions, ypath = self._load_yaml(yaml_text, deal)
        except DealError as e:
            ypath = str(self.workdir / f"case{self.n % 8}.assumptions.yaml")
            bad = check_positions(e, {ypath: yaml_text})
            return ("bad position", "\n".join(bad) + "\n" + e.render()) if bad else ("DealError (assumptions)", "")
        except Exception:  # noqa: BLE001
            return "unhandled", "load_assumptions: " + traceback.format_exc()
        key = (repr(_strip(deal)), repr(_strip_assumptions(assumptions)))
        if key in self.cache:
            return self.cache[key]
        if months_asked(assumptions) > MAX_MONTHS:
            out = ("absurd horizon", f"load_assumptions accepted {months_asked(assumptions):,} months "
                                     f"(> {MAX_MONTHS}); engine.run not attempted")
            self.cache[key] = out
            return out
        try:
            run(deal, assumptions, self.speeds)
            out = ("ran ok", "")
        except RunError:
            out = ("RunError", "")
        except Exception:  # noqa: BLE001
            out = ("unhandled", "engine.run: " + traceback.format_exc())
        self.cache[key] = out
        return out


def _strip(deal):
    import attrs
    return attrs.evolve(deal, source="", path="")


def _strip_assumptions(a):
    import attrs
    return attrs.evolve(a, path="")


def _diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"{name} (bundled)", f"{name} (mutated)", n=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="number of mutated inputs (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", choices=("both", "deal", "yaml"), default="both",
                    help="what to mutate (both: alternate)")
    ap.add_argument("--show", type=int, default=5, help="print at most this many failing inputs per outcome")
    args = ap.parse_args(argv)

    limit_memory()
    rng = random.Random(args.seed)
    counts = collections.Counter()
    by_target = {"deal": collections.Counter(), "yaml": collections.Counter()}
    failures = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="waterfall-fuzz-") as tmp:
        runner = Runner(Path(tmp))
        for k in range(args.cases):
            target = args.target if args.target != "both" else ("deal" if k % 2 == 0 else "yaml")
            if target == "deal":
                desc, text = M.random_mutation(DEAL_TEXT, rng)
                outcome, detail = runner.case(text, YAML_TEXT)
                diff = _diff(DEAL_TEXT, text, DEAL_PATH.name)
            else:
                desc, text = M.random_mutation(YAML_TEXT, rng)
                outcome, detail = runner.case(DEAL_TEXT, text)
                diff = _diff(YAML_TEXT, text, YAML_PATH.name)
            counts[outcome] += 1
            by_target[target][outcome] += 1
            if outcome in FAILING:
                failures.append((k, target, desc, diff, detail, outcome))
    elapsed = time.perf_counter() - t0

    shown = collections.Counter()
    seen_sigs = set()
    for k, target, desc, diff, detail, outcome in failures:
        sig = (outcome, detail.strip().splitlines()[-1] if detail.strip() else "")
        if sig in seen_sigs or shown[outcome] >= args.show:
            continue
        seen_sigs.add(sig)
        shown[outcome] += 1
        print(f"---- case {k}: {outcome} from {target} mutation {desc}")
        print(diff.rstrip("\n"))
        print(detail.rstrip("\n"))
        print()

    print(f"cases={args.cases} seed={args.seed} seconds={elapsed:.1f} engine runs={len(runner.cache)}")
    width = max(len(o) for o in OUTCOMES)
    print(f"{'outcome':<{width}}  {'total':>7}  {'deal':>7}  {'yaml':>7}")
    for o in OUTCOMES:
        print(f"{o:<{width}}  {counts[o]:>7}  {by_target['deal'][o]:>7}  {by_target['yaml'][o]:>7}")
    bad = sum(counts[o] for o in FAILING)
    if bad:
        print("FAIL: " + ", ".join(f"{counts[o]} {o}" for o in FAILING))
        return 1
    print("ok: every mutation ended in a result, a DealError or a RunError")
    return 0


if __name__ == "__main__":
    sys.exit(main())
