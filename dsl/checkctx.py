"""What every check of ``dsl.checker`` reads: the deal and its names by kind.

A check is a small function ``check(cx) -> iterable of Diagnostic``; this
module holds the context they share (built once per deal) and the helpers
their messages use, so no check imports another.
"""
from __future__ import annotations

from typing import Iterable, Optional

from . import ast as A
from .diagnostics import Diagnostic

# Names shown in full in "the deal has ..." before the list is cut short.
_LISTED = 12

_PLURAL = {"class": "classes", "index": "indices", "class set": "class sets"}


def err(span: A.Span, message: str, expected: str = "", hint: str = "") -> Diagnostic:
    return Diagnostic(span, message, expected=expected, hint=hint)


def valid(kind: str, names: Iterable[str], quote: str = "") -> str:
    """What the deal has of a kind, for a message: 'the deal has groups 1 and 3'."""
    names = [f"{quote}{n}{quote}" for n in names]
    plural = _PLURAL.get(kind, kind + "s")
    if not names:
        return f"the deal has no {plural}"
    if len(names) == 1:
        return f"the deal has {kind} {names[0]}"
    shown = names if len(names) <= _LISTED else names[:_LISTED - 1] + [f"{len(names) - _LISTED + 1} more"]
    return f"the deal has {plural} {', '.join(shown[:-1])} and {shown[-1]}"


class Context:
    """The deal and its declared names, by kind."""

    def __init__(self, deal: A.Deal):
        self.deal = deal
        self.class_names = [c.name for c in deal.classes]
        self.set_names = [s.name for s in deal.sets]
        self.group_names = [g.name for g in deal.groups]
        self.tables = {t.name: t for t in deal.tables}
        self.defines = {d.name: d for d in deal.defines}
        self.params = {p.name: p for p in deal.parameters}
        self.indices = {i.name: i for i in deal.indices}
        self.events = {e.name: e for e in deal.events}
        self.accounts = {a.name: a for a in deal.accounts}
        self.contracts = {c.name: c for c in deal.contracts}
        self.distributions = {d.name: d for d in deal.distributions}
        self.schedules = {d.name: d for d in deal.schedules}
        self.sets = {s.name: s for s in deal.sets}
        self.values = frozenset(self.value_names())

    def value_names(self) -> list:
        """Every name a formula may read, besides the built-in variables."""
        return list(self.defines) + list(self.params) + list(self.tables) + list(self.indices) \
            + list(self.contracts) + list(self.accounts) + list(self.schedules)

    def routes(self, step) -> bool:
        """True if a pay step routes cash through a named distribution."""
        return any(isinstance(r, A.ClassRef) and r.name in self.distributions for r in step.targets)

    def ref_ok(self, r) -> bool:
        """True if a target reference resolves (so it can be expanded)."""
        if isinstance(r, A.ClassRef):
            return r.name in self.class_names or r.name in self.set_names
        if isinstance(r, A.ClassRange):
            return r.first in self.class_names and r.last in self.class_names \
                and self.class_names.index(r.first) <= self.class_names.index(r.last)
        return r.name in self.set_names

    def unknown_group(self, name: Optional[str]) -> bool:
        return name is not None and name not in self.group_names


def targets(cx: Context, refs) -> Iterable[Diagnostic]:
    """Every name in a list of classes resolves: a class, a set, a range of classes."""
    from .diagnostics import did_you_mean
    for r in refs:
        if isinstance(r, A.ClassRef):
            if r.name not in cx.class_names and r.name not in cx.set_names:
                yield err(r.span, f"unknown class '{r.name}': {valid('class', cx.class_names)}",
                          hint=did_you_mean(r.name, cx.class_names + cx.set_names))
        elif isinstance(r, A.ClassRange):
            for n in (r.first, r.last):
                if n not in cx.class_names:
                    yield err(r.span, f"unknown class '{n}': a range runs between two classes; "
                                      f"{valid('class', cx.class_names)}", hint=did_you_mean(n, cx.class_names))
            if r.first in cx.class_names and r.last in cx.class_names and \
                    cx.class_names.index(r.first) > cx.class_names.index(r.last):
                yield err(r.span, f"class range {r.first}..{r.last} runs against the order of declaration")
        elif isinstance(r, A.SetRef):
            if r.name not in cx.set_names:
                have = valid("class set", cx.set_names, '"')
                yield err(r.span, f"unknown class set \"{r.name}\": {have}",
                          hint=did_you_mean(r.name, cx.set_names))


def repeats(cx: Context, refs, span) -> Iterable[Diagnostic]:
    """A class named twice in one list (itself and through a set, say) would be
    paid, retired or written down twice: refused."""
    from .walk import expand_classes
    if not all(cx.ref_ok(r) for r in refs):
        return  # already reported
    seen = set()
    for n in expand_classes(cx.deal, list(refs)):
        if n in seen:
            yield err(span, f"class {n} is named twice in this list (directly or through a class set)",
                      hint="name each class once")
            return
        seen.add(n)
