"""The assumptions file: collateral, speeds, index levels, credit, parameters.

A YAML file (read with a safe loader only, bounded: aliases may repeat at
most 100,000 nodes and nesting is at most 100 levels deep) kept beside the deal as
``<deal stem>.assumptions.yaml``. Every key is checked: an unknown key gets
"did you mean", a value with the wrong unit says which unit is due, and every
message carries ``file:line:col`` and the line with a caret. Units are written
out: ``"6.25%"``, ``"25 CPR"``, ``"100% PPC"``, ``"300,000,000"``.

Schema (every key optional unless marked)::

    speeds: [0%, 80%, 100%]        # table columns, percent of the pricing speed
    horizon: 360                   # months to project (default: the longest loan term)
    collateral:                    # required: representative lines ...
      - group: 1                   #   required: a group of the deal
        balance: 300,000,000       #   required
        gross rate: 6.25%          #   required
        fee rate: 0.259%           #   servicing + trustee (+ LPMI)
        remaining term: 353        #   required, months
        age: 6                     #   months since origination
        amortization term: 360     #   balloon: amortise over this, pay off at remaining term
        io months: 60              #   interest-only months from origination
        arm: {index: LIBOR_6M, margin: 2.75%, first reset: 24, reset every: 6,
              initial cap: 3%, periodic cap: 1%, lifetime cap: 6%, floor: 2.75%, rounding: 0.125%}
        penalty: {rate: 2%, months: 36}
    loan tape: loans.csv           # ... or a loan tape (one row a loan), path relative to this file
    prepayment: {1: 100% PPC}      # per group, replaces the deal's pricing speed definition
    defaults: {all: 2% CDR}        # per group or 'all': CDR, MDR or SDA, or {vector: [...]}
    severity: 35%
    recovery lag: 12
    delinquency: {all: 2%}         # 60+ day delinquent fraction, flat or a vector by period
    indices: {LIBOR_1M: 1.10%}     # flat level or a vector by period
    parameters: {name: value}      # values for the deal's 'parameter' terms
    events: {auction: succeeds}    # per event: succeeds | fails
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import attrs
import yaml

from dsl import ast as A
from dsl.checkctx import valid
from dsl.diagnostics import DealError, Diagnostic, did_you_mean
from dsl.load import read_source

from .collateral import MAX_MONTHS, ArmTerms, Curve, Line, TapeError, load_tape


# ------------------------------------------------------------------ YAML with positions
class _Map(dict):
    """A mapping that remembers where each key was written."""
    marks: dict
    mark: Any


class _Seq(list):
    marks: list
    mark: Any


# Bounds on what a document may expand to. Aliases share one constructed
# object, but whatever walks the values (the checks below, the message that
# quotes a wrong value) walks every repetition: eight levels of ten aliases in
# 700 bytes are 10**8 values. Nesting is bounded too (the constructors recurse,
# and libyaml's own composer overflows the C stack at 100,000 levels).
MAX_YAML_NODES = 100_000  # nodes the aliases of one document may repeat, in all
MAX_YAML_DEPTH = 100  # levels of nesting, counted through aliases


class _Bounded:
    """Composition that counts, and refuses a document past the bounds, at the
    alias or the node that crosses one. An alias costs the expanded size of the
    node it names (its own aliases included); a node's depth counts the depth
    of the nodes its aliases name."""

    def compose_document(self):
        self._depth = 0  # of the node being composed
        self._deepest = 0  # the deepest level reached within it
        self._repeated = 0  # nodes repeated by aliases so far
        self._nodes = 0  # nodes of the expanded document so far
        self._sizes = {}  # anchored node -> (expanded size, expanded height); absent while composed
        return super().compose_document()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is not None:  # (an undefined alias is PyYAML's error)
                if node not in self._sizes:
                    raise yaml.composer.ComposerError(
                        None, None, f"the alias *{event.anchor} is inside the node it names", event.start_mark)
                size, height = self._sizes[node]
                self._repeated += size
                if self._repeated > MAX_YAML_NODES:
                    raise yaml.composer.ComposerError(
                        None, None, f"the alias *{event.anchor} repeats {size:,} nodes, taking the document's "
                                    f"aliases past {MAX_YAML_NODES:,} repeated nodes", event.start_mark)
                if self._depth + height > MAX_YAML_DEPTH:
                    raise yaml.composer.ComposerError(
                        None, None, f"the alias *{event.anchor} nests the document more than {MAX_YAML_DEPTH} "
                                    f"levels deep", event.start_mark)
                self._nodes += size
                self._deepest = max(self._deepest, self._depth + height)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                              event.start_mark)
        start, outer = self._nodes, self._deepest
        self._nodes += 1
        self._deepest = self._depth
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._sizes[node] = (self._nodes - start, self._deepest - self._depth + 1)
        self._deepest = max(outer, self._deepest)
        self._depth -= 1
        return node


class _Loader(_Bounded, yaml.SafeLoader):
    pass


def _construct_map(loader, node):
    loader.flatten_mapping(node)
    out = _Map()
    out.marks = {}
    out.mark = node.start_mark
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        key = str(key).strip() if key is not None else ""
        if key in out:  # YAML's "last wins" would drop the first value without a word
            first = out.marks[key][0]
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first at line {first.line + 1})", k_node.start_mark)
        out[key] = loader.construct_object(v_node, deep=True)
        out.marks[key] = (k_node.start_mark, v_node.start_mark, v_node.end_mark)
    return out


def _construct_seq(loader, node):
    out = _Seq(loader.construct_object(v, deep=True) for v in node.value)
    out.marks = [(v.start_mark, v.end_mark) for v in node.value]
    out.mark = node.start_mark
    return out


def _construct_scalar_str(loader, node):
    # Keep numbers with units or separators as text; plain YAML numbers still
    # become int/float through the resolver, the rest are strings.
    return loader.construct_scalar(node)


# The same loader over libyaml's parser when PyYAML has it: the constructors
# and the resolver are the Python ones, only scanning and parsing are in C (a
# tenth of the time). libyaml and PyYAML differ at the edges, so the C parser
# only reads texts on which they agree (tests/errors/test_yaml_loaders.py
# compares them on thousands of broken files): no tab, '?' or byte-order mark
# (PyYAML refuses some that libyaml reads), no empty value (they place it a
# column apart) or block scalar ('|', '>'), a last line that ends (they end a block at EOF differently),
# and nothing libyaml refuses. Any other text, the Python
# loader reads, so values, positions and YAML errors are what they always were.
class _NotForC(Exception):
    pass


def _c_checked(construct):
    def checked(loader, node):
        for item in node.value:
            for n in (item if isinstance(item, tuple) else (item,)):
                if isinstance(n, yaml.ScalarNode) and (n.style in ("|", ">") or (n.value == "" and not n.style)):
                    raise _NotForC()  # a block scalar, or a plain empty one
        return construct(loader, node)
    return checked


_CLoader = None
if getattr(yaml, "__with_libyaml__", False):
    class _CLoader(_Bounded, yaml.composer.Composer, yaml.cyaml.CParser, yaml.constructor.SafeConstructor,
                   yaml.resolver.Resolver):
        """libyaml's scanner and parser; the bounded composer above (over libyaml's
        events: as fast as libyaml's own composer on these files, which has no
        bounds), then the constructors and the resolver of PyYAML."""

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def _construct_int(loader, node):
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # Python's limit on the digits of an int read from text
        raise yaml.constructor.ConstructorError(None, None, f"a number of {len(node.value):,} digits",
                                                node.start_mark) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
# No key takes a YAML timestamp: keep date-like text as text (an impossible
# date is then a positioned error, not a crash in the YAML library).
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_scalar_str)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
if _CLoader is not None:
    _CLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    _CLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _c_checked(_construct_map))
    _CLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_scalar_str)
    _CLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _c_checked(_construct_seq))


_YAML_PROBLEMS = (  # PyYAML's words -> what to do about them
    ("expected <block end>", "this line is indented differently from the lines above it: the keys of one "
                             "mapping, and the items of one list, start in the same column"),
    ("mapping values are not allowed here", "a ':' where a value was expected: quote a value holding ': ', "
                                            "or indent the line under its key"),
    ("found character '\\t'", "a tab: YAML indents with spaces"),
    ("expected ',' or ']'", "a '[' list not closed: expected ',' or ']'"),
    ("expected ',' or '}'", "a '{' mapping not closed: expected ',' or '}'"),
    ("found unexpected end of stream", "a quote not closed before the end of the file"),
    ("could not find expected ':'", "a key without its ':'"),
)


def yaml_message(e: yaml.YAMLError) -> str:
    """A YAML syntax error in plain words (PyYAML's own after them, for who knows it)."""
    problem = getattr(e, "problem", None) or str(e)
    for words, plain in _YAML_PROBLEMS:
        if problem.startswith(words):
            return f"bad YAML: {plain} ({problem})"
    return f"bad YAML: {problem}"


def _load_yaml(text: str):
    """The document in ``text``, loaded safely (no arbitrary objects)."""
    if _CLoader is not None and text.endswith("\n") and not any(c in text for c in "\t?\ufeff"):
        try:
            return yaml.load(text, Loader=_CLoader)
        except (yaml.YAMLError, _NotForC):
            pass
    return yaml.load(text, Loader=_Loader)


@attrs.frozen
class Assumptions:
    path: str
    lines: tuple  # of collateral.Line
    speeds: tuple  # of float multiples (1.0 = 100%)
    horizon: Optional[int]
    prepayment: dict  # group -> collateral.Curve (overrides)
    defaults: dict  # group -> collateral.Curve
    severity: float
    recovery_lag: int
    delinquency: dict  # group -> np.ndarray or float
    indices: dict  # name -> float or tuple of floats
    parameters: dict  # name -> float
    events: dict  # name -> 'succeeds' | 'fails'
    stated: frozenset = frozenset()  # the top-level keys the file wrote (a severity of 0% vs none stated)
    severity_stated: bool = False  # 'severity:' was written (a grid's cdr axis needs a severity from somewhere)


_MAX_NUMBER = 10 ** 15  # as a deal's literals (dsl.build.MAX_LITERAL): past it, sums overflow


def _short(value) -> str:
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} characters)"


