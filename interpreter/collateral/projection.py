"""Vectorised collateral projection for MBS/ABS loan pools.

Every projected quantity is a numpy array with a leading scenario axis ``S``
(``S == 1`` for a single run).  Loan lines sit on a second axis ``L``.  The
projection loops over the ``T`` deal periods only; scenarios and lines are
handled by array arithmetic on ``(S, L)`` arrays.  When a C compiler is
available, ``project`` runs the same formulas in the compiled kernel of
``interpreter.collateral_c`` instead (same results; ``engine="numpy"`` or
``WATERFALL_ENGINE=numpy`` forces this numpy path).

Conventions (all stated once here, referenced in the code below)
----------------------------------------------------------------
* Deal period ``t`` runs 1..T.  A line with age ``a`` at cut-off makes its
  payment number ``k = a + t`` in period ``t`` (its age at the end of the
  period).  Its age at the *start* of period ``t`` is ``k - 1``.
* Curve month (prepayment / default curves): ``basis="age"`` -> ``k = a + t``
  (a loan of age ``a`` at cut-off is at ramp month ``a + 1`` in period 1);
  ``basis="deal"`` -> ``t``.  A ``vector`` is always indexed by deal period
  ``t`` ("annual rates by period", last value held), whatever the basis.
* SMM = 1 - (1 - CPR)^(1/12);  MDR = 1 - (1 - CDR)^(1/12).
* PSA 100% = 0.2% CPR x month up to 6% CPR at month 30, then flat 6%;
  a PSA curve with ``rate`` r gives r x that CPR.
* PPC: CPR = start + (month - 1) x (end - start) / (ramp_months - 1) up to
  ``ramp_months``, then ``end`` (CWALT 2004-J4: 8% in month 1, +16%/11 per
  month, 24% from month 12).
* ABS: SMM = ABS / (1 - ABS x (month - 1)).
* SDA 100% (standard BMA): CDR = 0.02% x month up to 0.60% at month 30, flat
  0.60% through month 60, then falls 0.0095% a month to 0.03% at month 120,
  0.03% thereafter; ``rate`` r scales it.
* Scenario scaling: ``prepay_scale`` / ``default_scale`` multiply the annual
  rate for CPR/PSA/PPC/CDR/SDA curves (80% of a 25% CPR curve is 20% CPR), the
  monthly rate for SMM/MDR curves and the ABS speed for ABS curves.  A scaled
  rate is capped at 100%.
* Order of a period (the standard one):
    1. ARM resets taking effect in the period (see below);
    2. default = MDR x beginning balance; the surviving (performing) balance is
       beginning - default;  defaulted balance pays no interest;
    3. interest (gross) = surviving x rate / 12, fee = surviving x fee / 12;
    4. scheduled principal on the surviving balance: level payment on the
       remaining amortisation term n, P = B r / (1 - (1 + r)^-n), r = rate/12,
       scheduled = P - B r (== B r / ((1 + r)^n - 1)); the whole balance at
       the last amortisation month and at maturity (balloon);  zero while the
       loan is interest-only (k <= io_months), after which the payment is
       re-amortised over the months remaining;
    5. prepayment = SMM x (surviving - scheduled);
    6. end = surviving - scheduled - prepayment, so that
       begin = scheduled + prepayment + default + end.
* Loss = default x severity, booked in the period of default.  Recovery =
  default x (1 - severity), received ``recovery_lag`` periods after the
  default (dropped when that falls beyond the horizon).
* Prepayment charge = penalty_rate x prepayment while k <= penalty_months.
* ARM: the rate changes at age ``first_reset`` (and every ``reset_every``
  months after), i.e. it first applies to payment ``k = first_reset + 1``
  (a 2/28 makes 24 payments at its initial rate).  The reset in period ``t``
  reads ``index_paths[name][..., t - 1]``.  New rate = index + margin (rounded
  to the nearest ``rounding`` multiple first, as ARM notes do), limited to
  +/- ``initial_cap`` (first reset) or ``periodic_cap`` (later resets) around
  the current rate, then to [floor, initial rate + lifetime_cap] (floor None ->
  margin).  The line's ``gross_rate`` at cut-off is taken as the initial rate.
  Because the level payment is recomputed each period on the remaining term,
  the payment is re-amortised at each reset.
"""

from __future__ import annotations

import csv
import decimal
import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

__all__ = [
    "ArmTerms",
    "Line",
    "Curve",
    "Scenarios",
    "GroupFlows",
    "project",
    "aggregate",
    "load_tape",
    "combine",
    "monthly_rate",
    "cpr_to_smm",
    "smm_to_cpr",
    "psa_cpr",
    "ppc_cpr",
    "sda_cdr",
    "PREPAY_KINDS",
    "DEFAULT_KINDS",
]

PREPAY_KINDS = frozenset({"CPR", "SMM", "PSA", "PPC", "ABS"})
DEFAULT_KINDS = frozenset({"CDR", "MDR", "SDA"})
_VECTOR_KINDS = frozenset({"CPR", "CDR", "SMM", "MDR"})


# --------------------------------------------------------------------------
# validators
# --------------------------------------------------------------------------
def _finite(inst, attr, value):
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{attr.name} must be finite, got {value!r}")


def _nonneg(inst, attr, value):
    if value is not None and not (value >= 0):
        raise ValueError(f"{attr.name} must be >= 0, got {value!r}")


def _positive(inst, attr, value):
    if not (value >= 1):
        raise ValueError(f"{attr.name} must be >= 1, got {value!r}")


# --------------------------------------------------------------------------
# data classes
# --------------------------------------------------------------------------
@attrs.frozen
class ArmTerms:
    index: str  # name of an index curve, e.g. "LIBOR_6M"
    margin: float = attrs.field(validator=_finite)  # decimal, 0.0275
    first_reset: int = attrs.field(validator=_nonneg)  # months from origination to the first change
    reset_every: int = attrs.field(validator=_positive)  # months between later resets
    initial_cap: float = attrs.field(validator=[_finite, _nonneg])
    periodic_cap: float = attrs.field(validator=[_finite, _nonneg])
    lifetime_cap: float = attrs.field(validator=[_finite, _nonneg])
    floor: float | None = attrs.field(default=None, validator=_finite)  # None -> margin
    rounding: float | None = attrs.field(default=None, validator=_finite)  # None = no rounding

    def __attrs_post_init__(self):
        if not self.index:
            raise ValueError("ArmTerms.index must name an index curve")
        if self.rounding is not None and self.rounding <= 0:
            raise ValueError(f"rounding must be > 0 or None, got {self.rounding!r}")


