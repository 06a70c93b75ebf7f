"""Small text mutations of a deal or assumptions file, shared by the fuzz
tests (``tests/errors/test_fuzz.py``, driven by hypothesis) and the fuzz
benchmark (``benchmarks/fuzz.py``, driven by ``random``).

A mutation is a pure function ``(text, *choices) -> text``; the choices are
indices into the text's tokens or lines (taken modulo their count, so any
non-negative integer is valid) and replacement words. Keeping the randomness
outside makes a failing case easy to print and to replay.

This module has no package-relative imports so that the benchmark can load it
by path.
"""
from __future__ import annotations

import random
import re
from typing import Callable, Dict, List, Tuple

# A token: a number (with its separators, decimals and unit), a date, a name
# (hyphens inside, as in "1-A-1"), a quoted string, or one other visible character.
TOKEN_RE = re.compile(
    r"""\d{4}-\d{2}-\d{2}
      | \$?\d+(?:,\d{3})*(?:\.\d+)?(?:[ ]?%|[ ]?bp\b)?
      | (?:\d+-)*[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*
      | "[^"\n]*"
      | \#[^\n]*
      | \S""",
    re.VERBOSE,
)
NUMBER_RE = re.compile(r"^\$?\d[\d,]*(?:\.\d+)?(?: ?%| ?bp)?$|^\d{4}-\d{2}-\d{2}$")
NAME_RE = re.compile(r"^(?:\d+-)*[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")


def tokens(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, text) of every token. A comment is one token, so that
    mutations land on the code rather than on the words of the comments."""
    return [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]


def _of_kind(text: str, pattern) -> List[Tuple[int, int, str]]:
    return [t for t in tokens(text) if pattern.match(t[2])]


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


# ------------------------------------------------------------------ the mutations
def delete_token(text: str, i: int) -> str:
    toks = tokens(text)
    if not toks:
        return text
    s, e, _ = toks[i % len(toks)]
    return _splice(text, s, e, "")


def duplicate_token(text: str, i: int) -> str:
    toks = tokens(text)
    if not toks:
        return text
    s, e, w = toks[i % len(toks)]
    return _splice(text, s, e, w + " " + w)


def swap_tokens(text: str, i: int, j: int) -> str:
    toks = tokens(text)
    if len(toks) < 2:
        return text
    a, b = sorted((toks[i % len(toks)], toks[j % len(toks)]))
    if a == b:
        return text
    return text[:a[0]] + b[2] + text[a[1]:b[0]] + a[2] + text[b[1]:]


def replace_number(text: str, i: int, new: str) -> str:
    nums = _of_kind(text, NUMBER_RE)
    if not nums:
        return text
    s, e, _ = nums[i % len(nums)]
    return _splice(text, s, e, new)


def replace_name(text: str, i: int, new: str) -> str:
    names = _of_kind(text, NAME_RE)
    if not names:
        return text
    s, e, _ = names[i % len(names)]
    return _splice(text, s, e, new)


def delete_line(text: str, i: int) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    del lines[i % len(lines)]
    return "".join(lines)


def duplicate_line(text: str, i: int) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    k = i % len(lines)
    line = lines[k] if lines[k].endswith("\n") else lines[k] + "\n"
    lines.insert(k, line)
    return "".join(lines)


MUTATIONS: Dict[str, Callable] = {
    "delete token": delete_token,
    "duplicate token": duplicate_token,
    "swap tokens": swap_tokens,
    "replace number": replace_number,
    "replace name": replace_name,
    "delete line": delete_line,
    "duplicate line": duplicate_line,
}

# Numbers a replacement draws from: the shapes the languages read (plain,
# separated, decimal, percent, basis points, dollar) and edge values (0,
# huge, a date-like run of digits).
NUMBER_SHAPES = ("{n}", "{n:,}", "{n}.{d}", "{n}%", "{n}.{d}%", "{n}bp", "${n}", "0", "0%", "-{n}",
                 "99999999999999999999", "1e309", "2024-{m:02d}-{d:02d}")
NAME_POOL = ("A", "B", "C", "D", "R", "Z", "group", "class", "pay", "to", "principal", "interest",
             "remaining", "sequentially", "balance", "coupon", "period", "available", "min", "all",
             "deal", "waterfall", "clause", "from", "of", "residual", "speeds", "collateral", "age",
             "gross", "rate", "x", "A-1", "1-A", "_", "if", "then", "else", "define", "table", "true",
             "null", "yes", "no", "PSA", "CPR")


def random_number(rng: random.Random) -> str:
    shape = rng.choice(NUMBER_SHAPES)
    return shape.format(n=rng.choice((0, 1, 2, 7, 12, 25, 100, 360, 1000, 10 ** 6, rng.randrange(10 ** 9))),
                        d=rng.randrange(1, 32), m=rng.randrange(0, 14))


def random_name(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(NAME_POOL)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDRZ_-0123456789") for _ in range(rng.randrange(1, 8)))


def random_mutation(text: str, rng: random.Random) -> Tuple[str, str]:
    """Apply one random mutation; return (description, new text)."""
    kind = rng.choice(list(MUTATIONS))
    fn = MUTATIONS[kind]
    i, j = rng.randrange(10 ** 6), rng.randrange(10 ** 6)
    if kind == "swap tokens":
        args = (i, j)
    elif kind == "replace number":
        args = (i, random_number(rng))
    elif kind == "replace name":
        args = (i, random_name(rng))
    else:
        args = (i,)
    return f"{kind}{args!r}", fn(text, *args)