MAX_SPEEDS = 100  # speeds of one run (the assumptions' speeds, or --speeds): each is a column of the tables

_UNIT_RE = re.compile(r"^\s*(-?[\d,]*\.?\d+)\s*(%|bp)?\s*$")


class _Reader:
    def __init__(self, path: str, text: str, deal: A.Deal):
        self.path = path
        self.text = text
        self.deal = deal
        self.diags: list = []
        self.sources: dict = {}  # other files the diagnostics point into (a loan tape)

    def span(self, mark) -> A.Span:
        if mark is None:
            return A.Span(self.path, 1, 1)
        return A.Span(self.path, mark.line + 1, mark.column + 1)

    def error(self, mark, msg, expected="", hint="", end=None):
        sp = self.span(mark)
        if end is not None and end.line == mark.line:
            sp = A.Span(self.path, sp.line, sp.column, sp.line, end.column + 1)
        self.diags.append(Diagnostic(sp, msg, expected=expected, hint=hint))

    # ---- scalars
    def number(self, value, mark, what, unit="", end=None, allow=("", "%", "bp")) -> Optional[float]:
        """A number with an optional unit. unit='%' means a rate is due: '6.25%' or '25bp'
        (a bare number is refused); unit='$' an amount; unit='' a plain count."""
        if isinstance(value, bool) or value is None:
            self.error(mark, f"{what}: expected a value", end=end)
            return None
        if isinstance(value, (int, float)):
            if isinstance(value, int) and abs(value) > _MAX_NUMBER or not math.isfinite(value):
                self.error(mark, f"{what}: {_short(value)} is not a finite number in range",
                           expected=self._unit_text(unit), end=end)
                return None
            if unit == "%":
                self.error(mark, f"{what}: {value} has no unit", expected=f"a percentage such as {value}%",
                           end=end)
                return None
            return float(value)
        m = _UNIT_RE.match(str(value).replace("$", ""))
        if not m:
            self.error(mark, f"{what}: cannot read {value!r} as a number", expected=self._unit_text(unit), end=end)
            return None
        num = float(m.group(1).replace(",", ""))
        if not math.isfinite(num) or abs(num) > _MAX_NUMBER:
            self.error(mark, f"{what}: {_short(value)} is too large", expected=self._unit_text(unit), end=end)
            return None
        u = m.group(2) or ""
        if unit == "%":
            # Decimal division so that "0.35%" is the double nearest 0.0035.
            if u == "%":
                return float(Decimal(m.group(1).replace(",", "")) / 100)
            if u == "bp":
                return float(Decimal(m.group(1).replace(",", "")) / 10000)
            self.error(mark, f"{what}: {value!r} has no unit", expected="a percentage such as 6.25%", end=end)
            return None
        if u:
            self.error(mark, f"{what}: {value!r} is a rate where {self._unit_text(unit)} is due",
                       expected=self._unit_text(unit), end=end)
            return None
        return num

    @staticmethod
    def _unit_text(unit):
        return {"%": "a percentage such as 6.25%", "$": "an amount such as 300,000,000",
                "": "a number"}.get(unit, "a number")

    MAX_MONTHS = MAX_MONTHS  # sixty years: longer than any loan or deal (a loan tape's bound too)

    def integer(self, value, mark, what, end=None) -> Optional[int]:
        v = self.number(value, mark, what, unit="", end=end)
        if v is None:
            return None
        if v != int(v) or v < 0:
            self.error(mark, f"{what}: expected a whole number of months, got {value!r}", end=end)
            return None
        if v > self.MAX_MONTHS and what != "count":
            self.error(mark, f"{what}: {value!r} months is more than {self.MAX_MONTHS}", end=end,
                       expected=f"a number of months up to {self.MAX_MONTHS}")
            return None
        return int(v)

    def keys(self, m: _Map, allowed, where: str, required=()):
        for k in m:
            if k not in allowed:
                self.error(m.marks[k][0], f"unknown key '{k}' in {where}", hint=did_you_mean(k, allowed),
                           expected="one of " + ", ".join(sorted(allowed)))
        for k in required:
            if k not in m:
                self.error(m.mark, f"{where} has no '{k}'", expected=f"'{k}:'")

    def group_name(self, value, mark, end=None) -> Optional[str]:
        g = str(value).strip()
        names = [x.name for x in self.deal.groups]
        if g.lower().startswith("group "):
            g = g[6:].strip()
        if g not in names:
            self.error(mark, f"unknown group '{g}': {valid('group', names)}", hint=did_you_mean(g, names), end=end)
            return None
        return g

    # ---- speed / curve text: "100% PPC", "25 CPR", "25% CPR", "1.5 ABS", "100% SDA", "2% CDR"
    def curve(self, value, mark, what, kinds, end=None) -> Optional[Curve]:
        if isinstance(value, _Map):
            self.keys(value, {"vector", "kind", "basis"}, what)
            kind = str(value.get("kind", "CPR" if "CPR" in kinds else "CDR")).upper()
            vec = value.get("vector")
            if not isinstance(vec, list):
                self.error(value.mark, f"{what}: a vector is a list of rates", expected="vector: [6%, 8%, ...]")
                return None
            rates = []
            for i, v in enumerate(vec):
                r = self.number(v, vec.marks[i][0], f"{what} vector", unit="%")
                if r is not None:
                    rates.append(r)
            try:
                return Curve(kind, vector=tuple(rates), basis=str(value.get("basis", "deal")))
            except ValueError as e:
                self.error(value.mark, f"{what}: {e}")
                return None
        m = re.match(r"^\s*([\d.,]+)\s*(%?)\s*([A-Za-z]+)\s*$", str(value))
        if not m or m.group(3).upper() not in kinds:
            self.error(mark, f"{what}: cannot read {value!r}",
                       expected="a speed such as " + " or ".join(f"'{k_example(k)}'" for k in kinds), end=end)
            return None
        num = float(m.group(1).replace(",", "")) / 100.0
        kind = m.group(3).upper()
        if kind in ("ABS", "SMM", "MDR"):
            return Curve(kind, rate=num)
        if kind == "PPC":
            return None  # resolved against the deal's ramp by the caller
        return Curve(kind, rate=num)


