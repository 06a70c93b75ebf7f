"""Random deals and scenarios: money is conserved in every period.

Hypothesis writes small deals from the language's own pieces (sequential and
pro rata interest and principal, limits, conditions, accounts, distributions,
losses) and runs them over random speeds and credit; the engine's own check
raises on any period where collected != paid + held, and the test recomputes it."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from dsl.check import check
from dsl.parse import parse
from interpreter.assumptions import load_assumptions
from interpreter.engine import run

from ..support import YAML, deals


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=deals(), cdr=st.sampled_from(["0% CDR", "3% CDR", "15% CDR", "100% SDA"]),
       sev=st.sampled_from(["0%", "35%", "80%"]), lag=st.integers(0, 12),
       speeds=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 6.0]), min_size=1, max_size=4))
def test_random_deals_conserve_money_in_every_period(tmp_path, text, cdr, sev, lag, speeds):
    deal = parse(text, "random.waterfall")
    assert not check(deal), [d.render(text) for d in check(deal)]
    p = tmp_path / "a.yaml"
    p.write_text(YAML.replace("DEFAULTS", cdr).replace("SEVERITY", sev).replace("LAG", str(lag)))
    a = load_assumptions(p, deal)
    r = run(deal, a, speeds)  # raises ConservationError on any period that does not balance
    cash = r.cash().sum(axis=1)
    collected = sum(f.net_interest + f.principal + f.penalty for f in r.collateral.values()).T
    held = np.diff(np.concatenate([np.zeros((1,) + r.accounts.shape[1:]), r.accounts]), axis=0).sum(axis=1)
    np.testing.assert_allclose(cash + held, collected, rtol=0, atol=1e-5)
    assert (r.balance >= -1e-6).all()
