"""A small TextMate tokenizer over Python's re, enough for the grammar of
editors/vscode: top-level 'match' rules with 'name' or 'captures', and
'begin'/'end' regions with 'patterns' inside.

It follows the engine's search rule, which differs from Pygments': at each
position every pattern is searched forward, the match that starts first
wins, the earlier pattern on a tie, and inside a region its 'end' before its
patterns. Lines are fed with their newline, as VS Code's engine feeds them.
The regexes are run with Python's re: dsl/highlight.py keeps them in the
subset where re and Oniguruma agree. Checked by hand against VS Code's own
engine (vscode-textmate 9.3.2 with vscode-oniguruma 2.0.1, from npm): the same
scopes on every character of the bundled deals (55,299) and of a file of
every keyword, builtin and the snippets of test_textmate.py.
"""
from __future__ import annotations

import re


class TextMate:
    def __init__(self, grammar: dict):
        self.top = [self._compile(p) for p in grammar["patterns"]]

    def _compile(self, p: dict) -> dict:
        out = dict(p)
        if "match" in p:
            out["re"] = re.compile(p["match"])
        else:
            out["begin_re"] = re.compile(p["begin"])
            out["end_re"] = re.compile(p["end"])
            out["inner"] = [self._compile(q) for q in p.get("patterns", [])]
        return out

    def tokenize(self, text: str) -> list:
        """The scopes of every character of text, a tuple per character."""
        scopes: list = []
        stack: list = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            scopes.extend(self._line(body + "\n", stack)[:len(body)])
            scopes.extend(() for _ in line[len(body):])
        return scopes

    def _line(self, line: str, stack: list) -> list:
        out = [()] * len(line)
        pos = 0
        while pos < len(line):
            region = stack[-1] if stack else None
            base = tuple(r["name"] for r in stack if r.get("name"))
            candidates = ([("end", region["end_re"])] if region else []) + \
                [(p, p["re"] if "re" in p else p["begin_re"]) for p in (region["inner"] if region else self.top)]
            best = None
            for rule, rx in candidates:
                m = rx.search(line, pos)
                if m and (best is None or m.start() < best[1].start()):
                    best = (rule, m)
            if best is None:
                for i in range(pos, len(line)):
                    out[i] = base
                break
            rule, m = best
            for i in range(pos, m.start()):
                out[i] = base
            if rule == "end":
                for i in range(m.start(), m.end()):
                    out[i] = base
                stack.pop()
            elif "re" in rule:
                own = base + ((rule["name"],) if rule.get("name") else ())
                for i in range(m.start(), m.end()):
                    out[i] = own
                for g, cap in rule.get("captures", {}).items():
                    if m.group(int(g)) is not None:
                        for i in range(m.start(int(g)), m.end(int(g))):
                            out[i] = own + (cap["name"],)
            else:
                stack.append(rule)
                for i in range(m.start(), m.end()):
                    out[i] = base + ((rule["name"],) if rule.get("name") else ())
            if m.end() == m.start() and rule != "end" and "begin_re" not in rule:
                pos += 1  # an empty match must not stall the line
            else:
                pos = m.end()
        return out