def k_example(kind):
    return {"CPR": "25% CPR", "PSA": "100% PSA", "PPC": "100% PPC", "SMM": "1% SMM", "ABS": "1.5% ABS",
            "CDR": "2% CDR", "MDR": "0.2% MDR", "SDA": "100% SDA"}[kind]


_LINE_KEYS = {"group", "balance", "gross rate", "fee rate", "remaining term", "age", "amortization term",
              "io months", "arm", "penalty", "count"}
_ARM_KEYS = {"index", "margin", "first reset", "reset every", "initial cap", "periodic cap", "lifetime cap",
             "floor", "rounding"}
_TOP_KEYS = {"speeds", "horizon", "collateral", "loan tape", "prepayment", "defaults", "severity",
             "recovery lag", "delinquency", "indices", "parameters", "events"}


def speed_curve(speed: A.Speed) -> Curve:
    """The collateral curve a deal's pricing speed stands for (at 100%)."""
    if speed.kind is A.SpeedKind.RAMP:
        return Curve("PPC", ramp_start=speed.ramp_start, ramp_end=speed.ramp_end,
                       ramp_months=speed.ramp_months, basis=speed.basis.value)
    if speed.kind is A.SpeedKind.PPC:
        # A bare "PPC" without a ramp: the 100% PPC of the deal is then unknown.
        raise ValueError("a PPC speed needs its ramp: 'ramp 8% CPR to 24% CPR over 12 months'")
    return Curve(speed.kind.value, rate=speed.value)


