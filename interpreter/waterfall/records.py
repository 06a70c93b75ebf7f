"""A run's records: what every class was paid and owed, period by period,
for every scenario (the numpy engine fills them by name, the C kernel by the
position of each in ``program.CLASS_RECORDS``)."""
from __future__ import annotations

from typing import Optional

import attrs
import numpy as np

from dsl import ast as A

from .numpy_ops import rowsum


@attrs.frozen(eq=False)
class RunResult:
    deal: A.Deal
    speeds: np.ndarray  # (S,) multiples of the pricing speed
    modes: tuple  # (S,) 'maturity' or the name of the event the scenario runs to
    dates: tuple  # distribution dates, len T
    class_names: tuple
    interest: np.ndarray  # (T, C, S) interest paid (residual classes: cash released)
    principal: np.ndarray  # (T, C, S)
    carryover_paid: np.ndarray  # (T, C, S)
    loss_reimbursed: np.ndarray  # (T, C, S)
    writedown: np.ndarray  # (T, C, S)
    balance: np.ndarray  # (T, C, S) end of period
    begin_balance: np.ndarray  # (T, C, S)
    notional: np.ndarray  # (T, C, S) notional of IO classes (0 for others)
    rate: np.ndarray  # (T, C, S) pass-through rate applied
    cap: np.ndarray  # (T, C, S) the class's cap (NaN for a class without one)
    coupon: np.ndarray  # (T, C, S) the coupon before the cap (what accrued interest at settlement reads)
    accreted: np.ndarray  # (T, C, S) interest added to the balance of accrual classes
    accounts: np.ndarray  # (T, A, S) account balances at the end of each period
    account_names: tuple
    contracts: np.ndarray  # (T, K, S) what each contract paid into the deal
    contract_names: tuple
    index_path: dict  # name -> (S, T)
    collateral: dict  # group -> GroupFlows
    clause_paid: np.ndarray  # (T, K, S) cash paid by each clause
    clause_labels: tuple
    trace: Optional[list] = None  # with run(trace=True): every payment with its clause and deal-file line
    sold_period: Optional[np.ndarray] = None  # (S,) period index in which the collateral was sold, -1 if never
    # A lean run (run(keep='lean'), for grids) keeps only what the analytics read:
    # principal and cash_paid by period, rate, coupon and notional of the first period
    # (shape (1, C, S)) and write-down totals; the other records are None.
    lean: bool = False
    cash_paid: Optional[np.ndarray] = None  # (T, C, S) everything a class receives (lean runs)
    writedowns: Optional[np.ndarray] = None  # (C, S) total write-downs of each class
    unpaid_interest: Optional[np.ndarray] = None  # (T, C, S) interest owed and not paid at the end of each period
    # With run(inspect=True): every value of program.Inspection, (T, V, S), after each
    # period's waterfall and losses, and the inspections (names, operations) themselves.
    inspected: Optional[np.ndarray] = None
    inspections: tuple = ()
    # With run(keep_lines_after=...): {period: collateral.projection.LineState}, the
    # collateral lines' own state after it (what a deal state carries).
    line_states: Optional[dict] = None
    pending: Optional[np.ndarray] = None  # (S, T) recoveries still to come on defaulted loans (all groups, floored at 0)
    program: Optional[object] = None  # the period program the run ran (program.Program), for the linter

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    def cls(self, name: str) -> int:
        return self.class_names.index(name)

    def cash(self) -> np.ndarray:
        """(T, C, S) everything a class receives."""
        if self.cash_paid is not None:
            return self.cash_paid
        return self.interest + self.principal + self.carryover_paid + self.loss_reimbursed

    def writedown_total(self) -> np.ndarray:
        """(C, S) each class's write-downs over the run."""
        if self.writedowns is not None:
            return self.writedowns
        return rowsum(self.writedown)


# ------------------------------------------------------------------ the numpy engine's steps
