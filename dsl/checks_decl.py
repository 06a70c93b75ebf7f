"""The checks of a deal's declarations: names declared once, the header's dates
and speeds, classes, class sets, tables, schedules, events and losses.

Each is one entry of ``dsl.checker.CHECKS``: ``check(cx)`` yields diagnostics.
"""
from __future__ import annotations

import datetime as _dt
from typing import Iterator

from . import ast as A
from .limits import MAX_MONTHS
from .builtins import VARIABLES
from .checkctx import Context, err, repeats, targets, valid
from .diagnostics import Diagnostic, did_you_mean

# A deal's dates must leave room for MAX_MONTHS monthly periods before the calendar ends.
LAST_FIRST_DISTRIBUTION = _dt.date(9999 - MAX_MONTHS // 12, 1, 1)


def duplicates(cx: Context) -> Iterator[Diagnostic]:
    """A name is declared once (groups have their own namespace), and never a built-in's."""
    seen: dict = {}
    deal = cx.deal
    kinds = [("index", deal.indices), ("group", deal.groups), ("class", deal.classes),
             ("class set", deal.sets), ("table", deal.tables), ("formula", deal.defines),
             ("parameter", deal.parameters), ("account", deal.accounts), ("event", deal.events),
             ("contract", deal.contracts), ("distribution", deal.distributions), ("schedule", deal.schedules)]
    for kind, items in kinds:
        for item in items:
            key = (kind == "group", item.name)
            if key in seen:
                prev_kind, prev = seen[key]
                import difflib
                missing = _undeclared_classes(cx) if kind == prev_kind == "class" else []
                meant = difflib.get_close_matches(item.name, missing, n=1, cutoff=0.6) or missing[:len(missing) == 1]
                yield err(item.span, f"'{item.name}' is declared twice",
                          hint=f"first declared as a {prev_kind} at line {prev.span.line}"
                               + (f"; the deal names '{meant[0]}', which no class declares: did you mean "
                                  f"'class {meant[0]}' here?" if meant else ""))
            else:
                seen[key] = (kind, item)
    for v in VARIABLES:
        if (False, v) in seen:
            yield err(seen[(False, v)][1].span, f"'{v}' is a built-in name and cannot be redeclared")


def class_declared_twice(cx: Context) -> bool:
    """True if two classes share a name: every check that reads the classes would
    then report its consequences (a class named nowhere, a list naming one twice)."""
    return len(set(cx.class_names)) < len(cx.class_names)


def _undeclared_classes(cx: Context) -> list:
    """The class names the deal's lists use that no class or set declares."""
    from .walk import iter_steps, step_blocks
    refs = [r for s in cx.deal.sets for r in s.members] + [r for e in cx.deal.events for r in e.retires]
    refs += [r for b in step_blocks(cx.deal) for st in iter_steps(b) for r in getattr(st, "targets", ())]
    if cx.deal.losses is not None:
        refs += [r for st in cx.deal.losses.steps for r in st.targets]
    known = set(cx.class_names) | set(cx.set_names) | set(cx.distributions)
    names = [n for r in refs for n in ((r.first, r.last) if isinstance(r, A.ClassRange) else (r.name,))]
    return sorted({n for n in names if n not in known})


def header(cx: Context) -> Iterator[Diagnostic]:
    """The header's dates are there and in order; its speeds are speeds; the deal has groups."""
    h = cx.deal.header
    for field, what in (("cutoff", "cutoff DATE"), ("closing", "closing DATE"),
                        ("first_distribution", "first distribution DATE")):
        if getattr(h, field) is None:
            yield err(h.span, f"the deal header has no {field.replace('_', ' ')} date", expected=what)
    if h.cutoff and h.closing and h.closing < h.cutoff:
        yield err(h.span_of("closing"), f"closing {h.closing} is before the cut-off date {h.cutoff}")
    if h.closing and h.first_distribution and h.first_distribution <= h.closing:
        yield err(h.span_of("first_distribution"),
                  f"first distribution {h.first_distribution} is not after closing {h.closing}")
    if h.settlement and h.cutoff and h.settlement < h.cutoff:
        yield err(h.span_of("settlement"), f"settlement {h.settlement} is before the cut-off date {h.cutoff}")
    for speed in [h.pricing_speed] + [g.pricing_speed for g in cx.deal.groups]:
        if speed is not None and speed.kind is A.SpeedKind.PPC:
            yield err(speed.span, "a PPC speed needs its ramp",
                      expected="ramp 8% CPR to 24% CPR over 12 months [by loan age]")
    for q in h.table_speeds:
        if q.unit not in ("%", ""):
            yield err(q.span, f"a table speed is a percent of the pricing speed, not {q.text!r}", expected="e.g. 100%")
    if not cx.deal.groups:
        yield err(h.span, "the deal has no collateral group", expected='group 1 "DESCRIPTION"')
    if h.pricing_speed is None:
        for g in cx.deal.groups:
            if g.pricing_speed is None:
                yield err(g.span, f"group {g.name} has no pricing speed",
                          expected="'pricing speed' in the deal header or under the group")


def calendar(cx: Context) -> Iterator[Diagnostic]:
    """The deal's periods fit the calendar: the first distribution leaves room for
    MAX_MONTHS monthly dates before 9999-12-31."""
    h = cx.deal.header
    if h.first_distribution is not None and h.first_distribution >= LAST_FIRST_DISTRIBUTION:
        yield err(h.span_of("first_distribution"),
                  f"first distribution {h.first_distribution} leaves no room for the deal's {MAX_MONTHS} "
                  f"monthly periods before the calendar ends (9999-12-31)",
                  expected=f"a date before {LAST_FIRST_DISTRIBUTION}")


def _month(d: _dt.date) -> int:
    return d.year * 12 + d.month - 1


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _month_name(m: int) -> str:
    return _dt.date(m // 12, m % 12 + 1, 1).strftime("%B %Y")


def dates(cx: Context) -> Iterator[Diagnostic]:
    """The header's dates agree with each other as a real deal's do: the first
    distribution is a distribution date (its day the distribution day, as stated
    or after the business-day rule) within two months of closing, and the cut-off
    is the first of the closing month or of the month before (a closing in the
    month's first days). A deal's collections are run from the month before its
    first distribution: a date that disagrees would be ignored or lose months."""
    from interpreter.dates import distribution_dates  # the dates a run pays on (interpreter.waterfall.run)
    h = cx.deal.header
    fd, closing, cutoff = h.first_distribution, h.closing, h.cutoff
    if not _first_distribution_in_reach(h):
        return  # missing, or another check's error
    stated = distribution_dates(fd, 1, h.distribution_day, "none")[0]
    rolled = distribution_dates(fd, 1, h.distribution_day, h.business_rule.value)[0]  # the deal's words are rules
    if fd not in (stated, rolled):
        dated = f"{stated}" if rolled == stated else f"{stated} ({rolled} after the business-day rule)"
        yield err(h.span_of("first_distribution"),
                  f"first distribution {fd} is not a distribution date: distribution day {h.distribution_day} "
                  f"puts {fd.strftime('%B %Y')}'s on {dated}, and the stated date would be ignored",
                  expected=f"first distribution {rolled}, or 'distribution day {fd.day}'")
    far = closing is not None and fd > closing and _month(fd) - _month(closing) > 2
    if far:
        yield err(h.span_of("first_distribution"),
                  f"first distribution {fd} is {_month(fd) - _month(closing)} months after closing {closing}: "
                  f"the collections of the months between would be paid to no one",
                  expected=f"a first distribution in the month after closing ({_month_name(_month(closing) + 1)}), "
                           f"as real deals pay, or at the latest the month after that")
    if cutoff is not None and closing is not None and cutoff <= closing and not far \
            and _month(closing) - _month(cutoff) > 1:
        yield err(h.span_of("cutoff"),
                  f"the cut-off date {cutoff} is {_month(closing) - _month(cutoff)} months before closing {closing}: "
                  f"the deal's collections are run from {_month_name(_month(fd) - 1)} (the month before the first "
                  f"distribution), so the months from the cut-off would be lost",
                  expected=f"a cut-off on the first of the closing month ({closing.replace(day=1)}) "
                           f"or of the month before")


def _first_distribution_in_reach(h) -> bool:
    """The first distribution date is there, after closing (else the header check's error),
    and far enough inside the calendar for the dates derived from it (the month before it,
    the deal's horizon after it; else the calendar check's error)."""
    fd = h.first_distribution
    return (fd is not None and _dt.date(2, 1, 1) <= fd < LAST_FIRST_DISTRIBUTION
            and (h.closing is None or fd > h.closing))


def delays(cx: Context) -> Iterator[Diagnostic]:
    """A stated delay pays after the accrual month it pays for is over and after
    closing: 'delay N days' counts the first of the accrual month as day 1 in
    30-day months (SIFMA), so N of 30 or fewer pays within the accrual month."""
    from interpreter.dates import delayed_payment_date
    h = cx.deal.header
    fd = h.first_distribution
    if not _first_distribution_in_reach(h):
        return
    m = _month(fd) - 1
    accrual = _dt.date(m // 12, m % 12 + 1, 1)  # the month the first distribution pays for
    default = 30 + min(h.distribution_day, 30)
    for c in cx.deal.classes:
        n = c.delay_days
        if n is None or n < 1:
            continue
        pays = delayed_payment_date(accrual, n)
        said = f"'delay {n} day{'s' if n != 1 else ''}'"
        meaning = (f"{said} counts the first of the accrual month as day 1 (SIFMA's 30-day months), "
                   f"so it pays on {pays} for the month of {accrual.strftime('%B %Y')}")
        hint = (f"a class paid on the distribution date (the {_ordinal(h.distribution_day)} of the next month) has "
                f"no delay line (or 'delay {default} days'); if {n} days count from the end of the accrual month "
                f"(the 'actual' delay: Fannie Mae's 24 is stated as 55), write 'delay {n + 31} days'")
        if n <= 30:
            yield err(c.span_of("delay_days"), f"class {c.name}: {meaning}, before that month's collections are in",
                      expected="a stated delay of at least 31 days (the first of the month after)", hint=hint)
        elif h.closing is not None and pays <= h.closing:
            yield err(c.span_of("delay_days"), f"class {c.name}: {meaning}, on or before closing {h.closing}",
                      expected="a payment date after closing", hint=hint)


def classes(cx: Context) -> Iterator[Diagnostic]:
    """Each class has what its kind needs: a balance in dollars and a coupon, a
    notional and a coupon, or neither (residual, no cashflow); a known group."""
    for c in cx.deal.classes:
        if c.balance is not None and c.balance.unit not in ("$", ""):
            yield err(c.balance.span, f"class {c.name}: a balance is a dollar amount, not {c.balance.text!r}",
                      expected="an amount such as 119,257,000")
        elif c.balance is not None and 0 < c.balance.value < 1000 and c.balance.value != int(c.balance.value):
            # a whole $100 is a REMIC residual certificate's usual balance (J4's Class A-R); $1.50 is a slip
            yield err(c.balance.span, f"class {c.name}: a balance of {c.balance.text} is ${c.balance.value:,.2f}: "
                                      f"a class of under $1,000 in dollars and cents is surely a mistake",
                      expected="the balance in dollars, such as 119,257,000 (digits with thousands commas)")
        if cx.unknown_group(c.group):
            yield err(c.span_of("group"), f"class {c.name}: unknown group '{c.group}': "
                                          f"{valid('group', cx.group_names)}", hint=did_you_mean(c.group, cx.group_names))
        if c.releases_oc and not c.residual:
            yield err(c.span_of("releases_oc"), f"class {c.name}: only a residual class releases overcollateralization",
                      expected="'residual' on the class, or no 'releases overcollateralization'")
        if c.residual or c.no_cashflow:
            if c.balance is not None or c.coupon is not None:
                yield err(c.span, f"class {c.name}: a residual or no-cashflow class has no balance or coupon")
        elif c.notional is not None:
            # (a balance beside a notional is the initial notional the term sheet prints: information)
            if c.coupon is None:
                yield err(c.span, f"class {c.name}: a notional class needs a coupon", expected="coupon RATE")
        else:
            if c.balance is None:
                yield err(c.span, f"class {c.name} has no balance", expected="balance AMOUNT")
            if c.coupon is None:
                yield err(c.span, f"class {c.name} has no coupon", expected="coupon RATE or INDEX + MARGIN")
        if isinstance(c.coupon, A.Neg) and isinstance(c.coupon.operand, A.Quantity):
            # a formula may dip below zero (an inverse floater before its floor); a stated rate may not
            yield err(c.coupon.span, f"class {c.name}: a coupon of -{c.coupon.operand.text} is negative",
                      expected=f"a rate such as {c.coupon.operand.text}")


def class_sets(cx: Context) -> Iterator[Diagnostic]:
    """A set names classes, ranges and other sets that exist, each class once,
    and never itself, directly or through other sets."""
    for s in cx.deal.sets:
        yield from targets(cx, s.members)
    cyclic = set()
    for s in cx.deal.sets:
        trail = _set_cycle(cx, s.name)
        if trail and trail[0] == s.name and frozenset(trail) not in cyclic:
            cyclic.add(frozenset(trail))
            yield err(s.span, "a class set names itself: " + " -> ".join(f'"{n}"' for n in trail + [s.name]),
                      hint="a set lists classes, or other sets that do not name it")
    for s in cx.deal.sets:
        if not any(s.name in c for c in cyclic):
            yield from repeats(cx, s.members, s.span)


def _set_cycle(cx: Context, name: str) -> list:
    """The sets of a cycle the walk from ``name`` meets (the first set met
    again, then the sets after it), or []. Iterative, for chains of thousands."""
    path = [name]
    stack = [iter(_named_sets(cx, name))]
    done: set = set()
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            done.add(path.pop())
        elif nxt in path:
            return path[path.index(nxt):]
        elif nxt not in done:
            path.append(nxt)
            stack.append(iter(_named_sets(cx, nxt)))
    return []


def _named_sets(cx: Context, name: str) -> list:
    return [r.name for r in cx.sets[name].members if isinstance(r, (A.SetRef, A.ClassRef)) and r.name in cx.sets]


def tables(cx: Context) -> Iterator[Diagnostic]:
    """A table's rows cover periods 1, 2, ... in order, each as wide as the first;
    an open row is the last."""
    for t in cx.deal.tables:
        expected_next = 1
        width = None
        for row in t.rows:
            if row.first != expected_next:
                yield err(row.span, f"table {t.name}: rows must cover every {t.key} in order; "
                                    f"expected a row starting at {expected_next}, found {row.first}")
            if row.last is not None and row.last < row.first:
                yield err(row.span, f"table {t.name}: range {row.first}-{row.last} runs backwards")
            if width is None:
                width = len(row.values)
            elif len(row.values) != width:
                yield err(row.span, f"table {t.name}: {len(row.values)} values where earlier rows have {width}")
            expected_next = (row.last or row.first) + 1
            if row.last is None and row is not t.rows[-1]:
                yield err(row.span, f"table {t.name}: an open row ('{row.first}+') must be the last")


def schedules(cx: Context) -> Iterator[Diagnostic]:
    """A schedule is drawn from a group the deal has."""
    for sc in cx.deal.schedules:
        if sc.group not in cx.group_names:
            yield err(sc.span, f"schedule {sc.name}: unknown group '{sc.group}': {valid('group', cx.group_names)}",
                      hint=did_you_mean(sc.group, cx.group_names))


def events(cx: Context) -> Iterator[Diagnostic]:
    """An event retires classes that exist, each once; the table event is an event."""
    for e in cx.deal.events:
        yield from targets(cx, e.retires)
        yield from repeats(cx, e.retires, e.span)
    h = cx.deal.header
    if h.table_event and h.table_event not in cx.events:
        yield err(h.span_of("table_event"), f"unknown event '{h.table_event}': {valid('event', cx.events)}",
                  hint=did_you_mean(h.table_event, cx.events))
    elif h.table_event:
        e = next(e for e in cx.deal.events if e.name == h.table_event)
        if not e.retires:
            # a run to it would sell the collateral and pay the proceeds to the residual, the bonds written down
            yield err(h.span_of("table_event"), f"the table event '{e.name}' retires no classes",
                      expected=f"an indented 'retires CLASSES' under 'event {e.name}' (line {e.span.line})",
                      hint="the tables run to the table event: its sale retires the classes it names")


def losses(cx: Context) -> Iterator[Diagnostic]:
    """Losses are allocated to classes that exist, each once a step."""
    if cx.deal.losses is not None:
        for step in cx.deal.losses.steps:
            yield from targets(cx, step.targets)
            yield from repeats(cx, step.targets, step.span)
