"""A YAML syntax error says what to do in plain words, at its line and column, in the
assumptions, a deal state and a grid file alike (assumptions.yaml_message)."""
import pytest

from interpreter.cli import main
from tests.conftest import DEALS

SEQ = str(DEALS / "sequential-cmo.waterfall")
GOOD = (DEALS / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, at, words", [
    (GOOD.replace("    age: 2", "   age: 2"), "10:4", "this line is indented differently from the lines above it"),
    (GOOD + "speeds2: [1%, 2%\n", None, "a '[' list not closed"),
    (GOOD + "indices:\n\t- 1%\n", None, "a tab: YAML indents with spaces"),
    (GOOD + "name: 'unclosed\n", None, "a quote not closed before the end of the file"),
])
def test_yaml_syntax_errors_in_plain_words(tmp_path, capsys, text, at, words):
    p = tmp_path / "a.yaml"
    p.write_text(text, encoding="utf-8")
    assert main([SEQ, "--assumptions", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:{at}: error: bad YAML: {words}" in err if at else f"error: bad YAML: {words}" in err, err
    assert "^" in err and "Traceback" not in err


def test_a_state_file_says_it_too(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("deal: Sequential CMO 2024-1\ndistribution: 3\n  date: 2024-04-25\n", encoding="utf-8")
    assert main([SEQ, "--state", str(p)]) == 2
    assert "bad YAML: a ':' where a value was expected" in capsys.readouterr().err
