"""The Last Scheduled Distribution Date is a date of the deal's structure: each class's last
principal at 0% prepayments with no defaults, whatever credit the assumptions state."""
from interpreter.cli import main
from tests.conftest import DEALS

SEQ = DEALS / "sequential-cmo.waterfall"


def _last_dates(capsys, *args):
    assert main([str(SEQ), "--speeds", "100", *args]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("-----")) + 1
    body = lines[start:lines.index("", start)]
    return {line.split()[0]: line.split()[-1] for line in body}


def test_the_assumptions_defaults_do_not_move_the_last_scheduled_date(tmp_path, capsys):
    base = _last_dates(capsys)
    text = (DEALS / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
    credit = tmp_path / "credit.assumptions.yaml"
    credit.write_text(text + "defaults: {all: 10% CDR}\nseverity: 40%\n", encoding="utf-8")
    assert base and all(v != "NA" for v in base.values())
    # with 10% CDR at 40% severity the 0% run itself would end sooner: the date must not
    assert _last_dates(capsys, "--assumptions", str(credit)) == base
    # while the tables at 100% do feel the defaults
    assert main([str(SEQ), "--speeds", "100", "--assumptions", str(credit), "--class", "A", "--to", "maturity"]) == 0
    with_credit = capsys.readouterr().out
    assert main([str(SEQ), "--speeds", "100", "--class", "A", "--to", "maturity"]) == 0
    assert with_credit.split("WAL (yr)")[1].split()[0] != capsys.readouterr().out.split("WAL (yr)")[1].split()[0]
