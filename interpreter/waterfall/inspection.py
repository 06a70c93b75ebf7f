"""What ``run-deal --inspect`` can show: every defined term, event, account,
contract, class field and group field of a deal, each as an operation of the
period program (``program.Inspection``), so both engines evaluate it as they
evaluate the deal's own formulas and nothing is decided twice.

A program carries its inspections only when a run asks for them
(``with_inspections``): the kernel of a run without --inspect is the one it
always was, with no code for them.
"""
from __future__ import annotations

from . import program as P

# A class's fields read from the state (rate and cap are the run's records:
# run-deal takes them from RunResult.rate / .cap).
CLASS_FIELDS = ("balance", "unpaid_interest", "unpaid_carryover", "unpaid_losses")
NOTIONAL_FIELDS = ("notional",)
RECORD_FIELDS = ("rate", "cap")
GROUP_FIELDS = ("pool_balance", "net_wac", "interest", "principal", "loss", "cumulative_loss", "delinquency")


def _class_ops(c: int) -> dict:
    one = (c,)
    return {
        "balance": P.ClassSum(P.ClassField.BALANCE, one),
        # what the class is owed after the period: older shortfalls and this period's unpaid interest
        "unpaid_interest": P.Arith("+", P.ClassSum(P.ClassField.SHORTFALL, one),
                                   P.ClassSum(P.ClassField.CURRENT_DUE, one)),
        "unpaid_carryover": P.ClassSum(P.ClassField.CARRYOVER, one),
        "unpaid_losses": P.ClassSum(P.ClassField.UNPAID_LOSS, one),
    }


def _group_ops(g) -> dict:
    flow = lambda f: P.GroupFlow(f, g)  # noqa: E731
    return {
        "pool_balance": flow("end_balance"),
        "net_wac": P.Wac(True, g),
        "interest": flow("net_interest"),
        "principal": P.Arith("+", P.Arith("+", flow("scheduled_principal"), flow("prepayment")), flow("recovery")),
        "loss": flow("loss"),
        "cumulative_loss": P.CumulativeLoss(g),
        "delinquency": P.Delinquency(g),
    }


def group_prefix(name) -> str:
    return f"group_{name}"


def inspections(program: P.Program) -> tuple:
    """Every value of the deal a run can show, in the deal's order: defined
    terms, events, accounts, contracts, then each class's and each group's
    fields (``CLASS.field``, ``group_G.field``, ``pool.field`` for all groups)."""
    out = [P.Inspection(f.name, P.Formula(k, f.span)) for k, f in enumerate(program.formulas)]
    out += [P.Inspection(name, P.Event(P.EventTest.SINCE, k), event=True)
            for k, name in enumerate(program.layout.events)]
    out += [P.Inspection(name, P.AccountBalance(fund))
            for name, fund in zip(program.layout.accounts, program.layout.account_funds)]
    out += [P.Inspection(name, P.ContractPaid(k)) for k, name in enumerate(program.layout.contracts)]
    for c, decl in enumerate(program.classes):
        if decl.notional:
            out.append(P.Inspection(f"{decl.name}.notional", P.Notional(c)))
        elif not decl.residual:
            out += [P.Inspection(f"{decl.name}.{field}", op) for field, op in _class_ops(c).items()]
    for g, name in enumerate(program.groups):
        out += [P.Inspection(f"{group_prefix(name)}.{field}", op) for field, op in _group_ops(g).items()]
    # pool.FIELD on every deal (on a one-group deal, the group's own figures): a
    # name the user can give without first counting the deal's groups
    out += [P.Inspection(f"pool.{field}", op) for field, op in _group_ops(None).items()]
    return tuple(out)


def with_inspections(program: P.Program) -> P.Program:
    """The program with its inspections: a different structure, so a different kernel."""
    return program._replace(inspections=inspections(program), source_key=program.source_key and program.source_key + "\0inspect")
