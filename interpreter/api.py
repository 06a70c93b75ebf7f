"""The Python API, for notebooks and scripts (docs/api.md):

    from interpreter import load
    deal = load("deals/cwalt-2004-j4.waterfall")   # the deal and its assumptions, checked
    run = deal.run(speeds=[80, 100], to="maturity")
    run.table()            # the term-sheet figures: the rows of run-deal --format json
    run.cashflows("2-A")   # one class's cashflows, per period and scenario
    deal.grid("speed=50..300/50 cdr=0,5,10")

Tables come back as pandas DataFrames when pandas is installed (the ``pandas``
extra), else as numpy record arrays with the same columns. Every failure an
input causes (the deal, the assumptions, an argument) raises ``WaterfallError``,
which carries the positioned diagnostics (``.diagnostics``, ``.render()``).
run-deal loads deals through ``load_files`` here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import attrs
import numpy as np

from dsl import ast as A
from dsl.diagnostics import DealError

from .assumptions import Assumptions, load_assumptions
from .errors import RunError, UsageError
from .reach import check_reach

# The figures of one class x speed x mode, as run-deal's JSON gives them.
TABLE_KEYS = ("class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
              "first_principal", "last_principal")
# One class's records, per period (RunResult's fields of those names).
CASHFLOW_KEYS = ("begin_balance", "interest", "principal", "carryover_paid", "loss_reimbursed", "writedown",
                 "balance", "notional", "rate", "cap", "accreted")


class WaterfallError(DealError):
    """An input the API cannot use: the deal, its assumptions or an argument.
    ``diagnostics`` holds the positioned messages (empty for a run that
    failed for another reason, said in the message)."""

    def __init__(self, diagnostics=(), sources=None, message: str = ""):
        self.message = message  # before DealError's own __init__, which renders
        super().__init__(list(diagnostics), sources)

    def render(self) -> str:
        return self.message if self.message and not self.diagnostics else super().render()

    def __str__(self) -> str:
        return self.render()


def _run_error(e: RunError) -> WaterfallError:
    """A run that failed: at its line of the deal when the deal caused it (a
    step that left cash in a fund, a table too short), as run-deal shows it."""
    span = getattr(e, "span", None)
    if span is None or span.line <= 0:
        return WaterfallError(message=str(e))
    from dsl.diagnostics import Diagnostic
    try:
        source = Path(span.file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        source = None
    return WaterfallError([Diagnostic(span, str(e), hint=e.hint)], {span.file: source} if source else {})


def assumptions_path(deal_path: Union[str, Path]) -> str:
    """The assumptions file beside a deal: ``<deal>.assumptions.yaml``."""
    return str(Path(deal_path).with_suffix("")) + ".assumptions.yaml"


def load_files(path: Union[str, Path], assumptions: Optional[Union[str, Path]] = None) -> tuple:
    """(the checked deal, its assumptions, the assumptions' path); raises DealError."""
    from dsl.check import load_deal
    deal = load_deal(str(path))
    apath = str(assumptions) if assumptions is not None else assumptions_path(path)
    return deal, load_assumptions(apath, deal), apath


def load(path: Union[str, Path], assumptions: Optional[Union[str, Path]] = None) -> "Deal":
    """A deal file and its assumptions (default: the ``.assumptions.yaml``
    beside it), parsed and checked."""
    try:
        deal, a, apath = load_files(path, assumptions)
        check_reach(deal, a)  # as run-deal does: tables and the settlement date against the horizon
    except WaterfallError:
        raise
    except DealError as e:
        raise WaterfallError(e.diagnostics, e.sources) from None
    except OSError as e:
        raise WaterfallError(message=f"{getattr(e, 'filename', None) or path}: {e.strerror or e}") from None
    return Deal(deal, a, str(path), apath)


def _frame(columns: Dict[str, list]):
    """A pandas DataFrame if pandas is there, else a numpy record array."""
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        return pd.DataFrame(columns)
    arrays = []
    for values in columns.values():
        a = np.asarray(values)
        if a.dtype == object:  # None among numbers: NaN; else text
            try:
                a = np.array([np.nan if v is None else v for v in values], dtype=float)
            except (TypeError, ValueError):
                a = np.array(["" if v is None else str(v) for v in values])
        arrays.append(a)
    return np.rec.fromarrays(arrays, names=list(columns)) if arrays else np.rec.array([])


@attrs.frozen
class Deal:
    """A checked deal and its assumptions."""
    ast: A.Deal
    assumptions: Assumptions
    path: str
    assumptions_path: str

    @property
    def name(self) -> str:
        return self.ast.name

    @property
    def classes(self) -> List[str]:
        return [c.name for c in self.ast.classes]

    def run(self, speeds: Optional[Sequence[float]] = None, to: Union[str, Sequence[str]] = "maturity",
            prices: Optional[Dict[str, float]] = None, engine: Optional[str] = None) -> "Run":
        """Run at ``speeds`` (percents of the pricing speed; default: the
        assumptions' table speeds) to ``to`` ('maturity', an event that retires
        the classes, or a list of both), pricing at ``prices`` ({class: price
        per 100}; default par)."""
        from .engine import run
        from .report.analyze import analyze
        modes = [to] if isinstance(to, str) else list(to)
        events = [e.name for e in self.ast.events]
        for m in modes:
            if m != "maturity" and m not in events:
                raise WaterfallError(message=f"unknown 'to' {m!r}: use maturity or one of the deal's events "
                                             f"({', '.join(events) or 'none'})")
        unknown = sorted(set(prices or {}) - set(self.classes))
        if unknown:
            raise WaterfallError(message=f"prices: no class {', '.join(unknown)} in {self.name}")
        pct = list(self.assumptions.speeds) if speeds is None else [float(s) / 100.0 for s in speeds]
        try:
            result = run(self.ast, self.assumptions, pct, to=modes, engine=engine)
            rows = analyze(result, dict(prices or {}))
        except DealError as e:
            raise WaterfallError(e.diagnostics, e.sources) from None
        except RunError as e:
            raise _run_error(e) from None
        except UsageError as e:
            raise WaterfallError(message=str(e)) from None
        return Run(self, result, list(rows))

    def grid(self, spec: str, to: Union[str, Sequence[str]] = "maturity",
             prices: Optional[Dict[str, float]] = None):
        """A scenario grid (run-deal --grid's SPEC: speeds, CDR, severity,
        index shifts as axes), one row per class x scenario."""
        from .grid import GridError, run_grid
        modes = (to,) if isinstance(to, str) else tuple(to)
        try:
            out = run_grid(self.ast, self.assumptions, spec, to=modes, prices=dict(prices or {}))
        except GridError as e:
            raise WaterfallError(message=f"grid: {e}") from None
        except DealError as e:
            raise WaterfallError(e.diagnostics, e.sources) from None
        except RunError as e:
            raise _run_error(e) from None
        return _frame(out["columns"])


@attrs.frozen
class Run:
    """One run of a deal: every speed x mode as a scenario."""
    deal: Deal
    result: object  # waterfall.records.RunResult
    rows: list  # report.analyze's rows, one per class x scenario

    def table(self):
        """The term-sheet figures, one row per class x mode x speed (run-deal's JSON rows)."""
        return _frame({k: [r[k] for r in self.rows] for k in TABLE_KEYS})

    def cashflows(self, cls: str):
        """Class ``cls``'s records per period and scenario: scenario, speed_pct,
        to, period, date, then CASHFLOW_KEYS."""
        r = self.result
        names = list(r.class_names)
        if cls not in names:
            from dsl.diagnostics import did_you_mean
            raise WaterfallError(message=f"no class {cls!r} in {self.deal.name}. {did_you_mean(cls, names)}".strip())
        c = names.index(cls)
        T, S = len(r.dates), len(r.speeds)
        cols: Dict[str, list] = {
            "scenario": np.repeat(np.arange(S), T),
            "speed_pct": np.repeat(np.asarray(r.speeds, dtype=float) * 100.0, T),
            "to": np.repeat(np.array(r.modes, dtype=str), T),
            "period": np.tile(np.arange(1, T + 1), S),
            "date": np.tile(np.array(r.dates, dtype="datetime64[D]"), S),
        }
        for k in CASHFLOW_KEYS:
            cols[k] = np.asarray(getattr(r, k))[:, c, :].T.reshape(-1)  # (T, S) -> scenario-major rows
        return _frame(cols)