@attrs.frozen
class Line:
    group: str
    balance: float = attrs.field(validator=[_finite, _nonneg])  # current balance at cut-off
    gross_rate: float = attrs.field(validator=[_finite, _nonneg])  # current note rate, decimal
    fee_rate: float = attrs.field(validator=[_finite, _nonneg])  # servicing + trustee + LPMI; net = gross - fee
    remaining_term: int = attrs.field(validator=_positive)  # months to maturity
    age: int = attrs.field(default=0, validator=_nonneg)  # months since origination
    amort_term: int | None = None  # remaining amortisation term if longer (balloon)
    io_months: int = attrs.field(default=0, validator=_nonneg)  # IO months from origination
    arm: ArmTerms | None = None
    penalty_rate: float = attrs.field(default=0.0, validator=[_finite, _nonneg])
    penalty_months: int = attrs.field(default=0, validator=_nonneg)
    count: int = attrs.field(default=1, validator=_nonneg)  # number of loans (information)

    def __attrs_post_init__(self):
        if not self.group:
            raise ValueError("Line.group must not be empty")
        if self.amort_term is not None and self.amort_term < self.remaining_term:
            raise ValueError(
                f"amort_term ({self.amort_term}) must be >= remaining_term ({self.remaining_term})"
            )


def _upper(s: str) -> str:
    return str(s).strip().upper()


def _float_tuple(v) -> tuple[float, ...]:
    return tuple(float(x) for x in v)


@attrs.frozen
class Curve:
    """A prepayment or default rate curve.

    kind in: CPR, SMM, PSA, PPC, ABS (prepay); CDR, MDR, SDA (default).
    """

    kind: str = attrs.field(converter=_upper)
    rate: float = 0.0  # CPR/CDR annual, SMM/MDR/ABS monthly; PSA/SDA multiple (1.0 = 100%)
    ramp_start: float = 0.0  # PPC: annual CPR at ramp month 1
    ramp_end: float = 0.0  # PPC: plateau annual CPR
    ramp_months: int = 0  # PPC: month at which the plateau is reached
    vector: tuple[float, ...] = attrs.field(default=(), converter=_float_tuple)  # by deal period
    basis: str = "age"  # "age": curve month = age + period; "deal": curve month = period

    def __attrs_post_init__(self):
        if self.kind not in PREPAY_KINDS | DEFAULT_KINDS:
            raise ValueError(
                f"unknown curve kind {self.kind!r}; expected one of "
                f"{sorted(PREPAY_KINDS | DEFAULT_KINDS)}"
            )
        if self.basis not in ("age", "deal"):
            raise ValueError(f"curve basis must be 'age' or 'deal', got {self.basis!r}")
        if self.vector and self.kind not in _VECTOR_KINDS:
            raise ValueError(f"a vector is allowed for {sorted(_VECTOR_KINDS)} curves, not {self.kind}")
        if self.kind == "PPC" and self.ramp_months < 1:
            raise ValueError("PPC curve needs ramp_months >= 1")
        for name in ("rate", "ramp_start", "ramp_end"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"curve {name} must be finite and >= 0, got {v!r}")
        if any(not (math.isfinite(v) and v >= 0) for v in self.vector):
            raise ValueError("curve vector values must be finite and >= 0")

    @property
    def is_prepay(self) -> bool:
        return self.kind in PREPAY_KINDS

    @property
    def is_default(self) -> bool:
        return self.kind in DEFAULT_KINDS


def _scen_array(v) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=float))
    if a.ndim != 1:
        raise ValueError(f"scenario arrays must be 1-d (S,), got shape {a.shape}")
    return a


