"""What the language server knows of one deal text, without the protocol.

``analyse(text, path)`` parses the text an editor holds (not the file on
disk), checks it as ``run-deal --check`` does, with the assumptions file
beside the deal when there is one, and indexes its names; hover, definition,
references, completion and the outline are answered from that. Positions are
``dsl.ast.Span``'s (1-based lines and columns, in characters): the server
turns them into the protocol's 0-based ones. No pygls here, so all of it is
tested without the extra.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import attrs

from dsl import ast as A
from dsl.builtins import FUNCTIONS, VARIABLES
from dsl.diagnostics import DealError, Diagnostic
from dsl.symbols import (BUILTIN, GROUP, NAMES, Index, OutlineItem, Symbol, builtin_entries, index_deal,
                         index_text, outline_deal, outline_text, word_at)

HOVER_LINES = 40  # a declaration longer than this is shown cut, with a note


@attrs.frozen
class Analysis:
    path: str
    text: str
    deal: Optional[A.Deal]  # None: the text does not parse
    index: Index
    diagnostics: Dict[str, List[Diagnostic]]  # by file: the deal's, its assumptions file's (possibly empty)


def assumptions_path(deal_path: str) -> str:
    """The assumptions file run-deal reads by default: <deal stem>.assumptions.yaml beside the deal."""
    return str(Path(deal_path).with_suffix("")) + ".assumptions.yaml"


def _files(path: str) -> tuple:
    """The files a deal's diagnostics are published for, even when they have none
    (so that an editor clears what it showed): the deal, and its assumptions file if any."""
    apath = assumptions_path(path)
    return (path, apath) if Path(apath).is_file() else (path,)


def _by_file(diags, files) -> Dict[str, List[Diagnostic]]:
    out: Dict[str, List[Diagnostic]] = {f: [] for f in files}
    for d in sorted(diags, key=lambda d: (d.span.line, d.span.column)):
        out.setdefault(d.span.file, []).append(d)
    return out


def _with_assumptions(deal: A.Deal, path: str) -> List[Diagnostic]:
    """What run-deal --check reports after a sound deal: its assumptions file
    read against it, the tables covering every period the run reaches and the
    settlement date before its last payment (interpreter/reach.py)."""
    apath = assumptions_path(path)
    if not Path(apath).is_file():
        return []
    from ..assumptions import load_assumptions
    from ..reach import check_reach  # the check run-deal runs, not a copy of it
    try:
        check_reach(deal, load_assumptions(apath, deal))
    except DealError as e:
        return list(e.diagnostics)
    return []


def analyse(text: str, path: str) -> Analysis:
    """Parse, check and index the text of a deal file held in an editor."""
    from dsl.check import check
    from dsl.parse import parse
    try:
        deal = parse(text, path)
    except DealError as e:
        return Analysis(path, text, None, index_text(text, path), _by_file(e.diagnostics, _files(path)))
    diags = check(deal) or _with_assumptions(deal, path)  # the assumptions are read against a sound deal only
    return Analysis(path, text, deal, index_deal(deal), _by_file(diags, _files(path)))


def saved_diagnostics(path: str) -> Dict[str, List[Diagnostic]]:
    """On save: ``run-deal --check`` on the file as saved (``load_deal``, which also
    stores the checked deal in the deal cache, so the next run-deal starts warm),
    then its assumptions. The run-based warnings of a linter that runs the deal
    belong here: they need a saved, sound deal and cost a run, so they are
    reported on save only."""
    from dsl.check import load_deal
    try:
        deal = load_deal(path)
    except DealError as e:
        return _by_file(e.diagnostics, _files(path))
    from ..lint import lint_files
    return _by_file(_with_assumptions(deal, path) or lint_files(deal, assumptions_path(path)), _files(path))


# ------------------------------------------------------------------ names under the cursor
def _target(a: Analysis, line: int, column: int) -> Optional[Tuple[Tuple[str, str], A.Span]]:
    """The key of the name under the cursor and its span. A text that does not
    parse knows only its declarations: a word there is looked up by name."""
    occ = a.index.at(line, column)
    if occ is not None:
        return occ.key, occ.span
    if a.index.parsed:
        return None
    found = word_at(a.text, line, column)
    if found is None:
        return None
    word, span = found
    for key in ((NAMES, word), (GROUP, word), (BUILTIN, word)):
        if (key[0] == BUILTIN and word in builtin_entries()) or a.index.definition(key) is not None:
            return key, attrs.evolve(span, file=a.path)
    return None


def definition(a: Analysis, line: int, column: int) -> Optional[Symbol]:
    t = _target(a, line, column)
    return a.index.definition(t[0]) if t else None


def references(a: Analysis, line: int, column: int, include_declaration: bool = True) -> List[A.Span]:
    t = _target(a, line, column)
    if t is None or t[0][0] == BUILTIN:
        return []
    return [o.span for o in a.index.references(t[0], include_declaration)]


def hover(a: Analysis, line: int, column: int) -> Optional[Tuple[str, A.Span]]:
    """Markdown for the name under the cursor: a built-in's signature and
    documentation; a declared name's kind, title and declaration as written
    (a class's block, a formula with its label, a table's rows)."""
    t = _target(a, line, column)
    if t is None:
        return None
    (space, name), span = t
    if space == BUILTIN:
        return builtin_help(name), span
    sym = a.index.definition((space, name))
    if sym is None:
        return None
    lines = a.text.splitlines()[sym.extent.line - 1:sym.extent.end_line]
    more = ""
    if len(lines) > HOVER_LINES:
        more = f"\n\n({len(lines) - HOVER_LINES} more lines)"
        lines = lines[:HOVER_LINES]
    head = f"**{sym.title}**: {sym.kind} `{sym.name}`" if sym.title and sym.title != sym.name \
        else f"{sym.kind} `{sym.name}`"
    return f"{head}\n\n```waterfall\n" + "\n".join(lines) + "\n```" + more, span


def builtin_help(name: str) -> str:
    sig = builtin_entries()[name]
    doc = FUNCTIONS[name].doc if name in FUNCTIONS else VARIABLES[name]
    text = f"```waterfall\n{sig}\n```\n\n{doc}"
    ref = _language_doc().get(name)
    if ref and ref.lower() != doc.lower():
        text += f"\n\n{ref}"
    return text + ("\n\nA group argument is `group G` or `all groups`; left out, all groups."
                   if name in FUNCTIONS and "group" in FUNCTIONS[name].args else "")


@functools.lru_cache(maxsize=1)
def _language_doc() -> Dict[str, str]:
    """The built-in functions' lines of docs/language.md (its table of built-in
    functions), when the package runs from its source folder."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "language.md"
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    for row in re.finditer(r"^\|([^|\n]*`\w+\([^|\n]*)\|([^|\n]+)\|\s*$", text, re.M):
        for fn in re.findall(r"`(\w+)\(", row.group(1)):
            if fn in FUNCTIONS:
                out[fn] = row.group(2).strip()
    return out