def load_assumptions(path: str | Path, deal: A.Deal) -> Assumptions:
    path = str(path)
    text = read_source(path, "assumptions file")
    try:
        doc = _load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        span = A.Span(path, mark.line + 1, mark.column + 1) if mark else A.Span(path, 1, 1)
        raise DealError([Diagnostic(span, yaml_message(e))], {path: text}) from None
    r = _Reader(path, text, deal)
    if doc is None:
        doc = _Map()
        doc.marks, doc.mark = {}, None
    if not isinstance(doc, _Map):
        raise DealError([Diagnostic(A.Span(path, 1, 1), "the assumptions file must be a mapping of keys",
                                    expected="collateral:, speeds:, ...")], {path: text})
    r.keys(doc, _TOP_KEYS, "the assumptions file")
    out = _read(r, doc, deal, Path(path).parent)
    if r.diags:
        raise DealError(r.diags, {**r.sources, path: text})
    return out


def _val(doc: _Map, key):
    return doc[key], doc.marks[key][1], doc.marks[key][2]


def _read(r: _Reader, doc: _Map, deal: A.Deal, base: Path) -> Assumptions:
    # speeds
    speeds = tuple(q.value if q.unit == "%" else q.value / 100 for q in deal.header.table_speeds)
    if "speeds" in doc:
        v, mark, end = _val(doc, "speeds")
        if not isinstance(v, list):
            r.error(mark, "speeds: expected a list", expected="[0%, 100%, 200%]", end=end)
        elif len(v) > MAX_SPEEDS:
            r.error(mark, f"speeds: {len(v):,} speeds, more than the {MAX_SPEEDS} of one run",
                    expected=f"at most {MAX_SPEEDS} speeds (--grid runs more, chunk by chunk)")
        else:
            out = []
            for i, s in enumerate(v):
                x = r.number(s, v.marks[i][0], "speeds", unit="%", end=v.marks[i][1])
                if x is not None:
                    out.append(x)
            speeds = tuple(out)
    elif len(speeds) > MAX_SPEEDS:  # the deal's table speeds
        r.diags.append(Diagnostic(deal.header.span_of("table_speeds"),
                                  f"table speeds: {len(speeds):,} speeds, more than the {MAX_SPEEDS} of one run",
                                  expected=f"at most {MAX_SPEEDS} speeds (--grid runs more, chunk by chunk)"))
        r.sources[deal.path] = deal.source
    if not speeds:
        speeds = (1.0,)
    horizon = None
    if "horizon" in doc:
        v, mark, end = _val(doc, "horizon")
        horizon = r.integer(v, mark, "horizon", end=end)
        if horizon == 0:  # once silently the default; a run of no period has no figures
            r.error(mark, "horizon: 0 months: a run needs at least one period", end=end,
                    expected="a number of months from 1, or no 'horizon:' (the longest remaining term)")
    # collateral
    lines = []
    if "collateral" in doc:
        v, mark, end = _val(doc, "collateral")
        if not isinstance(v, list):
            r.error(mark, "collateral: expected a list of lines", expected="- group: 1 ...", end=end)
        else:
            for i, item in enumerate(v):
                line = _read_line(r, item, v.marks[i][0])
                if line is not None:
                    lines.append(line)
    if "loan tape" in doc:
        v, mark, end = _val(doc, "loan tape")
        tape = (base / str(v))
        try:
            lines.extend(load_tape(str(tape)))
        except TapeError as e:  # positioned in the tape: its line, shown with a caret
            r.diags.append(Diagnostic(A.Span(e.path, e.line, e.column), f"loan tape: {e.message}"))
            r.sources[e.path] = "\n" * (e.line - 1) + e.text
        except (OSError, ValueError) as e:
            r.error(mark, f"loan tape: {e}", end=end)
    if not lines and "collateral" not in doc and "loan tape" not in doc:
        r.error(doc.mark, "the assumptions file describes no collateral",
                expected="'collateral:' lines or a 'loan tape:'")
    groups_with_lines = {l.group for l in lines}
    for g in deal.groups:
        if lines and g.name not in groups_with_lines:
            r.error(doc.marks.get("collateral", (doc.mark,))[0], f"no collateral line belongs to group {g.name}")
    # prepayment overrides
    prepay = {}
    if "prepayment" in doc:
        v, mark, end = _val(doc, "prepayment")
        prepay = _per_group(r, v, mark, "prepayment", ("CPR", "PSA", "SMM", "ABS", "PPC"), deal)
    defaults = {}
    if "defaults" in doc:
        v, mark, end = _val(doc, "defaults")
        defaults = _per_group(r, v, mark, "defaults", ("CDR", "MDR", "SDA"), deal)
    severity = 0.0
    if "severity" in doc:
        severity = r.number(*_val(doc, "severity")[:2], "severity", unit="%") or 0.0
        if not 0 <= severity <= 1:
            r.error(doc.marks["severity"][1], "severity must be between 0% and 100%")
    lag = 0
    if "recovery lag" in doc:
        lag = r.integer(*_val(doc, "recovery lag")[:2], "recovery lag") or 0
    delinquency = {}
    if "delinquency" in doc:
        v, mark, end = _val(doc, "delinquency")
        if isinstance(v, _Map):
            for k in v:
                g = "all" if str(k) == "all" else r.group_name(k, v.marks[k][0])
                if g is not None:
                    delinquency[g] = _level_or_vector(r, v[k], v.marks[k][1], f"delinquency {k}")
        else:
            delinquency["all"] = _level_or_vector(r, v, mark, "delinquency")
    indices = {}
    if "indices" in doc:
        v, mark, end = _val(doc, "indices")
        declared = [i.name for i in deal.indices]
        if not isinstance(v, _Map):
            r.error(mark, "indices: expected a mapping of index names to levels", expected="LIBOR_1M: 1.10%")
        else:
            for k in v:
                if k not in declared:
                    r.error(v.marks[k][0], f"unknown index '{k}': {valid('index', declared)}",
                            hint=did_you_mean(k, declared),
                            expected="an index the deal declares")
                    continue
                indices[k] = _level_or_vector(r, v[k], v.marks[k][1], f"index {k}")
    for ix in deal.indices:  # every index the deal declares is read each period: it needs a level
        if ix.name not in indices and isinstance(doc.get("indices", _Map()), _Map) \
                and not any(d.message.startswith(f"index {ix.name}") for d in r.diags):
            r.error(doc.marks["indices"][0] if "indices" in doc else doc.mark,
                    f"index {ix.name} has no level", expected=f"'{ix.name}: 1.10%' (or a list by period) under 'indices:'",
                    hint=f"the deal declares it at {ix.span}")
    parameters = {}
    declared_params = {p.name: p for p in deal.parameters}
    if "parameters" in doc:
        v, mark, end = _val(doc, "parameters")
        if isinstance(v, _Map):
            for k in v:
                if k not in declared_params:
                    r.error(v.marks[k][0], f"unknown parameter '{k}': {valid('parameter', declared_params)}",
                            hint=did_you_mean(k, declared_params),
                            expected="a parameter the deal declares")
                    continue
                p = declared_params[k]
                unit = "%" if p.default is not None and p.default.unit in ("%", "bp") else ""
                if isinstance(v[k], str) and ("%" in v[k] or "bp" in v[k]):
                    unit = "%"
                x = r.number(v[k], v.marks[k][1], f"parameter {k}", unit=unit)
                if x is not None:
                    parameters[k] = x
        else:
            r.error(mark, "parameters: expected a mapping", expected="name: value")
    events = {}
    if "events" in doc:
        v, mark, end = _val(doc, "events")
        declared_events = [e.name for e in deal.events]
        if isinstance(v, _Map):
            for k in v:
                if k not in declared_events:
                    r.error(v.marks[k][0], f"unknown event '{k}': {valid('event', declared_events)}",
                            hint=did_you_mean(k, declared_events))
                elif str(v[k]) not in ("succeeds", "fails"):
                    r.error(v.marks[k][1], f"event {k}: expected 'succeeds' or 'fails', got {v[k]!r}")
                else:
                    events[k] = str(v[k])
    return Assumptions(path=r.path, lines=tuple(lines), speeds=speeds, horizon=horizon, prepayment=prepay,
                       defaults=defaults, severity=float(severity), recovery_lag=int(lag),
                       delinquency=delinquency, indices=indices, parameters=parameters, events=events,
                       stated=frozenset(str(k) for k in doc),
                       severity_stated="severity" in doc)