@attrs.frozen(eq=False)
class Scenarios:
    """Scenario parameters; every array has shape (S,) (length-1 arrays broadcast)."""

    prepay_scale: np.ndarray = attrs.field(converter=_scen_array)
    default_scale: np.ndarray = attrs.field(converter=_scen_array)
    severity: np.ndarray = attrs.field(converter=_scen_array)
    recovery_lag: int = 0

    def __attrs_post_init__(self):
        try:
            np.broadcast_shapes(self.prepay_scale.shape, self.default_scale.shape, self.severity.shape)
        except ValueError:
            raise ValueError(
                "Scenarios arrays must have a common length S (or length 1): "
                f"{self.prepay_scale.shape}, {self.default_scale.shape}, {self.severity.shape}"
            ) from None
        for name in ("prepay_scale", "default_scale", "severity"):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"Scenarios.{name} must be finite and >= 0")
        if np.any(self.severity > 1):
            raise ValueError("Scenarios.severity must be <= 1")
        if int(self.recovery_lag) != self.recovery_lag or self.recovery_lag < 0:
            raise ValueError(f"recovery_lag must be an integer >= 0, got {self.recovery_lag!r}")

    @property
    def n(self) -> int:
        return int(
            np.broadcast_shapes(self.prepay_scale.shape, self.default_scale.shape, self.severity.shape)[0]
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prepay_scale, default_scale, severity) broadcast to (S,)."""
        s = (self.n,)
        return (
            np.broadcast_to(self.prepay_scale, s),
            np.broadcast_to(self.default_scale, s),
            np.broadcast_to(self.severity, s),
        )

    def take(self, sl) -> "Scenarios":
        p, d, v = self.arrays()
        return Scenarios(p[sl], d[sl], v[sl], self.recovery_lag)

    @classmethod
    def single(cls, prepay_scale=1.0, default_scale=1.0, severity=0.0, recovery_lag=0) -> "Scenarios":
        return cls(prepay_scale, default_scale, severity, recovery_lag)


@attrs.frozen(eq=False)
class GroupFlows:
    """Projected flows of one group, every array (S, T), summed over its lines."""

    begin_balance: np.ndarray
    scheduled_principal: np.ndarray
    prepayment: np.ndarray
    default: np.ndarray
    recovery: np.ndarray
    loss: np.ndarray
    interest: np.ndarray  # gross, on the performing (surviving) balance
    fee: np.ndarray
    net_interest: np.ndarray
    end_balance: np.ndarray
    gross_wac: np.ndarray  # beginning-balance weighted; 0 where balance 0
    net_wac: np.ndarray
    penalty: np.ndarray  # prepayment charges
    delinquent: np.ndarray  # 60+ delinquency fraction (pass-through)
    cutoff_balance: float

    @property
    def principal(self) -> np.ndarray:
        """Principal collections: scheduled + prepayment + recovery."""
        return self.scheduled_principal + self.prepayment + self.recovery

    @property
    def n_scenarios(self) -> int:
        return self.begin_balance.shape[0]

    @property
    def n_periods(self) -> int:
        return self.begin_balance.shape[1]

    def scenario(self, i: int) -> "GroupFlows":
        """The flows of scenario i alone (arrays (1, T))."""
        kw = {
            f.name: getattr(self, f.name)[i : i + 1]
            for f in attrs.fields(GroupFlows)
            if f.name != "cutoff_balance"
        }
        return GroupFlows(**kw, cutoff_balance=self.cutoff_balance)


_SUMMED = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "interest",
    "fee",
    "net_interest",
    "end_balance",
    "penalty",
)


def combine(flows: Mapping[str, GroupFlows] | Sequence[GroupFlows]) -> GroupFlows:
    """Pool-level flows: sums of the groups; WACs and delinquency weighted by beginning balance."""
    fl = list(flows.values()) if isinstance(flows, Mapping) else list(flows)
    if not fl:
        raise ValueError("combine() needs at least one GroupFlows")
    kw = {name: sum(getattr(f, name) for f in fl) for name in _SUMMED}
    begin = kw["begin_balance"]
    safe = np.where(begin > 0, begin, 1.0)
    for name in ("gross_wac", "net_wac", "delinquent"):
        num = sum(getattr(f, name) * f.begin_balance for f in fl)
        kw[name] = np.where(begin > 0, num / safe, 0.0)
    return GroupFlows(**kw, cutoff_balance=float(sum(f.cutoff_balance for f in fl)))


# --------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------
def cpr_to_smm(cpr):
    """SMM = 1 - (1 - CPR)^(1/12) (also CDR -> MDR)."""
    cpr = np.minimum(np.asarray(cpr, dtype=float), 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(np.log1p(-cpr) / 12.0)  # == 1 - (1 - CPR)^(1/12), accurate for small CPR


def smm_to_cpr(smm):
    """CPR = 1 - (1 - SMM)^12."""
    return 1.0 - (1.0 - np.asarray(smm, dtype=float)) ** 12


def psa_cpr(month, multiple: float = 1.0):
    """PSA: 100% = 0.2% CPR x month up to 6% at month 30, then flat; times ``multiple``."""
    m = np.asarray(month, dtype=float)
    return multiple * 0.06 * np.clip(m, 0.0, 30.0) / 30.0


def ppc_cpr(month, start: float, end: float, ramp_months: int):
    """PPC: start + (month-1)(end-start)/(ramp_months-1) up to ramp_months, then end."""
    m = np.asarray(month, dtype=float)
    if ramp_months <= 1:
        return np.full(m.shape, float(end)) if m.ndim else float(end)
    step = (end - start) / (ramp_months - 1)
    return np.where(m >= ramp_months, end, start + (np.maximum(m, 1.0) - 1.0) * step)


def sda_cdr(month, multiple: float = 1.0):
    """SDA 100%: 0.02% x month to 0.60% at 30; flat to 60; -0.0095%/month to 0.03% at 120; then 0.03%."""
    m = np.asarray(month, dtype=float)
    up = 0.0002 * np.clip(m, 0.0, 30.0)
    down = 0.006 - 0.000095 * (np.clip(m, 60.0, 120.0) - 60.0)
    return multiple * np.where(m <= 60, up, down)


def _annual(curve: Curve, month: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The annual rate (CPR or CDR) of an annual-rate curve at curve months ``month``."""
    kind = curve.kind
    if kind in ("CPR", "CDR"):
        return curve.rate * ones
    if kind == "PSA":
        return psa_cpr(month, curve.rate)
    if kind == "SDA":
        return sda_cdr(month, curve.rate)
    if kind == "PPC":
        return ppc_cpr(month, curve.ramp_start, curve.ramp_end, curve.ramp_months)
    raise ValueError(kind)  # pragma: no cover - guarded by Curve validation


