"""`waterfall lsp` / `python -m interpreter.lsp` without the 'lsp' extra: one line, exit 2."""
import sys

from interpreter.lsp import main


def test_without_pygls_the_server_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls", None)  # import pygls now raises ImportError
    assert main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'waterfall-dsl[lsp]'" in err
