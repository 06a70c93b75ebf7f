"""Fuzz the deal and assumptions readers, the run and its reports with small random mutations.

Each case takes one of the bundled deals and its assumptions (``deals/*.waterfall``,
every one in turn), applies one mutation to the deal or to the YAML and feeds the
result through the path ``run-deal`` takes. The mutations: delete, duplicate or
swap a token; replace a number or a name; delete or duplicate a line (those of
``tests/errors/mutations.py``); and, here, replace a date, change a line's
indentation, swap two clauses of the waterfall, and splice lines of another
bundled deal (or assumptions file) in.

    parse + check            -> DealError is a handled outcome (an input error)
    load_assumptions         -> DealError is a handled outcome
    reach.check_reach        -> DealError (a table too short for the horizon, a
                                settlement past the last payment): an input error
    engine.run               -> RunError is a handled outcome when positioned at
                                the deal line that caused it (cash a step left)
    lint, analyze, tables    -> warnings; figures printed

The outcomes by class: *ran ok*; *input error* (deal, assumptions: every
diagnostic inside its file, else *bad position*); *run error, positioned*; and
the failures: *run error without a position* (an input mistake must be a
positioned input error, and a run-time condition must name the step's line),
*unhandled* (a traceback where the user should have had a
diagnostic), *bad position*, *hang* (a case over ``--timeout`` seconds),
*inf/NaN figure* (a table printing inf or nan), *absurd horizon* (inputs that
load but ask for more than MAX_MONTHS months: the reader should have refused
them). The address space is capped so that a runaway allocation raises
MemoryError rather than waking the OOM killer.

Prints the counts of outcomes and, for each failure, the mutation, a diff of the
input and the traceback (for a positioned run error, not a failure, its message).
Exits 1 if there was any failure.

Run: python benchmarks/fuzz.py [--cases 10000] [--seed 0] [--target both|deal|yaml] [--deal NAME]
"""
from __future__ import annotations

import argparse
import collections
import re
import signal
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
from interpreter.lint import lint  # noqa: E402
from interpreter.reach import check_reach  # noqa: E402
from interpreter.report.analyze import analyze  # noqa: E402
from interpreter.report.tables import format_summary, format_tables  # noqa: E402


def _load_mutations():
    spec = importlib.util.spec_from_file_location("waterfall_fuzz_mutations", ROOT / "tests" / "errors" / "mutations.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


M = _load_mutations()

DEALS = sorted(p.stem for p in (ROOT / "deals").glob("*.waterfall"))
TEXTS = {name: ((ROOT / "deals" / f"{name}.waterfall").read_text(encoding="utf-8"),
                (ROOT / "deals" / f"{name}.assumptions.yaml").read_text(encoding="utf-8")) for name in DEALS}

OUTCOMES = ("ran ok", "input error (deal)", "input error (assumptions)", "run error, positioned",
            "run error without a position", "unhandled", "bad position", "hang", "inf/NaN figure",
            "absurd horizon")
# A run error without a position is a failure: an input mistake must be a
# positioned input error, and a run-time condition must name the step's line.
FAILING = ("run error without a position", "unhandled", "bad position", "hang", "inf/NaN figure",
           "absurd horizon")
# Shown with their input and message, as the failures are, but not failures:
# what a run error at its line was is worth reading (is it the deal's mistake?).
SHOWN = ("run error, positioned",)
NON_FINITE = re.compile(r"\b(?:inf|nan)\b", re.I)

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


# ------------------------------------------------------------------ mutations beyond tests/errors/mutations.py
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
EDGE_DATES = ("0001-01-01", "9999-12-31", "2024-02-29", "2023-02-29", "2024-13-01", "2024-00-10", "1900-01-01",
              "2024-04-31", "2100-01-25", "1970-01-01")


def replace_date(text: str, rng: random.Random) -> tuple:
    dates = list(DATE_RE.finditer(text))
    if not dates:
        return "replace date (none)", text
    m = rng.choice(dates)
    new = rng.choice(EDGE_DATES) if rng.random() < 0.5 else \
        f"{rng.randrange(1990, 2060):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    return f"replace date {m.group()!r} -> {new!r}", text[:m.start()] + new + text[m.end():]


def reindent(text: str, rng: random.Random) -> tuple:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    body = lines[i].lstrip(" \t")
    new = rng.choice(("", " ", "  ", "    ", "        ", "\t", "   ", "            ")) + body
    lines[i] = new
    return f"reindent line {i + 1} to {len(new) - len(body)}", "\n".join(lines)


def swap_clauses(text: str, rng: random.Random) -> tuple:
    """Two clause blocks of the waterfall (each 'clause' line and its indented lines) swapped."""
    lines = text.split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("clause ")]
    if len(starts) < 2:
        return "swap clauses (fewer than two)", text
    a, b = sorted(rng.sample(range(len(starts)), 2))

    def block(k):
        i = starts[k]
        ind = len(lines[i]) - len(lines[i].lstrip())
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > ind):
            j += 1
        return i, j
    (i0, i1), (j0, j1) = block(a), block(b)
    if i1 > j0:
        return "swap clauses (overlap)", text
    out = lines[:i0] + lines[j0:j1] + lines[i1:j0] + lines[i0:i1] + lines[j1:]
    return f"swap clauses {a + 1} and {b + 1}", "\n".join(out)


