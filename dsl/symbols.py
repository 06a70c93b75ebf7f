"""Where each name of a deal is declared and where it is used, and the deal's outline.

What an editor needs to navigate a deal file (the language server in
``interpreter.lsp`` reads it; nothing here knows the protocol):

- ``index_deal(deal)``: every declared name (a ``Symbol``: its kind, the span
  of the name where it is declared, the lines of its declaration) and every
  occurrence of a name (an ``Occurrence``: which name, where), from the parsed
  AST. Names share one namespace, as the checker has it, except groups
  (``group 1`` names a group, never a class) and the built-ins.
- ``index_text(text, path)``: the same from a line scan of the top-level
  declarations, for a file that does not parse; it knows declarations only.
- ``outline_deal(deal)`` / ``outline_text(text, path)``: the deal's outline
  (header, groups, classes, defined terms, the waterfall and its clauses, the
  losses), from the AST or from the line scan.

Positions are those of ``dsl.ast.Span``: 1-based lines and columns, counted
in characters, the end column exclusive. The AST's spans cover a declaration
or a step as a whole; the span of a name inside it is found in the source line,
after the keyword that introduces it.
"""
from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Tuple

import attrs

from . import ast as A
from .builtins import FUNCTIONS, VARIABLES
from .check import deal_expressions, iter_exprs, iter_steps

NAME = r"(?!\d+[eE][+-]?\d+(?![\w-])|\d+(?:\.\d+)?bp\b)(?:\d+-)*[A-Za-z0-9_]*[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"  # as NAME in grammar/waterfall.lark
STRING = r'"(?:[^"\\\n]|\\.)*"'

# The keyword that starts each declaration, and the kind of name it declares.
DECLARATION_KINDS = {
    "index": "index", "group": "group", "class": "class", "classes": "class set", "table": "table",
    "define": "formula", "parameter": "parameter", "account": "account", "schedule": "schedule",
    "contract": "contract", "distribution": "distribution", "event": "event",
}
SECTION_KEYWORDS = ("deal", "waterfall", "losses")  # top-level sections that declare no name
GROUP, BUILTIN, NAMES = "group", "builtin", ""  # namespaces of Occurrence.key


@attrs.frozen
class Symbol:
    """A declared name: ``span`` is the name itself, ``extent`` the declaration's lines."""
    kind: str
    name: str
    title: str
    span: A.Span
    extent: A.Span

    @property
    def key(self) -> Tuple[str, str]:
        return (GROUP if self.kind == "group" else NAMES, self.name)


@attrs.frozen
class Occurrence:
    """A name written in the deal: key is (namespace, name), namespace '' for
    the deal's own names, 'group' for groups, 'builtin' for built-in functions
    and values."""
    key: Tuple[str, str]
    span: A.Span
    is_declaration: bool = False


@attrs.frozen
class OutlineItem:
    kind: str  # a DECLARATION_KINDS value, or 'deal', 'waterfall', 'clause', 'losses'
    name: str
    detail: str
    span: A.Span  # the name (or the keyword of a section without one)
    extent: A.Span
    children: tuple = ()


@attrs.frozen
class Index:
    symbols: tuple  # of Symbol, in file order
    occurrences: tuple  # of Occurrence, in file order
    parsed: bool  # False: built by the line scan of a file that does not parse

    def definition(self, key) -> Optional[Symbol]:
        return next((s for s in self.symbols if s.key == tuple(key)), None)

    def references(self, key, include_declaration: bool = True) -> List[Occurrence]:
        key = tuple(key)
        return [o for o in self.occurrences if o.key == key and (include_declaration or not o.is_declaration)]

    def at(self, line: int, column: int) -> Optional[Occurrence]:
        """The occurrence under a cursor at (line, column); a cursor just after a
        name (where typing leaves it) counts as on it."""
        touching = [o for o in self.occurrences
                    if o.span.line == line and o.span.column <= column <= o.span.end_column]
        inside = [o for o in touching if column < o.span.end_column]
        return (inside or touching or [None])[0]


