"""Run to distribution N, save the deal state, run from it: every class's
interest and principal after N equal the uninterrupted run's, on both engines,
also when one engine saved the state and the other continues it. The continued
run projects the state's own collateral lines (read back from the file), not
the assumptions' lines from closing."""
import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import horizon, run
from interpreter.native import build as cbuild
from interpreter.state import dump, load_state, state_after, write_state
from interpreter.waterfall.run import distribution_schedule

from ..conftest import DEALS

ENGINES = ["numpy"] + (["c"] if cbuild.available() else [])
# (deal, speed, mode, cdr, severity, distributions N): N on either side of each deal's
# events at that scenario (J4: the Stepdown Date at 37 at 100%, the auction; HEL: its
# stepdown and trigger with losses)
CASES = [
    ("sequential-cmo", 1.0, "maturity", 0.0, 0.0, (1, 40)),
    ("agency-cmo", 2.0, "maturity", 0.0, 0.0, (12, 60)),
    ("prime-jumbo", 1.0, "maturity", 0.04, 0.4, (6, 48)),
    ("auto-abs", 1.0, "maturity", 0.02, 0.5, (3, 20)),
    ("subprime-hel", 1.0, "maturity", 0.08, 0.5, (24, 40)),
    ("cwalt-2004-j4", 1.0, "maturity", 0.0, 0.0, (24, 36, 37, 38)),
    ("cwalt-2004-j4", 1.0, "auction", 0.03, 0.45, (24, 60)),
]


def _load(name):
    deal = load_deal(DEALS / f"{name}.waterfall")
    return deal, load_assumptions(DEALS / f"{name}.assumptions.yaml", deal)


@pytest.mark.parametrize("name,speed,mode,cdr,sev,ns", CASES)
def test_continued_run_pays_what_the_uninterrupted_run_pays(tmp_path, name, speed, mode, cdr, sev, ns):
    deal, a = _load(name)
    kw = dict(to=(mode,), cdr=[cdr], severity=[sev])
    full = {e: run(deal, a, [speed], engine=e, inspect=True, keep_lines_after=ns, **kw) for e in ENGINES}
    dates = distribution_schedule(deal, horizon(deal, a))
    sold = full["numpy"].sold_period[0]
    for n in ns:
        if 0 <= sold < n:
            continue
        for saver in ENGINES:
            path = tmp_path / f"{name}-{n}-{saver}.yaml"
            write_state(str(path), dump(state_after(full[saver], n), full[saver]))
            state = load_state(str(path), deal, dates)  # through the file: every figure read back unrounded
            for cont in ENGINES:
                r = run(deal, a, [speed], engine=cont, start=state.start(deal), **kw)
                for f in ("interest", "principal", "carryover_paid", "balance", "writedown"):
                    np.testing.assert_allclose(getattr(r, f)[n:], getattr(full[saver], f)[n:], rtol=0, atol=1e-6,
                                               err_msg=f"{name} N={n} {saver}->{cont} {f}")
                    assert not getattr(r, f)[:n].any()  # nothing before the state's distribution


def test_events_before_the_state_keep_their_period(tmp_path):
    deal, a = _load("cwalt-2004-j4")
    full = run(deal, a, [1.0], to=("maturity",), inspect=True, keep_lines_after=(40,))
    state = state_after(full, 40)
    assert state.events == {"stepdown": 37}  # the Stepdown Date (May 2007 at 100%)
    assert "stepdown: 37" in dump(state, full)
