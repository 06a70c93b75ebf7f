"""What-if runs without editing the deal file: ``run-deal DEAL --set
1-A-3.coupon=4.10% --set 1-A-3.balance=60,000,000 --set NAME=VALUE``.

A class's balance and fixed coupon, and the deal's parameters, are numbers
of the deal: the period program takes them as run-time inputs, so a what-if
compiles nothing. Each value is checked as the deal file checks it: a
balance is an amount, a coupon a rate (``%`` or ``bp``), a parameter the
unit of its default; an unknown class, field or parameter gets "did you mean".
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import List, Optional, Tuple

import attrs

from dsl import ast as A
from dsl.diagnostics import did_you_mean

from ..errors import UsageError

FIELDS = ("balance", "coupon")
_NUMBER = re.compile(r"^\s*(-?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?)\s*(%|bp)?\s*$")


def read_value(text: str, unit: str, what: str) -> Tuple[float, str]:
    """(value, unit) of a number as the deal file writes it: ``unit`` '%' wants
    a rate (``4.10%``, ``25bp``), '$' an amount (``60,000,000``), '' a bare number
    (or a rate, as an assumptions file may give a parameter)."""
    m = _NUMBER.match(text)
    if not m or not m.group(1) or m.group(1) in ("-", "."):
        example = {"%": "4.10%", "$": "60,000,000"}.get(unit, "2")
        raise UsageError(f"{what}: cannot read {text!r} as a number (e.g. {example})")
    digits, given = m.group(1).replace(",", ""), m.group(2) or ""
    if unit == "%" and not given:
        raise UsageError(f"{what}: {text!r} has no unit: a rate is written with % or bp (e.g. {text.strip()}%)")
    if unit == "$" and given:
        raise UsageError(f"{what}: {text!r} is a rate where an amount is due (e.g. 60,000,000)")
    scale = {"%": 100, "bp": 10000}.get(given, 1)
    value = float(Decimal(digits) / scale)  # "4.10%" is the double nearest 0.041
    if unit == "$" and value < 0:
        raise UsageError(f"{what}: a balance cannot be negative ({text.strip()})")
    return value, ("%" if given else ("$" if unit == "$" else ""))


def split_set(item: str) -> Tuple[str, Optional[str], str]:
    """'1-A-3.coupon=4.10%' -> ('1-A-3', 'coupon', '4.10%'); 'NAME=V' -> ('NAME', None, 'V')."""
    name, eq, value = item.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise UsageError(f"--set: expected CLASS.balance=AMOUNT, CLASS.coupon=RATE or PARAMETER=VALUE, got {item!r}")
    name = name.strip()
    head, dot, field = name.rpartition(".")
    if dot and field in FIELDS:
        return head, field, value.strip()
    return name, None, value.strip()


def with_class_number(deal: A.Deal, name: str, field: str, value: float, text: str) -> A.Deal:
    """The deal with class ``name``'s balance or fixed coupon set to ``value``
    (a number of the deal: the compiled kernel is reused)."""
    c = deal.class_named(name)
    old = getattr(c, field)
    span = old.span if old is not None else c.span
    q = A.Quantity(value, "$" if field == "balance" else "%", text, span)
    classes = tuple(attrs.evolve(x, **{field: q}) if x.name == name else x for x in deal.classes)
    return attrs.evolve(deal, classes=classes)


def check_class_field(deal: A.Deal, name: str, field: str, option: str = "--set") -> A.ClassDecl:
    names = [c.name for c in deal.classes]
    c = deal.class_named(name)
    if c is None:
        raise UsageError(f"{option}: unknown class '{name}'. {did_you_mean(name, names)}".strip())
    if field == "balance" and (c.balance is None or c.notional is not None or c.residual):
        raise UsageError(f"{option}: class {name} has no principal balance to set")
    if field == "coupon":
        if c.coupon is None:
            raise UsageError(f"{option}: class {name} has no coupon")
        if not isinstance(c.coupon, A.Quantity):
            raise UsageError(f"{option}: the coupon of {name} is a formula ({c.coupon.span}); only a fixed "
                             f"coupon such as 4.10% can be set here: edit the formula in the deal file")
    return c


def apply_sets(deal: A.Deal, assumptions, items: List[str]):
    """(deal, assumptions) with every ``--set`` applied, in order."""
    parameters = dict(assumptions.parameters)
    for item in items:
        name, field, value = split_set(item)
        if field is not None:
            check_class_field(deal, name, field)
            unit = "$" if field == "balance" else "%"
            v, _ = read_value(value, unit, f"--set {name}.{field}")
            deal = with_class_number(deal, name, field, v, value)
            continue
        declared = {p.name: p for p in deal.parameters}
        if name not in declared:
            if "." in name:
                head, _, f = name.rpartition(".")
                if deal.class_named(head) is not None:
                    raise UsageError(f"--set: class {head} has no field '{f}' to set (balance or coupon). "
                                     f"{did_you_mean(f, FIELDS)}".strip())
                if f in FIELDS:
                    raise UsageError(f"--set: unknown class '{head}'. "
                                     f"{did_you_mean(head, [c.name for c in deal.classes])}".strip())
            known = list(declared) + [f"{c.name}.{f}" for c in deal.classes for f in FIELDS]
            raise UsageError(f"--set: '{name}' is not a parameter of the deal or CLASS.balance / CLASS.coupon. "
                             f"{did_you_mean(name, known)}".strip())
        p = declared[name]
        unit = "%" if p.default is not None and p.default.unit in ("%", "bp") else ""
        v, _ = read_value(value, unit, f"--set {name}")
        parameters[name] = v
    return deal, attrs.evolve(assumptions, parameters=parameters)