# ------------------------------------------------------------------ the source text
def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _code(line: str) -> str:
    """The line without its comment and with its strings blanked (a '#' or a
    parenthesis inside quotes is text)."""
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "#":
            break
        if ch == '"':
            m = re.compile(STRING).match(line, i)
            j = m.end() if m else len(line)
            out.append('"' + " " * max(j - i - 2, 0) + '"')
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def block_extent(lines: List[str], path: str, line: int, column: int = 1) -> A.Span:
    """The lines of the declaration, section or clause starting at ``line``: its
    indented block and the lines a parenthesis or a backslash continues;
    trailing blank and comment lines left out."""
    base = _indent(lines[line - 1]) if line - 1 < len(lines) else 0
    depth, end, i = 0, line, line - 1
    continued = False
    while i < len(lines):
        text = lines[i]
        code = _code(text)
        if i > line - 1 and depth <= 0 and not continued:
            if not code.strip():
                i += 1
                continue
            if _indent(text) <= base:
                break
        depth += code.count("(") - code.count(")")
        continued = code.rstrip().endswith("\\")
        end = i + 1
        i += 1
    last = lines[end - 1] if end - 1 < len(lines) else ""
    return A.Span(path, line, column, end, len(last.rstrip()) + 1)


def _locate(lines: List[str], span: A.Span, text: str, before: str = "", quoted: bool = False) -> Optional[A.Span]:
    """The span of a name (or a quoted name) written in ``span``, after the regex
    ``before`` (the keyword that introduces it)."""
    word = re.escape('"' + text + '"') if quoted else r"(?<![\w-])" + re.escape(text) + r"(?![\w-])"
    pattern = re.compile(f"{before}({word})")
    for ln in range(span.line, max(span.end_line, span.line) + 1):
        if not 0 < ln <= len(lines):
            break
        s = lines[ln - 1]
        m = pattern.search(s, span.column - 1 if ln == span.line else 0)
        if m:
            return A.Span(span.file, ln, m.start(1) + 1, ln, m.end(1) + 1)
    return None


# ------------------------------------------------------------------ from the AST
def _declarations(deal: A.Deal) -> Iterator[Tuple[str, object]]:
    for keyword, items in (("index", deal.indices), ("group", deal.groups), ("class", deal.classes),
                           ("classes", deal.sets), ("table", deal.tables), ("define", deal.defines),
                           ("parameter", deal.parameters), ("account", deal.accounts),
                           ("schedule", deal.schedules), ("contract", deal.contracts),
                           ("distribution", deal.distributions), ("event", deal.events)):
        for item in items:
            yield keyword, item


