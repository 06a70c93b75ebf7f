"""The deal file shown in README.md parses, checks and runs."""
import re
from pathlib import Path

from dsl.check import check
from dsl.parse import parse

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_deal_example_is_a_valid_deal(tmp_path):
    text = README.read_text()
    section = text.split("## A deal file", 1)[1]
    example = re.search(r"```\n(.*?)```", section, re.S).group(1)
    deal = parse(example, "README.md")
    assert not check(deal), [d.render(example) for d in check(deal)]
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    yaml = tmp_path / "a.yaml"
    yaml.write_text("collateral:\n  - {group: 1, balance: \"80,000,000\", gross rate: 6.5%, fee rate: 0.5%, "
                    "remaining term: 358}\n")
    r = run(deal, load_assumptions(yaml, deal), [1.0])
    assert abs(r.principal[:, r.cls("A"), 0].sum() - 80_000_000) < 1e-4  # the pool pays A off