def _level_or_vector(r: _Reader, v, mark, what):
    if isinstance(v, list) and not v:
        r.error(mark, f"{what}: an empty list", expected="a level (1.10%) or a list of levels by period")
        return 0.0
    if isinstance(v, list):
        vals = [r.number(x, v.marks[i][0], what, unit="%") for i, x in enumerate(v)]
        return tuple(x if x is not None else 0.0 for x in vals)
    x = r.number(v, mark, what, unit="%")
    return 0.0 if x is None else x


def _per_group(r: _Reader, v, mark, what, kinds, deal) -> dict:
    out = {}
    if not isinstance(v, _Map):
        v2 = _Map({"all": v})
        v2.marks, v2.mark = {"all": (mark, mark, None)}, mark
        v = v2
    for k in v:
        g = "all" if str(k) == "all" else r.group_name(k, v.marks[k][0])
        if g is None:
            continue
        text = v[k]
        curve = r.curve(text, v.marks[k][1], f"{what} of group {k}", kinds)
        if curve is None and not isinstance(text, _Map) and "PPC" in str(text).upper():
            # "N% PPC": N% of the deal's own ramp for that group.
            speed = _deal_speed(deal, g)
            if speed is None or speed.kind is not A.SpeedKind.RAMP:
                r.error(v.marks[k][1], f"{what}: the deal defines no PPC ramp for group {k}")
                continue
            pct = float(re.match(r"\s*([\d.,]+)", str(text)).group(1).replace(",", "")) / 100
            curve = Curve("PPC", ramp_start=speed.ramp_start * pct, ramp_end=speed.ramp_end * pct,
                            ramp_months=speed.ramp_months, basis=speed.basis.value)
        if curve is not None:
            out[g] = curve
    return out