def _monthly(curve: Curve, month: np.ndarray, period: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """Monthly rate for curve months ``month`` / deal periods ``period`` (same shape (N,)),
    scenario multipliers ``sc`` (S, 1); returns (S, N)."""
    kind = curve.kind
    ones = np.ones(month.shape)
    if curve.vector:
        vec = np.asarray(curve.vector)
        v = vec[np.clip(period.astype(np.int64), 1, vec.size) - 1]  # by deal period, last value held
        if kind in ("SMM", "MDR"):
            return np.minimum(sc * v, 1.0)
        return cpr_to_smm(np.minimum(sc * v, 1.0))
    if kind in ("SMM", "MDR"):
        return np.minimum(sc * curve.rate, 1.0) * ones
    if kind == "ABS":
        # SMM = ABS / (1 - ABS x (month - 1)); 100% once the denominator reaches ABS
        a = sc * curve.rate
        den = 1.0 - a * (month - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            smm = np.where(den > a, a / np.where(den > 0, den, 1.0), 1.0)
        return np.clip(smm, 0.0, 1.0)
    return cpr_to_smm(np.minimum(sc * _annual(curve, month, ones), 1.0))


def _by_period(curve: Curve) -> bool:
    """True if the curve is read by deal period (basis 'deal' or a vector), not by loan age."""
    return bool(curve.vector) or curve.basis == "deal"


def monthly_rate(curve: Curve, age, period: int, scale=1.0) -> np.ndarray:
    """Monthly rate (SMM or MDR) of ``curve`` in deal period ``period``.

    ``age``: loan ages at cut-off, shape (L,); ``scale``: scenario multipliers,
    shape (S,).  Returns an (S, L) array.  Curve month = age + period for
    ``basis="age"``, period for ``basis="deal"``; vectors are read by period.
    """
    age = np.atleast_1d(np.asarray(age, dtype=float))
    sc = np.asarray(scale, dtype=float).reshape(-1, 1)
    month = age + period if curve.basis == "age" else np.full(age.shape, float(period))
    return _monthly(curve, month, np.full(age.shape, float(period)), sc)


def _curve_base(curve: Curve, n_cols: int) -> tuple[int, float, np.ndarray]:
    """The scenario-independent part of ``_curve_table(curve, sc, n_cols)`` for the C kernel.

    Returns (mode, param, base (n_cols,)) such that column j of the table for a
    scenario multiplier sc is, with x = base[j] (see ``collateral_c``):
    mode 0 (SMM/MDR): min(sc x, 1);  mode 1 (CPR/CDR/PSA/SDA/PPC):
    cpr_to_smm(min(sc x, 1));  mode 2 (ABS, x = month, param = ABS speed):
    a = sc param, SMM = a / (1 - a (x - 1)), 1 once that denominator <= a.
    ``base`` holds exactly the values ``_monthly`` multiplies by sc.
    """
    from .c_backend import MODE_ABS, MODE_ANNUAL, MODE_LINEAR  # noqa: PLC0415

    j = np.arange(n_cols, dtype=float)
    month = period = np.maximum(j, 1.0)
    ones = np.ones(month.shape)
    kind = curve.kind
    if curve.vector:
        vec = np.asarray(curve.vector)
        v = vec[np.clip(period.astype(np.int64), 1, vec.size) - 1]
        return (MODE_LINEAR if kind in ("SMM", "MDR") else MODE_ANNUAL), 0.0, v
    if kind in ("SMM", "MDR"):
        return MODE_LINEAR, 0.0, curve.rate * ones
    if kind == "ABS":
        return MODE_ABS, float(curve.rate), month
    return MODE_ANNUAL, 0.0, np.broadcast_to(_annual(curve, month, ones), month.shape)


def _curve_table(curve: Curve | None, sc: np.ndarray, n_cols: int) -> np.ndarray:
    """(S, n_cols) monthly rates; column j = curve month j (age basis) or deal period j."""
    j = np.arange(n_cols, dtype=float)
    if curve is None:
        return np.zeros((sc.shape[0], n_cols))
    out = _monthly(curve, np.maximum(j, 1.0), np.maximum(j, 1.0), sc.reshape(-1, 1))
    return np.ascontiguousarray(np.broadcast_to(out, (sc.shape[0], n_cols)))


# --------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------
def _terms_key(line: Line):
    """Every term of a line except balance and count."""
    return (
        line.group,
        line.gross_rate,
        line.fee_rate,
        line.remaining_term,
        line.age,
        line.amort_term,
        line.io_months,
        line.arm,
        line.penalty_rate,
        line.penalty_months,
    )


def aggregate(lines: Sequence[Line]) -> list[Line]:
    """Merge lines whose terms are identical apart from balance (balances and counts summed).

    Order of first appearance is kept.  Every projected flow is linear in the
    balance for fixed terms, so the merged tape projects to the same group sums.
    """
    merged: dict = {}
    for ln in lines:
        key = _terms_key(ln)
        prev = merged.get(key)
        if prev is None:
            merged[key] = [ln, ln.balance, ln.count]
        else:
            prev[1] += ln.balance
            prev[2] += ln.count
    out = []
    for ln, bal, cnt in merged.values():
        out.append(ln if (bal == ln.balance and cnt == ln.count) else attrs.evolve(ln, balance=bal, count=cnt))
    return out


# --------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------
class _Pool:
    """Per-line term arrays (L,), lines sorted so that each group is contiguous."""

    def __init__(self, lines: list[Line]):
        groups: list[str] = []
        for ln in lines:
            if ln.group not in groups:
                groups.append(ln.group)
        order = {g: i for i, g in enumerate(groups)}
        lines = sorted(lines, key=lambda ln: order[ln.group])  # stable
        self.groups = groups
        gid = np.array([order[ln.group] for ln in lines], dtype=np.int64)
        self.gid = gid
        self.starts = np.searchsorted(gid, np.arange(len(groups)))
        self.stops = np.append(self.starts[1:], len(lines))
        f = np.array
        self.balance = f([ln.balance for ln in lines], dtype=float)
        self.rate = f([ln.gross_rate for ln in lines], dtype=float)
        self.fee = f([ln.fee_rate for ln in lines], dtype=float)
        self.rem = f([ln.remaining_term for ln in lines], dtype=np.int64)
        self.age = f([ln.age for ln in lines], dtype=np.int64)
        self.amort = f(
            [ln.amort_term if ln.amort_term is not None else ln.remaining_term for ln in lines],
            dtype=np.int64,
        )
        self.io = f([ln.io_months for ln in lines], dtype=np.int64)
        self.pen_rate = f([ln.penalty_rate for ln in lines], dtype=float)
        self.pen_months = f([ln.penalty_months for ln in lines], dtype=np.int64)
        arm_cols = [i for i, ln in enumerate(lines) if ln.arm is not None]
        self.arm_cols = np.array(arm_cols, dtype=np.int64)
        arms = [lines[i].arm for i in arm_cols]
        self.arm_index_names = sorted({a.index for a in arms})
        name_id = {n: i for i, n in enumerate(self.arm_index_names)}
        self.arm_index = f([name_id[a.index] for a in arms], dtype=np.int64)
        self.arm_margin = f([a.margin for a in arms], dtype=float)
        self.arm_first = f([a.first_reset for a in arms], dtype=np.int64)
        self.arm_every = f([a.reset_every for a in arms], dtype=np.int64)
        self.arm_icap = f([a.initial_cap for a in arms], dtype=float)
        self.arm_pcap = f([a.periodic_cap for a in arms], dtype=float)
        self.arm_max = f([lines[i].gross_rate + lines[i].arm.lifetime_cap for i in arm_cols], dtype=float)
        self.arm_floor = f([a.margin if a.floor is None else a.floor for a in arms], dtype=float)
        self.arm_round = f([0.0 if a.rounding is None else a.rounding for a in arms], dtype=float)
        self.arm_age = self.age[self.arm_cols] if arm_cols else np.zeros(0, dtype=np.int64)

    def __len__(self):
        return self.balance.shape[0]


def _index_sources(pool: _Pool, index_paths, S: int, T: int) -> list[np.ndarray]:
    """The validated index path of each ARM index of the pool (``pool.arm_index_names``
    order), each 2-d with 1 or S rows and >= T columns (not copied)."""
    index_paths = index_paths or {}
    out = []
    for name in pool.arm_index_names:
        if name not in index_paths:
            raise ValueError(f"ARM index {name!r} has no path in index_paths (given: {sorted(index_paths)})")
        a = np.asarray(index_paths[name], dtype=float)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[0] not in (1, S) or a.shape[1] < T:
            raise ValueError(
                f"index path {name!r} must have shape ({T},) or ({S}, {T}) (or longer in time), got {a.shape}"
            )
        if not np.all(np.isfinite(a[:, :T])):
            raise ValueError(f"index path {name!r} has non-finite values")
        out.append(a)
    return out


def _index_array(pool: _Pool, index_paths, S: int, T: int) -> np.ndarray:
    """(n_index, S, T) index levels for the ARM lines' indices."""
    if not pool.arm_index_names:
        return np.zeros((0, S, T))
    out = np.empty((len(pool.arm_index_names), S, T))
    for i, a in enumerate(_index_sources(pool, index_paths, S, T)):
        out[i] = a[:, :T]
    return out


def _group_curves(pool: _Pool, curves: Mapping[str, Curve] | None, what: str, kinds) -> list[Curve | None]:
    if curves is None:
        return [None] * len(pool.groups)
    out = []
    for g in pool.groups:
        if g not in curves:
            raise ValueError(f"no {what} curve for group {g!r} (curves given for {sorted(curves)})")
        c = curves[g]
        if c.kind not in kinds:
            raise ValueError(f"{what} curve for group {g!r} has kind {c.kind}; expected one of {sorted(kinds)}")
        out.append(c)
    return out


def _rate_tables(pool: _Pool, curves, scale: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Monthly-rate lookup tables of all groups side by side, (S, C), and per line its base
    column (L,): the line's rate in period t is ``table[:, base + t]``.  A transcendental
    per (scenario, curve month) instead of per (scenario, line, period)."""
    tables, base = [], np.empty(len(pool), dtype=np.int64)
    off = 0
    for gi, c in enumerate(curves):
        a, b = pool.starts[gi], pool.stops[gi]
        if c is None or _by_period(c):
            width = T + 1
            base[a:b] = off
        else:  # curve month = age + t
            width = int(pool.age[a:b].max()) + T + 1
            base[a:b] = off + pool.age[a:b]
        tables.append(_curve_table(c, scale, width))
        off += width
    return np.concatenate(tables, axis=1), base


def _project_block(pool: _Pool, T: int, scen: Scenarios, prepay_c, default_c, idx: np.ndarray):
    """Project one block of scenarios; returns dict name -> (S, G, T) group sums.

    State per (scenario, line): B performing balance, r monthly note rate,
    gm1 = (1 + r)^n - 1 with n the remaining amortisation term in the current
    period (expm1(n log1p r) in period 1 and at ARM resets, then
    (gm1 - r) / (1 + r) each period), so the scheduled-principal factor
    r / ((1 + r)^n - 1) needs no power per period.  gm1 is kept rather than
    (1 + r)^n itself: (1 + r)^n - 1 cancels catastrophically when n r is small
    (at a rate of 2e-16, a 1-ulp difference in exp moved the factor by 3%).
    Group sums are np.add.reduceat over the contiguous column range of each group.
    """
    p_scale, d_scale, _ = scen.arrays()
    S, L, G = p_scale.shape[0], len(pool), len(pool.groups)
    starts = pool.starts
    fee = pool.fee

    def gsum(x):  # (S, L) -> (S, G) group sums (groups are contiguous column ranges)
        return np.add.reduceat(x, starts, axis=1)

    have_defaults = any(c is not None for c in default_c) and bool(np.any(d_scale > 0))
    have_prepay = any(c is not None for c in prepay_c) and bool(np.any(p_scale > 0))
    have_pen = have_prepay and bool(np.any(pool.pen_rate > 0))
    have_arm = pool.arm_cols.size > 0
    if have_prepay:
        ptab, pbase = _rate_tables(pool, prepay_c, p_scale, T)
    if have_defaults:
        dtab, dbase = _rate_tables(pool, default_c, d_scale, T)

    names = ("begin", "sched", "prepay", "default", "interest", "fee", "end", "wac", "nwac", "penalty")
    acc = {n: np.zeros((T, S, G)) for n in names}

    r0 = pool.rate / 12.0
    B = np.repeat(pool.balance[None, :], S, axis=0)  # performing balance (S, L)
    r = np.repeat(r0[None, :], S, axis=0)  # monthly note rate (S, L)
    disc = 1.0 / (1.0 + r)
    gm1 = np.repeat(np.expm1(pool.amort * np.log1p(r0))[None, :], S, axis=0)  # (1 + r)^n - 1, period 1
    any_zero = bool(np.any(r0 == 0.0))
    arm_rate = np.repeat(pool.rate[pool.arm_cols][None, :], S, axis=0)  # ARM note rates, annual (S, La)
    end_sum = gsum(B)

    for t in range(1, T + 1):
        k = pool.age + t  # payment number in period t (age at period end)
        n = pool.amort - (t - 1)  # remaining amortisation months, this one included

        # 1. ARM resets taking effect this period: age at period start (k - 1) == reset age.
        if have_arm:
            a0 = pool.arm_age + t - 1
            first = a0 == pool.arm_first
            later = (a0 > pool.arm_first) & ((a0 - pool.arm_first) % pool.arm_every == 0)
            reset = first | later
            if reset.any():
                cols = pool.arm_cols[reset]
                target = idx[pool.arm_index[reset], :, t - 1].T + pool.arm_margin[reset]  # (S, n)
                inc = pool.arm_round[reset]
                if np.any(inc > 0):  # round the fully indexed rate to the nearest increment
                    safe = np.where(inc > 0, inc, 1.0)
                    target = np.where(inc > 0, np.floor(target / safe + 0.5) * safe, target)
                cap = np.where(first[reset], pool.arm_icap[reset], pool.arm_pcap[reset])
                cur = arm_rate[:, reset]
                new = np.clip(target, cur - cap, cur + cap)  # initial / periodic cap, both ways
                new = np.minimum(np.maximum(new, pool.arm_floor[reset]), pool.arm_max[reset])
                arm_rate[:, reset] = new
                rm = new / 12.0
                r[:, cols] = rm
                disc[:, cols] = 1.0 / (1.0 + rm)
                # re-amortise: level payment on the remaining term at the new rate
                gm1[:, cols] = np.expm1(np.maximum(n[cols], 0) * np.log1p(rm))
                any_zero = any_zero or bool(np.any(rm == 0.0))

        acc["begin"][t - 1] = end_sum
        fee_begin = gsum(B * fee)
        Br = B * r
        wac_num = gsum(Br) * 12.0
        acc["wac"][t - 1] = wac_num
        acc["nwac"][t - 1] = wac_num - fee_begin

        # 2. defaults on the beginning balance
        if have_defaults:
            D = B * np.take(dtab, dbase + t, axis=1)
            acc["default"][t - 1] = gsum(D)
            Bs = B - D
            Bsr = Bs * r
            acc["fee"][t - 1] = gsum(Bs * fee) / 12.0
        else:
            Bs, Bsr = B, Br
            acc["fee"][t - 1] = fee_begin / 12.0

        # 3. interest on the surviving (performing) balance
        acc["interest"][t - 1] = gsum(Bsr)

        # 4. scheduled principal = Bs x r / ((1 + r)^n - 1); all at the last month / balloon;
        #    nothing while interest-only (k <= io_months)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = r / gm1
        if any_zero:
            f = np.where(r == 0.0, 1.0 / np.maximum(n, 1), f)
        payoff = (t >= pool.rem) | (n <= 1)
        amortising = ~payoff & (k > pool.io)
        if not amortising.all():
            f = np.where(amortising, f, payoff.astype(float))
        sched = Bs * f
        acc["sched"][t - 1] = gsum(sched)
        gm1 -= r  # (1 + r)^(n-1) - 1 == ((1 + r)^n - 1 - r) / (1 + r)
        gm1 *= disc

        # 5. prepayment = SMM x (surviving - scheduled)
        Bp = Bs - sched
        if have_prepay:
            prep = Bp * np.take(ptab, pbase + t, axis=1)
            acc["prepay"][t - 1] = gsum(prep)
            if have_pen:
                pen = np.where(k <= pool.pen_months, pool.pen_rate, 0.0)
                if np.any(pen > 0):
                    acc["penalty"][t - 1] = gsum(prep * pen)
            np.subtract(Bp, prep, out=Bp)
        B = Bp
        end_sum = gsum(B)
        acc["end"][t - 1] = end_sum

    return {n: np.moveaxis(a, 0, -1) for n, a in acc.items()}  # (S, G, T)


def project(
    lines: Sequence[Line],
    n_periods: int,
    scenarios: Scenarios,
    prepay: Mapping[str, Curve],
    default: Mapping[str, Curve] | None = None,
    index_paths: Mapping[str, np.ndarray] | None = None,
    delinquency: Mapping[str, np.ndarray] | None = None,
    *,
    merge: bool = True,
    max_block_elements: int = 500_000,
    engine: str = "auto",
) -> dict[str, GroupFlows]:
    """Project the collateral of ``lines`` over ``n_periods`` months for every scenario.

    Returns group name -> GroupFlows (arrays (S, n_periods)).  ``merge`` first
    aggregates lines with identical terms (exact: flows are linear in balance).

    ``engine``: "auto" runs the compiled kernel of ``interpreter.collateral_c``
    when a C compiler is available (``interpreter.native``; not with
    ``WATERFALL_ENGINE=numpy``) and the numpy path otherwise; "numpy" forces
    the numpy path; "c" requires the kernel (RuntimeError without one).  Both
    compute the same formulas in the same order (equal to ~1e-15 relative);
    the kernel hands a pool whose balances go NaN / infinite back to numpy.
    The numpy path processes scenarios in blocks of at most
    ``max_block_elements`` (S x L) cells to bound memory; blocks are
    independent, so the result does not depend on the block size.
    """
    if engine not in ("auto", "numpy", "c"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'c', got {engine!r}")
    lines = list(lines)
    if not lines:
        raise ValueError("project() needs at least one line")
    if int(n_periods) != n_periods or n_periods < 1:
        raise ValueError(f"n_periods must be an integer >= 1, got {n_periods!r}")
    T = int(n_periods)
    if merge:
        lines = aggregate(lines)
    pool = _Pool(lines)
    S = scenarios.n
    prepay_c = _group_curves(pool, prepay, "prepay", PREPAY_KINDS)
    default_c = _group_curves(pool, default, "default", DEFAULT_KINDS)
    dq = _delinquency(pool, delinquency, S, T)

    per_group = None
    if engine != "numpy":
        from .c_backend import library, run  # noqa: PLC0415 (it imports this module)

        per_group = run(pool, T, scenarios, prepay_c, default_c, _index_sources(pool, index_paths, S, T))
        if per_group is None and engine == "c" and library() is None:
            raise RuntimeError("engine='c': the collateral C kernel is unavailable (no C compiler?)")
    if per_group is None:
        idx = _index_array(pool, index_paths, S, T)
        per_group = _project_numpy(pool, T, scenarios, prepay_c, default_c, idx, max_block_elements)

    out: dict[str, GroupFlows] = {}
    for gi, g in enumerate(pool.groups):
        a, b = pool.starts[gi], pool.stops[gi]
        out[g] = GroupFlows(
            **per_group[gi],
            delinquent=dq[g] if g in dq else np.zeros((S, T)),
            cutoff_balance=float(pool.balance[a:b].sum()),
        )
    return out


def _delinquency(pool: _Pool, delinquency, S: int, T: int) -> dict[str, np.ndarray]:
    """Validated 60+ delinquency fractions of the pool's groups, each (S, T) (a copy)."""
    out = {}
    for g in pool.groups:
        if g not in (delinquency or {}):
            continue
        dq = np.asarray(delinquency[g], dtype=float)
        if dq.ndim == 1:
            dq = dq[None, :]
        if dq.ndim != 2 or dq.shape[0] not in (1, S) or dq.shape[1] < T:
            raise ValueError(f"delinquency for group {g!r} must have shape ({T},) or ({S}, {T}), got {dq.shape}")
        out[g] = np.broadcast_to(dq[:, :T], (S, T)).copy()
    return out


def _project_numpy(pool: _Pool, T: int, scenarios: Scenarios, prepay_c, default_c, idx, max_block_elements):
    """The numpy path: per group a dict GroupFlows field -> (S, T) array (all but
    ``delinquent`` and ``cutoff_balance``).  Loss = default x severity, recovery =
    default x (1 - severity) ``recovery_lag`` periods later, WACs = rate sums /
    beginning balance (0 where it is 0)."""
    S = scenarios.n
    block = max(1, int(max_block_elements) // max(len(pool), 1))
    parts = []
    for s0 in range(0, S, block):
        sl = slice(s0, min(S, s0 + block))
        parts.append(_project_block(pool, T, scenarios.take(sl), prepay_c, default_c, idx[:, sl]))
    res = {n: np.concatenate([p[n] for p in parts], axis=0) for n in parts[0]}

    _, _, severity = scenarios.arrays()
    sev = severity[:, None]
    lag = int(scenarios.recovery_lag)
    out = []
    for gi in range(len(pool.groups)):
        begin = res["begin"][:, gi]
        dflt = res["default"][:, gi]
        recovery = np.zeros_like(dflt)
        if lag < T:
            recovery[:, lag:] = (dflt * (1.0 - sev))[:, : T - lag]
        safe = np.where(begin > 0, begin, 1.0)
        out.append(
            dict(
                begin_balance=begin,
                scheduled_principal=res["sched"][:, gi],
                prepayment=res["prepay"][:, gi],
                default=dflt,
                recovery=recovery,
                loss=dflt * sev,
                interest=res["interest"][:, gi],
                fee=res["fee"][:, gi],
                net_interest=res["interest"][:, gi] - res["fee"][:, gi],
                end_balance=res["end"][:, gi],
                gross_wac=np.where(begin > 0, res["wac"][:, gi] / safe, 0.0),
                net_wac=np.where(begin > 0, res["nwac"][:, gi] / safe, 0.0),
                penalty=res["penalty"][:, gi],
            )
        )
    return out


# --------------------------------------------------------------------------
# loan tape
# --------------------------------------------------------------------------
_REQUIRED = ("group", "balance", "gross_rate", "fee_rate", "remaining_term", "age")
_ARM_REQUIRED = (
    "arm_margin",
    "arm_first_reset",
    "arm_reset_every",
    "arm_initial_cap",
    "arm_periodic_cap",
    "arm_lifetime_cap",
)
_ARM_OPTIONAL = ("arm_floor", "arm_rounding")


def _parse_rate(name: str, s: str) -> float:
    s = s.strip()
    pct = s.endswith("%")
    body = s[:-1].strip() if pct else s
    try:
        d = decimal.Decimal(body)
    except decimal.InvalidOperation:
        raise ValueError(f"{name}: not a rate: {s!r}") from None
    if not d.is_finite():
        raise ValueError(f"{name}: not a finite rate: {s!r}")
    if pct:
        return float(d / 100)  # exact decimal shift: "0.259%" -> 0.00259
    v = float(d)
    if abs(v) >= 1.0:
        raise ValueError(f"{name}: {s!r} is not a decimal rate (write {body}% for a percentage)")
    return v


def _parse_int(name: str, s: str) -> int:
    s = s.strip()
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"{name}: not an integer: {s!r}") from None
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"{name}: not an integer: {s!r}")
    return int(v)


def _parse_months(name: str, s: str) -> int:
    """A term, an age or a count of months: capped as the assumptions file caps them."""
    v = _parse_int(name, s)
    if v > MAX_MONTHS:
        raise ValueError(f"{name}: {s.strip()} months is more than {MAX_MONTHS}")
    return v


def _parse_money(name: str, s: str) -> float:
    body = s.strip().replace(",", "").replace("$", "")
    try:
        v = float(body)
    except ValueError:
        raise ValueError(f"{name}: not an amount: {s!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: must be a finite amount >= 0, got {s!r}")
    return v


MAX_MONTHS = 720  # sixty years: the most months a term, an age or a reset period may state (tape and YAML)
MAX_FIELD = 128 * 1024  # characters in one field of a loan tape (the csv module's default limit)
MAX_LINE = 1024 * 1024  # characters in one line of a loan tape: a longer one is not read into memory


class TapeError(ValueError):
    """An error at a place in a loan tape: ``str()`` is ``path:line:column: message``;
    ``text`` is that line (shortened when long), for showing it with a caret."""

    def __init__(self, path, line: int, column: int, message: str, text: str = ""):
        self.path, self.line, self.column, self.message, self.text = str(path), line, column, message, text
        super().__init__(f"{path}:{line}:{column}: {message}")


class _Lines:
    """The tape's lines for ``csv.reader``, keeping those of the record being read
    (for positions). A line longer than MAX_LINE is an error, found without
    reading the rest of it."""

    def __init__(self, fh, path):
        self.fh, self.path, self.count, self.record = fh, path, 0, []

    def __iter__(self):
        return self

    def __next__(self):
        line = self.fh.readline(MAX_LINE + 1)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > MAX_LINE:
            raise TapeError(self.path, self.count, 1, f"a line longer than {MAX_LINE:,} characters",
                            _shown(line.rstrip("\r\n"), 1))
        self.record.append(line)
        return line


def _shown(line: str, column: int) -> str:
    keep = max(column + 40, 160)
    return line if len(line) <= keep else line[:keep] + " ..."


def _field_starts(raw: str) -> list[int]:
    """Where each field of a CSV record (the csv module's default dialect) starts in its text."""
    starts, i, n = [0], 0, len(raw)
    at_start, quoted = True, False
    while i < n:
        ch = raw[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and raw[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == '"' and at_start:
            quoted = True
        elif ch == ",":
            starts.append(i + 1)
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    return starts


def _tape_error(path, first_line: int, raw: str, field: int | None, message: str) -> TapeError:
    """The error at the start of field ``field`` (0-based; None: the last field begun)
    of the record whose text ``raw`` starts at line ``first_line``."""
    starts = _field_starts(raw)
    if field is None:
        off = starts[-1]
    elif field < len(starts):
        off = starts[field]
    else:  # a field the row is too short to have: the end of its text
        off = len(raw.rstrip("\r\n"))
    ls = raw.rfind("\n", 0, off) + 1
    le = raw.find("\n", off)
    text = raw[ls:le if le >= 0 else len(raw)].rstrip("\r\n")
    column = off - ls + 1
    return TapeError(path, first_line + raw.count("\n", 0, off), column, message, _shown(text, column))


def load_tape(path) -> list[Line]:
    """Read a CSV loan tape into Lines.

    Required columns: group, balance, gross_rate, fee_rate, remaining_term, age.
    Optional: io_months, amort_term, count, penalty_rate, penalty_months and the
    ARM columns arm_index, arm_margin, arm_first_reset, arm_reset_every,
    arm_initial_cap, arm_periodic_cap, arm_lifetime_cap, arm_floor,
    arm_rounding.  Rates are decimals (0.0625) or percentages with a % sign
    (6.25%).  Terms, ages and other numbers of months are at most MAX_MONTHS,
    a field at most MAX_FIELD characters.  Other columns are ignored; blank rows
    are skipped.  Errors are ``TapeError`` (a ValueError) ``"{path}:{line}:{column}: ..."``.
    """
    out: list[Line] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        lines = _Lines(fh, path)
        reader = csv.reader(lines)

        def record():
            """The next row, its first line and its text; None at the end."""
            lines.record = []
            first = lines.count + 1
            try:
                row = next(reader)
            except StopIteration:
                return None
            except csv.Error as e:
                raw = "".join(lines.record)
                msg = (f"a field longer than {min(MAX_FIELD, csv.field_size_limit()) // 1024} KB"
                       if "field larger than field limit" in str(e) else f"cannot read the CSV: {e}")
                raise _tape_error(path, first, raw, None, msg) from None
            raw = "".join(lines.record)
            for i, cell in enumerate(row):
                if len(cell) > MAX_FIELD:  # (when the csv module's limit was raised)
                    raise _tape_error(path, first, raw, i, f"a field longer than {MAX_FIELD // 1024} KB")
            return row, first, raw

        got = record()
        if got is None:
            raise TapeError(path, 1, 1, "empty file, expected a header row")
        header, first, raw = got
        cols = [h.strip().lower() for h in header]
        for i, c in enumerate(cols):
            if c and c in cols[:i]:
                raise _tape_error(path, first, raw, i, f"duplicate column: {c}")
        missing = [c for c in _REQUIRED if c not in cols]
        if missing:
            raise _tape_error(path, first, raw, 0, f"missing required column(s): {', '.join(missing)}")
        pos = {c: i for i, c in enumerate(cols)}
        while (got := record()) is not None:
            row, first, raw = got
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(cols):
                raise _tape_error(path, first, raw, len(cols), f"{len(row)} fields, header has {len(cols)}")

            def get(c, row=row):
                i = pos.get(c)
                return row[i].strip() if i is not None and i < len(row) else ""

            try:
                for c in _REQUIRED:
                    if not get(c):
                        raise ValueError(f"{c}: missing value")
                arm = None
                if get("arm_index"):
                    for c in _ARM_REQUIRED:
                        if not get(c):
                            raise ValueError(f"{c}: missing value for ARM line (arm_index={get('arm_index')})")
                    arm = ArmTerms(
                        index=get("arm_index"),
                        margin=_parse_rate("arm_margin", get("arm_margin")),
                        first_reset=_parse_months("arm_first_reset", get("arm_first_reset")),
                        reset_every=_parse_months("arm_reset_every", get("arm_reset_every")),
                        initial_cap=_parse_rate("arm_initial_cap", get("arm_initial_cap")),
                        periodic_cap=_parse_rate("arm_periodic_cap", get("arm_periodic_cap")),
                        lifetime_cap=_parse_rate("arm_lifetime_cap", get("arm_lifetime_cap")),
                        floor=_parse_rate("arm_floor", get("arm_floor")) if get("arm_floor") else None,
                        rounding=_parse_rate("arm_rounding", get("arm_rounding")) if get("arm_rounding") else None,
                    )
                else:
                    stray = [c for c in _ARM_REQUIRED + _ARM_OPTIONAL if get(c)]
                    if stray:
                        raise ValueError(f"{stray[0]}: ARM column(s) {', '.join(stray)} given without arm_index")
                line = Line(
                    group=get("group"),
                    balance=_parse_money("balance", get("balance")),
                    gross_rate=_parse_rate("gross_rate", get("gross_rate")),
                    fee_rate=_parse_rate("fee_rate", get("fee_rate")),
                    remaining_term=_parse_months("remaining_term", get("remaining_term")),
                    age=_parse_months("age", get("age")),
                    amort_term=_parse_months("amort_term", get("amort_term")) if get("amort_term") else None,
                    io_months=_parse_months("io_months", get("io_months")) if get("io_months") else 0,
                    arm=arm,
                    penalty_rate=_parse_rate("penalty_rate", get("penalty_rate")) if get("penalty_rate") else 0.0,
                    penalty_months=(
                        _parse_months("penalty_months", get("penalty_months")) if get("penalty_months") else 0
                    ),
                    count=_parse_int("count", get("count")) if get("count") else 1,
                )
            except (ValueError, TypeError) as exc:
                raise _tape_error(path, first, raw, _column_of(str(exc), pos), str(exc)) from None
            out.append(line)
    return out


def _column_of(message: str, pos: dict) -> int | None:
    """The column a row's error is about: its message starts with the field's name
    (``remaining_term: ...``, or an attribute's ``initial_cap must be >= 0``)."""
    word = message.split(" ", 1)[0].rstrip(":")
    for name in (word, "arm_" + word):
        if name in pos:
            return pos[name]
    return 0