def splice(text: str, rng: random.Random, other: str) -> tuple:
    """Lines of another bundled file in place of some of this one's."""
    mine, theirs = text.split("\n"), other.split("\n")
    i = rng.randrange(len(mine))
    k = rng.randrange(len(theirs))
    n = rng.randrange(1, 12)
    out = mine[:i] + theirs[k:k + n] + mine[i + rng.randrange(0, 6):]
    return f"splice {n} lines from line {k + 1} in at line {i + 1}", "\n".join(out)


def mutate(name: str, target: str, rng: random.Random) -> tuple:
    deal, yaml = TEXTS[name]
    text = deal if target == "deal" else yaml
    r = rng.random()
    if r < 0.55:
        desc, new = M.random_mutation(text, rng)
    elif r < 0.67:
        desc, new = replace_date(text, rng)
    elif r < 0.79:
        desc, new = reindent(text, rng)
    elif r < 0.87 and target == "deal":
        desc, new = swap_clauses(text, rng)
    else:
        other = TEXTS[rng.choice(DEALS)][0 if target == "deal" else 1]
        desc, new = splice(text, rng, other)
    return (new, yaml, desc) if target == "deal" else (deal, new, desc)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


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
            return ("bad position", "\n".join(bad) + "\n" + e.render()) if bad else ("input error (deal)", "")
        except Hang:
            raise
        except Exception:  # noqa: BLE001 - the point of the exercise
            return "unhandled", "parse/check: " + traceback.format_exc()
        try:
            assumptions, ypath = self._load_yaml(yaml_text, deal)
        except DealError as e:
            ypath = str(self.workdir / f"case{self.n % 8}.assumptions.yaml")
            bad = check_positions(e, {ypath: yaml_text})
            return ("bad position", "\n".join(bad) + "\n" + e.render()) if bad else ("input error (assumptions)", "")
        except Hang:
            raise
        except Exception:  # noqa: BLE001
            return "unhandled", "load_assumptions: " + traceback.format_exc()
        try:
            check_reach(deal, assumptions)  # as run-deal does once the assumptions are read
        except DealError as e:
            bad = check_positions(e, {dpath: deal_text if deal_text.endswith("\n") else deal_text + "\n"})
            return ("bad position", "\n".join(bad) + "\n" + e.render()) if bad else ("input error (deal)", "")
        except Hang:
            raise
        except Exception:  # noqa: BLE001
            return "unhandled", "check_reach: " + traceback.format_exc()
        key = (repr(_strip(deal)), repr(_strip_assumptions(assumptions)))
        if key in self.cache:
            return self.cache[key]
        if months_asked(assumptions) > MAX_MONTHS:
            out = ("absurd horizon", f"load_assumptions accepted {months_asked(assumptions):,} months "
                                     f"(> {MAX_MONTHS}); engine.run not attempted")
            self.cache[key] = out
            return out
        try:
            modes = [deal.header.table_event, "maturity"] if deal.header.table_event else ["maturity"]
            result = run(deal, assumptions, self.speeds, to=modes)
            lint(deal, assumptions, result)
            rows = analyze(result)
            text = format_summary(deal, result, rows, modes) + format_tables(deal, result, rows, modes)
            out = ("inf/NaN figure", text) if NON_FINITE.search(text) else ("ran ok", "")
        except RunError as e:
            span = getattr(e, "span", None)
            out = ("run error, positioned", f"{span}: {e}") if span is not None and span.line > 0 else \
                ("run error without a position", "engine.run: " + traceback.format_exc())
        except Hang:
            raise
        except Exception:  # noqa: BLE001
            out = ("unhandled", "run/lint/analyze: " + traceback.format_exc())
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
    ap.add_argument("--deal", choices=DEALS, help="only this bundled deal (default: each in turn)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a case may take before it is a hang")
    ap.add_argument("--show", type=int, default=5, help="print at most this many failing inputs per outcome")
    args = ap.parse_args(argv)

    limit_memory()
    rng = random.Random(args.seed)
    counts = collections.Counter()
    by_target = {"deal": collections.Counter(), "yaml": collections.Counter()}
    failures = []
    signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="waterfall-fuzz-") as tmp:
        runner = Runner(Path(tmp))
        for k in range(args.cases):
            target = args.target if args.target != "both" else ("deal" if k % 2 == 0 else "yaml")
            name = args.deal or DEALS[(k // 2) % len(DEALS)]
            deal_text, yaml_text, desc = mutate(name, target, rng)
            desc = f"{name}: {desc}"
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
            try:
                outcome, detail = runner.case(deal_text, yaml_text)
            except Hang:
                outcome, detail = "hang", f"over {args.timeout:g} s"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            base = TEXTS[name][0 if target == "deal" else 1]
            diff = _diff(base, deal_text if target == "deal" else yaml_text,
                         f"{name}.waterfall" if target == "deal" else f"{name}.assumptions.yaml")
            counts[outcome] += 1
            by_target[target][outcome] += 1
            if outcome in FAILING or outcome in SHOWN:
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
        note = "" if outcome in FAILING else " (not a failure)"
        print(f"---- case {k}: {outcome}{note} from {target} mutation {desc}")
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
    print("ok: every mutation ended in a result, a positioned input error or a positioned run error; "
          "no hang, no inf or NaN")
    return 0


if __name__ == "__main__":
    sys.exit(main())
