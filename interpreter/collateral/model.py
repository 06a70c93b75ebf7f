"""The collateral's records: loan lines (``Line``, ``ArmTerms``), speed and
default curves (``Curve``), scenarios (``Scenarios``) and projected flows
(``GroupFlows``, summed over groups by ``combine``).  Conventions: see
``projection``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

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
    # The rate's lifetime ceiling; None: the line's gross rate + lifetime_cap (its rate at cut-off is
    # the initial rate). A current line after resets (a deal state) gives it, as a remittance report does.
    max_rate: float | None = attrs.field(default=None, validator=_finite)

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
    remaining_term: int = attrs.field(validator=_nonneg)  # months to maturity (0 only for a paid-off line)
    age: int = attrs.field(default=0, validator=_nonneg)  # months since origination
    amort_term: int | None = None  # remaining amortisation term if longer (balloon)
    io_months: int = attrs.field(default=0, validator=_nonneg)  # IO months from origination
    arm: ArmTerms | None = None
    penalty_rate: float = attrs.field(default=0.0, validator=[_finite, _nonneg])
    penalty_months: int = attrs.field(default=0, validator=_nonneg)
    count: int = attrs.field(default=1, validator=_nonneg)  # number of loans (information)
    # (1 + r)^n - 1 of the level payment (r the monthly rate, n the amortisation months left),
    # the projection's own figure carried by a deal state so that a continued run repeats its
    # floating-point operations; None: derived from the rate and the amortisation term.
    amort_factor: float | None = attrs.field(default=None, validator=_finite)

    def __attrs_post_init__(self):
        if not self.group:
            raise ValueError("Line.group must not be empty")
        if self.remaining_term < 1 and self.balance > 0:
            raise ValueError(f"remaining_term must be >= 1 for a line with a balance, got {self.remaining_term!r}")
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