class _Indexer:
    def __init__(self, deal: A.Deal):
        self.deal = deal
        self.path = deal.path
        self.lines = deal.source.splitlines()
        self.symbols: List[Symbol] = []
        self.occurrences: List[Occurrence] = []

    def add(self, key, span: Optional[A.Span], declaration: bool = False):
        if span is not None:
            self.occurrences.append(Occurrence(key, span, declaration))

    def name_in(self, span, name, before="", quoted=False, key=None):
        self.add(key or (NAMES, name), _locate(self.lines, span, name, before, quoted))

    def run(self) -> Index:
        for keyword, item in _declarations(self.deal):
            quoted = keyword == "classes"
            where = _locate(self.lines, item.span, item.name, before=keyword + r"\s+", quoted=quoted)
            if where is None:
                continue  # a declaration the source does not show (a deal built in code)
            title = getattr(item, "title", "") or ""
            sym = Symbol(DECLARATION_KINDS[keyword], item.name, title, where,
                         block_extent(self.lines, self.path, item.span.line, item.span.column))
            self.symbols.append(sym)
            self.add(sym.key, where, declaration=True)
        self.references()
        self.occurrences.sort(key=lambda o: (o.span.line, o.span.column))
        return Index(tuple(self.symbols), tuple(self.occurrences), parsed=True)

    def references(self):
        d, h = self.deal, self.deal.header
        if h.table_event:
            self.name_in(h.span_of("table_event"), h.table_event, before=r"event\s+")
        for c in d.classes:
            if c.group is not None:
                self.name_in(c.span_of("group"), c.group, before=r"group\s+", key=(GROUP, c.group))
        for s in d.sets:
            self.targets(s.members)
        for e in d.events:
            self.targets(e.retires)
        for sc in d.schedules:
            self.name_in(sc.span, sc.group, before=r"of\s+group\s+", key=(GROUP, sc.group))
        for e in deal_expressions(d):
            self.expression(e)
        blocks = [x.steps for x in d.distributions]
        if d.waterfall is not None:
            blocks += [c.steps for c in d.waterfall.clauses]
        for steps in blocks:
            for st in iter_steps(steps):
                self.step(st)
        if d.losses is not None:
            for st in d.losses.steps:
                self.targets(st.targets)

    def step(self, st):
        if isinstance(st, (A.Pay, A.Accrete)):
            self.targets(st.targets)
        if isinstance(st, A.FromBlock):
            for f in st.funds:
                self.fund(f)
        if isinstance(st, A.Accrete):
            self.fund(st.into)
        if isinstance(st, A.Deposit):
            self.name_in(st.span, st.account, before=r"account\s+")

    def fund(self, f: A.Fund):
        if f.kind in (A.FundKind.ACCOUNT, A.FundKind.CONTRACT):
            self.name_in(f.span, f.group, before=r"(?:account|contract)\s+")
        elif f.group is not None:
            self.name_in(f.span, f.group, before=r"group\s+", key=(GROUP, f.group))

    def targets(self, refs):
        for r in refs:
            if isinstance(r, A.ClassRef):
                self.add((NAMES, r.name), r.span)
            elif isinstance(r, A.SetRef):
                self.add((NAMES, r.name), r.span)
            elif isinstance(r, A.ClassRange):
                first = _locate(self.lines, r.span, r.first)
                self.add((NAMES, r.first), first)
                if first is not None:
                    after = A.Span(r.span.file, first.line, first.end_column, r.span.end_line, r.span.end_column)
                    self.name_in(after, r.last, before=r"\.\.\s*")

    def expression(self, e):
        class_or_event = set()
        for node in iter_exprs(e):
            if isinstance(node, A.Call):
                fn = FUNCTIONS.get(node.fn)
                self.add((BUILTIN, node.fn) if fn else (NAMES, node.fn),
                         A.Span(node.span.file, node.span.line, node.span.column,
                                node.span.line, node.span.column + len(node.fn)))
                if fn is not None:
                    kinds = list(fn.args) + [fn.variadic] * max(0, len(node.args) - len(fn.args))
                    class_or_event |= {id(a) for a, k in zip(node.args, kinds) if k in ("class", "event")}
            elif isinstance(node, A.Name):
                declared = id(node) in class_or_event or node.id not in VARIABLES
                self.add((NAMES if declared else BUILTIN, node.id), node.span)
            elif isinstance(node, A.SetArg):
                self.add((NAMES, node.name), node.span)
            elif isinstance(node, A.GroupRef) and node.name is not None:
                self.name_in(node.span, node.name, before=r"group\s+", key=(GROUP, node.name))


def index_deal(deal: A.Deal) -> Index:
    """Declarations and uses of every name in a parsed deal (its ``source`` is read
    for the names' columns)."""
    return _Indexer(deal).run()


# ------------------------------------------------------------------ the line scan
_TOP = re.compile(r"(?P<kw>" + "|".join(sorted(list(DECLARATION_KINDS) + list(SECTION_KEYWORDS), key=len,
                                                 reverse=True))
                  + r")(?![\w-])[ \t]*(?P<name>" + STRING + "|" + NAME + r"|\d+)?[ \t]*(?P<title>" + STRING + ")?")
_CLAUSE = re.compile(r"[ \t]+clause[ \t]+(?P<name>" + STRING + ")")


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1]) if s.startswith('"') else s