# ------------------------------------------------------------------ completion and outline
@attrs.frozen
class Completion:
    label: str
    kind: str  # a symbol kind, 'function', 'value' (a built-in) or 'keyword'
    detail: str = ""
    documentation: str = ""


@functools.lru_cache(maxsize=1)
def keywords() -> Tuple[str, ...]:
    """The words of the language: every literal of grammar/waterfall.lark
    ('pay', 'pro rata', 'current and unpaid interest', ...)."""
    import importlib.resources
    grammar = importlib.resources.files("grammar").joinpath("waterfall.lark").read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in grammar.splitlines())
    return tuple(sorted(set(re.findall(r'"([a-z][a-z ]*[a-z])"', code))))


def completions(a: Analysis) -> List[Completion]:
    """Every name the deal declares, the built-ins and the keywords (an editor
    filters them by what is typed)."""
    out = [Completion(s.name, s.kind, s.title) for s in a.index.symbols]
    for name, sig in builtin_entries().items():
        out.append(Completion(name, "function" if name in FUNCTIONS else "value", sig,
                              FUNCTIONS[name].doc if name in FUNCTIONS else VARIABLES[name]))
    named = {c.label for c in out}
    out += [Completion(k, "keyword") for k in keywords() if k not in named]  # 'period' is a value too
    return out


def outline(a: Analysis) -> List[OutlineItem]:
    return outline_deal(a.deal, a.index) if a.deal is not None else outline_text(a.text, a.path)