def _deal_speed(deal: A.Deal, group: str) -> Optional[A.Speed]:
    for g in deal.groups:
        if g.name == group and g.pricing_speed is not None:
            return g.pricing_speed
    return deal.header.pricing_speed


def _read_line(r: _Reader, item, mark) -> Optional[Line]:
    if not isinstance(item, _Map):
        r.error(mark, "a collateral line is a mapping", expected="group:, balance:, gross rate:, ...")
        return None
    r.keys(item, _LINE_KEYS, "a collateral line", required=("group", "balance", "gross rate", "remaining term"))
    n0 = len(r.diags)

    def get(key, kind, what=None, default=None):
        if key not in item:
            return default
        val, m, e = item[key], item.marks[key][1], item.marks[key][2]
        what = what or key
        if kind == "%":
            return r.number(val, m, what, unit="%", end=e)
        if kind == "$":
            return r.number(val, m, what, unit="$", end=e)
        return r.integer(val, m, what, end=e)

    group = r.group_name(item["group"], item.marks["group"][1]) if "group" in item else None
    balance = get("balance", "$")
    gross = get("gross rate", "%")
    fee = get("fee rate", "%", default=0.0)
    rem = get("remaining term", "n")
    age = get("age", "n", default=0)
    amort = get("amortization term", "n")
    io = get("io months", "n", default=0)
    count = get("count", "n", default=1)
    arm = None
    if "arm" in item:
        a, m = item["arm"], item.marks["arm"][1]
        if not isinstance(a, _Map):
            r.error(m, "arm: expected a mapping of ARM terms", expected=", ".join(sorted(_ARM_KEYS)))
        else:
            r.keys(a, _ARM_KEYS, "arm terms", required=("index", "margin", "first reset", "reset every",
                                                        "initial cap", "periodic cap", "lifetime cap"))
            declared = [i.name for i in r.deal.indices]

            def ag(key, kind, default=None):
                if key not in a:
                    return default
                val, mm, e = a[key], a.marks[key][1], a.marks[key][2]
                return r.number(val, mm, f"arm {key}", unit="%", end=e) if kind == "%" else \
                    r.integer(val, mm, f"arm {key}", end=e)
            idx = str(a.get("index", ""))
            if "index" in a and idx not in declared:
                r.error(a.marks["index"][1], f"arm index '{idx}' is not an index the deal declares",
                        hint=did_you_mean(idx, declared))
            vals = dict(margin=ag("margin", "%"), first_reset=ag("first reset", "n"),
                        reset_every=ag("reset every", "n"), initial_cap=ag("initial cap", "%"),
                        periodic_cap=ag("periodic cap", "%"), lifetime_cap=ag("lifetime cap", "%"),
                        floor=ag("floor", "%"), rounding=ag("rounding", "%"))
            if vals["reset_every"] == 0:
                r.error(a.marks["reset every"][1], "arm reset every: 0 months",
                        expected="a whole number of months from 1 (6: every six months)")
            if len(r.diags) == n0:
                arm = ArmTerms(index=idx, **vals)
    pen_rate, pen_months = 0.0, 0
    if "penalty" in item:
        p, m = item["penalty"], item.marks["penalty"][1]
        if isinstance(p, _Map):
            r.keys(p, {"rate", "months"}, "penalty", required=("rate", "months"))
            if "rate" in p:
                pen_rate = r.number(p["rate"], p.marks["rate"][1], "penalty rate", unit="%") or 0.0
            if "months" in p:
                pen_months = r.integer(p["months"], p.marks["months"][1], "penalty months") or 0
        else:
            r.error(m, "penalty: expected {rate: 2%, months: 36}")
    if gross is not None and not 0 <= gross < 1:
        r.error(item.marks["gross rate"][1], f"gross rate {item['gross rate']!r} is not a mortgage rate",
                expected="a rate from 0% to below 100%")
    if fee is not None and gross is not None and not 0 <= fee <= max(gross, 0):
        r.error(item.marks["fee rate"][1], f"fee rate {item['fee rate']!r} is more than the gross rate",
                expected="servicing + trustee fees below the gross rate")
    if len(r.diags) > n0 or group is None or balance is None or gross is None or rem is None:
        return None
    try:
        return Line(group=group, balance=balance, gross_rate=gross, fee_rate=fee, remaining_term=rem, age=age,
                      amort_term=amort, io_months=io, arm=arm, penalty_rate=pen_rate,
                      penalty_months=pen_months, count=count)
    except ValueError as e:
        r.error(mark, f"collateral line: {e}")
        return None
