"""The assumptions file is read with libyaml's parser when PyYAML has it and
the text is one on which libyaml and PyYAML agree, else with the pure-Python
parser. Whichever reads it, the outcome must be the pure-Python one: the same
values, the same positions, and the same files refused."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from interpreter import assumptions as AS

from . import mutations as M

ROOT = Path(__file__).resolve().parents[2]
YAMLS = sorted((ROOT / "deals").glob("*.assumptions.yaml"))

pytestmark = pytest.mark.skipif(AS._CLoader is None, reason="PyYAML without libyaml")


def plain(doc):
    """The document with every position it remembers, as plain values."""
    def mark(m):
        return None if m is None else (m.line, m.column)
    if isinstance(doc, AS._Map):
        return ("map", mark(doc.mark), [(k, plain(v), tuple(mark(m) for m in doc.marks[k])) for k, v in doc.items()])
    if isinstance(doc, AS._Seq):
        return ("seq", mark(doc.mark), [(plain(v), tuple(mark(m) for m in ms)) for v, ms in zip(doc, doc.marks)])
    return (type(doc).__name__, doc)


def outcome(text, loader=None):
    """('ok', the document) or ('error', None); loader None: the loading run-deal does."""
    try:
        return "ok", plain(AS._load_yaml(text) if loader is None else yaml.load(text, Loader=loader))
    except yaml.YAMLError:
        return "error", None


def read_by_c(text) -> bool:
    """Whether _load_yaml takes libyaml's reading of this text."""
    if not text.endswith("\n") or any(c in text for c in "\t?\ufeff"):
        return False
    try:
        yaml.load(text, Loader=AS._CLoader)
        return True
    except (yaml.YAMLError, AS._NotForC):
        return False


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_the_loaders_agree_on_the_bundled_files(path):
    text = path.read_text(encoding="utf-8")
    assert read_by_c(text), "the bundled files are the ones libyaml should read"
    assert outcome(text) == outcome(text, AS._Loader)
    assert outcome(text)[0] == "ok"


YAML_CHARS = "[]{}:-'\"\t#&*!|>%@`,? \n\\\r\x85\u2028\ufeff\x00~=^;$()<."


def yaml_mutation(text: str, rng: random.Random) -> str:
    """Insert, delete or replace one character, with YAML's own punctuation
    among the candidates (the token mutations of M rarely break YAML)."""
    i = rng.randrange(len(text) + 1)
    kind = rng.randrange(3)
    ch = rng.choice(YAML_CHARS)
    if kind == 0:
        return text[:i] + ch + text[i:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    return text[:i] + ch + text[i + 1:]


def test_the_loaders_agree_on_mutated_files():
    rng = random.Random(20240125)
    texts = [p.read_text(encoding="utf-8") for p in YAMLS]
    seen = {"ok": 0, "error": 0, "read by libyaml": 0}
    for k in range(3000):
        text = texts[k % len(texts)]
        if k % 2:
            _, text = M.random_mutation(text, rng)
        for _ in range(1 + k % 3):
            text = yaml_mutation(text, rng)
        ours, py = outcome(text), outcome(text, AS._Loader)
        assert ours == py, f"the loading differs from PyYAML's on:\n{text!r}"
        seen[ours[0]] += 1
        seen["read by libyaml"] += read_by_c(text)
    assert seen["ok"] > 300 and seen["error"] > 300 and seen["read by libyaml"] > 300, seen


@pytest.mark.parametrize("text", [
    "speeds: [0%, 100%\n",
    "collateral:\n  - group: 1\n   balance: 1\n",
    "a: 'h\u00e9llo'\nb\u00e9: {x: 1, \u00fc: [1, 2]}\n",
    "\ufeffspeeds: [0%]\n",
    "a: \"x\\ty\"\n\tb: 1\n",
    "a: 1\nb: @x\n",
    "",
    "a:\n  b: c",
    "a: {x: 1, y: , z: 2}\n",
    "a: [1, 2:, 3]\n",
    "a: {ind?x: 1}\n",
    "a: {x: 1, r\teset: 2}\n",
    "a:\n  ># comment\n  - {x: 1}\n",
    "a:\n  |# comment\n  - {x: 1}\n",
], ids=["unclosed", "indent", "non-ascii", "bom", "tab", "reserved", "empty", "no last newline", "empty value",
        "colon in a flow sequence", "question mark", "tab in a key",
        "folded", "literal"])
def test_the_loaders_agree_on_awkward_texts(text):
    assert outcome(text) == outcome(text, AS._Loader)


def test_a_yaml_error_reads_as_the_python_loader_words_it(tmp_path, seq_deal):
    path = tmp_path / "bad.assumptions.yaml"
    path.write_text("speeds: [0%, 100%\ncollateral: []\n", encoding="utf-8")
    with pytest.raises(AS.DealError) as e:
        AS.load_assumptions(path, seq_deal)
    try:
        yaml.load(path.read_text(encoding="utf-8"), Loader=AS._Loader)
    except yaml.YAMLError as py:
        expected = f"{path}:{py.problem_mark.line + 1}:{py.problem_mark.column + 1}: error: {AS.yaml_message(py)}"
    assert e.value.render().splitlines()[0] == expected
