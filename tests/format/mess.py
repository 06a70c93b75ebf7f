"""Deal texts made messy without changing what they say, for the formatter's tests.

``mess(text, rnd, ...)`` re-indents every block with another unit (2, 3 or 8
spaces, or tabs), puts random runs of spaces and tabs between tokens (and
some space where tokens touched: 'min (a)', '85 +', '- 5%'), moves
continuation lines, repeats blank lines, and (if asked) adds numbered comments:
trailing ones and own-line ones at random indentation, between statements and
inside parentheses. It reads the text with the parser's own lexer and indenter,
independently of dsl.format, and never touches a token's own text.
"""
from __future__ import annotations

import re
from typing import List

from dsl.parse import _parser

LAYOUT = ("_NL", "_INDENT", "_DEDENT")
UNITS = ["  ", "   ", "        ", "\t"]
GAPS = [" ", "  ", "   ", "\t", " \t "]


def tokens(text: str):
    """(token, depth, starts_statement) of each token the parser reads."""
    out, depth, fresh = [], 0, True
    for tok in _parser().parse_interactive(text).iter_parse():
        if tok.type == "_NL":
            fresh = True
        elif tok.type == "_INDENT":
            depth += 1
        elif tok.type == "_DEDENT":
            depth -= 1
        else:
            out.append((tok, depth, fresh))
            fresh = False
    return out


def without_comments(text: str) -> str:
    """The text with every trailing comment cut and every comment line left out."""
    out = []
    for line in text.split("\n"):
        in_string, cut = False, len(line)
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif ch == "#" and not in_string:
                cut = i
                break
        code = line[:cut].rstrip()
        if code or not line.strip():
            out.append(code)
    return "\n".join(out)


def comment_texts(text: str) -> List[str]:
    """Every comment, in order, found in the gaps between tokens."""
    found, pos = [], 0
    for tok in [t for t, _, _ in tokens(text)] + [None]:
        end = len(text) if tok is None else tok.start_pos
        found.extend(c.rstrip() for c in re.findall(r"#[^\n]*", text[pos:end]))
        if tok is not None:
            pos = tok.end_pos
    return found


def mess(text: str, rnd, comments: bool = False, blank_lines: bool = True, move_continuations: bool = True) -> str:
    if not text.endswith("\n"):
        text += "\n"
    unit = rnd.choice(UNITS)
    rows = text.split("\n")[:-1]
    on_row: dict = {}
    for tok, depth, fresh in tokens(text):
        on_row.setdefault(tok.line - 1, []).append((tok, depth, fresh))
    out: List[str] = []
    n = 0

    def note():
        nonlocal n
        n += 1
        return f"# note-{n}"

    joined = False  # the row before ended with a backslash: this one continues it
    messy_col: dict = {}  # where each token is in the messy text (a tab counting 4, as the indenter counts it)
    opened: list = []  # the '(' still open in the statement so far, and its first token
    for r, row in enumerate(rows):
        toks = on_row.get(r, [])
        if not toks:
            if not row.strip():
                out.extend([""] * (rnd.choice([1, 1, 2, 3]) if blank_lines else 1))
            else:
                out.append(" " * rnd.randrange(0, 9) + row.strip())
            continue
        starts = toks[0][2]
        if comments and starts and rnd.random() < 0.3:
            out.append(rnd.choice(["", " ", unit, unit * 3]) + note())
        if comments and not starts and not joined and rnd.random() < 0.3:
            out.append(" " * rnd.randrange(0, 12) + note())  # inside parentheses
        if starts:
            lead, opened = unit * toks[0][1], [toks[0][0]]
        elif move_continuations:
            lead = row[:toks[0][0].column - 1] + " " * rnd.randrange(0, 3)
        else:  # keeps its place relative to the innermost '(' open above it, wherever that went
            anchor = opened[-1]
            moved = messy_col[id(anchor)] - width(rows[anchor.line - 1][:anchor.column - 1])
            lead = " " * max(0, width(row[:toks[0][0].column - 1]) + moved)
        line = lead
        for i, (tok, _, _) in enumerate(toks):
            if i:
                prev = toks[i - 1][0]
                gap = row[prev.end_column - 1:tok.column - 1]
                line += rnd.choice(GAPS) if gap else rnd.choice(["", "", " "])
            messy_col[id(tok)] = width(line)
            line += tok.value
            if tok.type == "LPAR":
                opened.append(tok)
            elif tok.type == "RPAR" and len(opened) > 1:
                opened.pop()
        tail = row[toks[-1][0].end_column - 1:].strip()
        if tail:
            line += rnd.choice(GAPS) + tail
        elif comments and rnd.random() < 0.3:
            line += rnd.choice(GAPS) + note()
        out.append(line)
        joined = tail.startswith("\\")
    return "\n".join(out) + "\n"


def width(s: str) -> int:
    return len(s.replace("\t", "    "))