def outline_text(text: str, path: str = "<string>") -> List[OutlineItem]:
    """The outline from a scan of the lines: each top-level declaration (a line
    at the left margin that starts with its keyword), and the waterfall's clauses."""
    lines = text.splitlines()
    items: List[OutlineItem] = []
    clauses: List[OutlineItem] = []

    def close():
        if items and items[-1].kind == "waterfall" and clauses:
            items[-1] = attrs.evolve(items[-1], children=tuple(clauses))
        clauses.clear()

    for n, line in enumerate(lines, 1):
        m = _TOP.match(line)
        if m:
            close()
            kw, name, title = m.group("kw"), m.group("name"), m.group("title")
            if kw in SECTION_KEYWORDS and kw != "deal":
                title, name = name, None  # 'waterfall "Priority of Distributions"': the string is its title
            if name is None and kw not in SECTION_KEYWORDS:
                continue  # an unfinished declaration: nothing to show yet
            where = A.Span(path, n, m.start("name") + 1, n, m.end("name") + 1) if name else \
                A.Span(path, n, 1, n, len(kw) + 1)
            items.append(OutlineItem(DECLARATION_KINDS.get(kw, kw), _unquote(name or kw),
                                     _unquote(title or ""), where, block_extent(lines, path, n)))
            continue
        m = _CLAUSE.match(line)
        if m and items and items[-1].kind == "waterfall":
            clauses.append(OutlineItem("clause", _unquote(m.group("name")), "",
                                       A.Span(path, n, m.start("name") + 1, n, m.end("name") + 1),
                                       block_extent(lines, path, n, _indent(line) + 1)))
    close()
    return items


def index_text(text: str, path: str = "<string>") -> Index:
    """What the line scan knows of a file that does not parse: its top-level
    declarations (no uses)."""
    symbols = tuple(Symbol(it.kind, it.name, it.detail, it.span, it.extent)
                    for it in outline_text(text, path) if it.kind in DECLARATION_KINDS.values())
    return Index(symbols, tuple(Occurrence(s.key, s.span, True) for s in symbols), parsed=False)


def outline_deal(deal: A.Deal, index: Optional[Index] = None) -> List[OutlineItem]:
    """The outline of a parsed deal: the same items as ``outline_text`` finds
    in its source, with the titles the AST holds."""
    index = index or index_deal(deal)
    lines = deal.source.splitlines()
    items = [OutlineItem(s.kind, s.name, s.title, s.span, s.extent) for s in index.symbols]
    h = deal.header
    where = _locate(lines, h.span, h.name, before=r"deal\s+", quoted=True)
    if where is not None:
        items.append(OutlineItem("deal", h.name, "", where, block_extent(lines, deal.path, h.span.line)))
    for kw, section in (("waterfall", deal.waterfall), ("losses", deal.losses)):
        if section is None:
            continue
        sp = section.span
        children = ()
        if kw == "waterfall":
            children = tuple(OutlineItem("clause", c.label, "", _locate(lines, c.span, c.label, quoted=True) or c.span,
                                         block_extent(lines, deal.path, c.span.line, c.span.column))
                             for c in section.clauses)
        items.append(OutlineItem(kw, kw, section.title, A.Span(deal.path, sp.line, sp.column, sp.line,
                                                               sp.column + len(kw)),
                                 block_extent(lines, deal.path, sp.line, sp.column), children))
    items.sort(key=lambda it: (it.extent.line, it.extent.column))
    return items


def word_at(text: str, line: int, column: int) -> Optional[Tuple[str, A.Span]]:
    """The name (or quoted string, unquoted) under a cursor, from the text alone."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    s = lines[line - 1]
    for m in re.finditer(STRING + "|" + NAME + r"|\d+", s):
        if m.start() + 1 <= column <= m.end() + 1:
            return _unquote(m.group()), A.Span("", line, m.start() + 1, line, m.end() + 1)
    return None


def builtin_entries() -> Dict[str, str]:
    """Each built-in function and value with its signature line."""
    out = {}
    for fn in FUNCTIONS.values():
        args = list(fn.args)
        if fn.optional_group and args and args[-1] == "group":
            args[-1] = "[group]"
        if fn.variadic:
            args.append("...")
        out[fn.name] = f"{fn.name}({', '.join(args)})"
    for v in VARIABLES:
        out[v] = v
    return out
