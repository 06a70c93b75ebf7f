"""Bond analytics for waterfall outputs, vectorised over a scenario axis.

Every cashflow input is an array of shape (S, T): S scenarios by T periods (a 1-D array is taken
as a single scenario and the result is returned with shape (1,)). Time inputs have shape (T,)
(shared by all scenarios) or (S, T). Scalars per scenario (prices, yields, margins) have shape
(S,) or are scalars broadcast to (S,).

Formulas follow the Bond Market Association (now SIFMA), *Uniform Practices for the Clearance
and Settlement of Mortgage-Backed Securities and Other Related Securities*, chapter SF
"Standard Formulas for the Analysis of Mortgage-Backed Securities and Other Related
Securities":

* cash-flow yield: the monthly-compounded rate r at which the present value of the projected
  cashflows, each discounted from its payment date on 30/360 time, equals the full price
  (clean price + accrued interest); quoted as the annual mortgage yield y = 12 r;
* bond-equivalent yield: BEY = 2 [(1 + y/12)^6 - 1] (the semi-annual rate with the same
  effective yield), inverse y = 12 [(1 + BEY/2)^(1/6) - 1];
* weighted-average life: WAL = sum(P_t t_t) / sum(P_t), t in years from settlement;
* Macaulay duration: D = sum(t PV_t) / sum(PV_t) at the yield, and modified duration
  D / (1 + y/2) for a semi-annually compounded yield y (SF-48, d. and e.);
* cash-flow convexity: sum t (t + 1/2) PV_t / (sum(PV_t) (1 + y/2)^2) (SF-48, f.);
* mortgage yield from the bond-equivalent yield Y (%): 1200 [(1 + Y/200)^(1/6) - 1] (SF-47/48).

The public transcription checked against them: docs/BMA_FORMULAS.md of
github.com/crmerrill/bma-standard-formulas (sections G and E), with the standard's pages
(docs/bma_sections/SF-44, SF-48 to SF-51) in the same repository.

Root-finding (yield, discount margin) is a vectorised Newton iteration safeguarded by a
per-scenario bracket (bisection whenever a Newton step leaves the bracket). Each scenario
iterates on its own data only and is frozen once converged, so a result never depends on which
other scenarios share the batch. Scenarios with no cashflow (or no bracketable root) give NaN.
"""

from __future__ import annotations

import math
import re
from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "wal",
    "principal_window",
    "cashflow_yield",
    "bond_equivalent_yield",
    "bey_from_mortgage",
    "mortgage_from_bey",
    "price_from_yield",
    "price_from_mortgage_yield",
    "discount_margin",
    "price_from_dm",
    "periodic_yield",
    "macaulay_duration",
    "modified_duration",
    "cashflow_convexity",
    "YieldDuration",
    "yield_and_duration",
    "format_32nds",
    "parse_price",
    "accrued",
]

YIELD_TOL = 1e-13      # convergence on the solved variable (rates as decimals)
MAX_ITER = 200


# --------------------------------------------------------------------------------------------
# Shape helpers
# --------------------------------------------------------------------------------------------

def _flows(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"cashflows must be (S, T) or (T,), got shape {a.shape}")
    return a


def _times(t, shape: tuple[int, int], name: str = "times") -> np.ndarray:
    a = np.asarray(t, dtype=float)
    if a.ndim == 0:
        a = np.full(shape, float(a))
    elif a.ndim == 1:
        if a.shape[0] != shape[1]:
            raise ValueError(f"{name} has {a.shape[0]} periods, cashflows have {shape[1]}")
        a = np.broadcast_to(a, shape)
    elif a.shape != shape:
        if a.shape[0] == 1 and a.shape[1] == shape[1]:
            a = np.broadcast_to(a, shape)
        else:
            raise ValueError(f"{name} shape {a.shape} does not match cashflows {shape}")
    return np.ascontiguousarray(a)


def _per_scenario(x, s: int, name: str = "value") -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full(s, float(a))
    a = a.reshape(-1)
    if a.shape[0] == 1:
        return np.full(s, float(a[0]))
    if a.shape[0] != s:
        raise ValueError(f"{name} has {a.shape[0]} entries for {s} scenarios")
    return a.copy()


# --------------------------------------------------------------------------------------------
# WAL and principal window
# --------------------------------------------------------------------------------------------

def wal(principal, years) -> np.ndarray:
    """Weighted-average life, shape (S,): sum(P_t * t_t) / sum(P_t) (SIFMA SF formula).

    `years` are the 30/360 years from settlement to each payment date, (T,) or (S, T).
    NaN for a scenario with no principal.
    """
    p = _flows(principal)
    t = _times(years, p.shape, "years")
    num = np.where(p != 0, p * t, 0.0).sum(axis=1)
    den = p.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den != 0, out, np.nan)


def principal_window(principal, threshold: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(first_idx, last_idx) of principal payments of at least `threshold`, int arrays (S,).

    Payments are made in whole cents, so a payment counts when, rounded to the
    cent, it is at least `threshold` ($0.01): $0.0066 is paid as one cent.
    -1 where a scenario has no such payment.
    """
    p = _flows(principal)
    hit = np.round(p, 2) >= threshold - 1e-9
    anyhit = hit.any(axis=1)
    first = np.where(anyhit, hit.argmax(axis=1), -1)
    last = np.where(anyhit, p.shape[1] - 1 - hit[:, ::-1].argmax(axis=1), -1)
    return first.astype(np.int64), last.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Vectorised safeguarded Newton
# --------------------------------------------------------------------------------------------

FDF = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


def _solve(fdf: FDF, x0: np.ndarray, valid: np.ndarray, step: float, lower: np.ndarray | None = None,
           tol: float = YIELD_TOL, maxiter: int = MAX_ITER, max_expand: int = 40) -> np.ndarray:
    """Root of f per row. fdf(x) -> (f, f') elementwise over rows (row i uses only row i).

    1. bracket: [x0 - h, x0 + h], h doubling until f changes sign (the lower end kept above
       `lower`, a per-row open bound of the domain);
    2. Newton from x0 inside the bracket, bisecting when a step leaves it; the bracket shrinks
       with each evaluation. A row stops when its step is below `tol` (or f == 0).
    """
    x0 = np.where(valid, x0, 0.0).astype(float)
    s = x0.shape[0]
    if lower is None:
        lower = np.full(s, -np.inf)

    def ev(x, mask):
        # Evaluate only the rows still being solved (row i uses only row i's data,
        # so this changes no result; it saves the work on converged rows).
        rows = np.nonzero(mask)[0]
        f = np.full(s, np.nan)
        d = np.full(s, np.nan)
        if len(rows):
            fr, dr = fdf(x[rows], rows)
            f[rows] = fr
            d[rows] = dr
        return f, d

    def clamp_lo(v):
        # stay strictly inside the domain (x0 is inside it): at worst halfway to the bound
        return np.where(v > lower, v, 0.5 * (lower + x0))

    h = np.full(s, step)
    lo = clamp_lo(x0 - h)
    hi = x0 + h
    with np.errstate(all="ignore"):
        flo, _ = ev(lo, valid)
        fhi, _ = ev(hi, valid)
    bracketed = valid & (np.sign(flo) * np.sign(fhi) <= 0) & np.isfinite(flo) & np.isfinite(fhi)
    todo = valid & ~bracketed
    for _ in range(max_expand):
        if not todo.any():
            break
        h = np.where(todo, 2.0 * h, h)
        nlo = np.where(todo, np.where(x0 - h > lower, x0 - h, 0.5 * (lower + lo)), lo)
        nhi = np.where(todo, x0 + h, hi)
        with np.errstate(all="ignore"):
            fnlo, _ = ev(nlo, todo)
            fnhi, _ = ev(nhi, todo)
        # keep finite evaluations only
        oklo = todo & np.isfinite(fnlo)
        okhi = todo & np.isfinite(fnhi)
        lo = np.where(oklo, nlo, lo)
        flo = np.where(oklo, fnlo, flo)
        hi = np.where(okhi, nhi, hi)
        fhi = np.where(okhi, fnhi, fhi)
        newly = todo & (np.sign(flo) * np.sign(fhi) <= 0) & np.isfinite(flo) & np.isfinite(fhi)
        bracketed |= newly
        todo &= ~newly

    x = np.clip(x0, lo, hi)
    active = bracketed.copy()
    result = np.full(s, np.nan)
    # exact root at a bracket end
    for end, fend in ((lo, flo), (hi, fhi)):
        hit = active & (fend == 0)
        result = np.where(hit, end, result)
        active &= ~hit
    slo = np.sign(flo)
    for _ in range(maxiter):
        if not active.any():
            break
        with np.errstate(all="ignore"):
            f, df = ev(x, active)
            zero = active & (f == 0)
            result = np.where(zero, x, result)
            active &= ~zero
            same = np.sign(f) == slo
            lo = np.where(active & same, x, lo)
            hi = np.where(active & ~same, x, hi)
            xn = x - f / df
            bad = ~np.isfinite(xn) | (xn <= np.minimum(lo, hi)) | (xn >= np.maximum(lo, hi))
            xn = np.where(bad, 0.5 * (lo + hi), xn)
            done = active & ((np.abs(xn - x) <= tol * (1.0 + np.abs(x)))
                             | (np.abs(hi - lo) <= tol * (1.0 + np.abs(x))))
        result = np.where(done, xn, result)
        x = np.where(active, xn, x)
        active &= ~done
    return result


def _pv_exp(cf: np.ndarray, t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PV(x) = sum cf * exp(-t x) and dPV/dx, per row; zero flows contribute nothing."""
    nz = cf != 0
    with np.errstate(all="ignore"):
        disc = np.exp(-t * x[:, None])
        terms = np.where(nz, cf * disc, 0.0)
        pv = terms.sum(axis=1)
        dpv = -np.where(nz, t * terms, 0.0).sum(axis=1)
    return pv, dpv


def _solve_exp_rate(cf: np.ndarray, t: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Continuously-compounded rate x per unit of t with sum cf exp(-t x) = price (NaN if none)."""
    nz = cf != 0
    total = cf.sum(axis=1)
    valid = nz.any(axis=1) & np.isfinite(price) & np.isfinite(total) & \
        np.all(np.where(nz, np.isfinite(t), True), axis=1)
    tw = np.where(nz, cf * t, 0.0).sum(axis=1)
    with np.errstate(all="ignore"):
        mean_t = tw / total
        x0 = np.log(total / price) / mean_t
    x0 = np.where(np.isfinite(x0), x0, 0.0)
    t = np.where(nz, t, 0.0)

    def fdf(x, rows):
        pv, dpv = _pv_exp(cf[rows], t[rows], x)
        return pv - price[rows], dpv

    return _solve(fdf, x0, valid, step=1e-3)


# --------------------------------------------------------------------------------------------
# Cash-flow yield (fixed classes)
# --------------------------------------------------------------------------------------------

def bey_from_mortgage(y):
    """Bond-equivalent yield from the monthly-compounded mortgage yield (SIFMA SF):
    BEY = 2 [(1 + y/12)^6 - 1]."""
    y = np.asarray(y, dtype=float)
    return 2.0 * ((1.0 + y / 12.0) ** 6 - 1.0)


def mortgage_from_bey(bey):
    """Inverse of `bey_from_mortgage`: y = 12 [(1 + BEY/2)^(1/6) - 1]."""
    b = np.asarray(bey, dtype=float)
    return 12.0 * ((1.0 + b / 2.0) ** (1.0 / 6.0) - 1.0)


def cashflow_yield(cashflows, months, price) -> np.ndarray:
    """Monthly-compounded annual cash-flow (mortgage) yield y, shape (S,) (SIFMA SF).

    Solves  sum_t CF_t / (1 + y/12)^(m_t) = price  per scenario, where
      cashflows  (S, T) flows per unit of face (or absolute, with price in the same unit);
      months     (T,) or (S, T) time of each flow from settlement in 30/360 months (the first
                 flow of a deal settling on the 30th and paying on the 25th is at 25/30);
      price      (S,) FULL price (clean + accrued) in the unit of the flows.
    Returns y = 12 r (r the monthly rate); NaN where a scenario has no cashflow.
    Convert with `bey_from_mortgage` for the bond-equivalent yield.
    """
    cf = _flows(cashflows)
    m = _times(months, cf.shape, "months")
    p = _per_scenario(price, cf.shape[0], "price")
    x = _solve_exp_rate(cf, m, p)          # x = ln(1 + r)
    return 12.0 * np.expm1(x)


def bond_equivalent_yield(cashflows, months, price) -> np.ndarray:
    """`bey_from_mortgage(cashflow_yield(...))`: the page-11 'Yield' of fixed classes."""
    return bey_from_mortgage(cashflow_yield(cashflows, months, price))


def price_from_mortgage_yield(cashflows, months, y) -> np.ndarray:
    """Full price sum CF_t / (1 + y/12)^(m_t), shape (S,)."""
    cf = _flows(cashflows)
    m = _times(months, cf.shape, "months")
    yy = _per_scenario(y, cf.shape[0], "yield")
    pv, _ = _pv_exp(cf, np.where(cf != 0, m, 0.0), np.log1p(yy / 12.0))
    return pv


def price_from_yield(cashflows, months, bey) -> np.ndarray:
    """Full price at a bond-equivalent yield: the inverse of `bond_equivalent_yield`.

    Equivalently `price_from_mortgage_yield(cashflows, months, mortgage_from_bey(bey))`.
    """
    return price_from_mortgage_yield(cashflows, months, mortgage_from_bey(bey))


# --------------------------------------------------------------------------------------------
# Discount margin (floaters)
# --------------------------------------------------------------------------------------------

def _dm_inputs(cashflows, index_rates, accrual_days):
    cf = _flows(cashflows)
    idx = _times(index_rates, cf.shape, "index_rates")
    a = _times(accrual_days, cf.shape, "accrual_days") / 360.0
    return cf, idx, a


def _pv_dm(cf, idx, a, dm):
    """PV and dPV/d(dm) with DF_t = prod_{k<=t} 1 / (1 + (i_k + dm) a_k)."""
    with np.errstate(all="ignore"):
        g = 1.0 + (idx + dm[:, None]) * a
        df = np.cumprod(1.0 / g, axis=1)
        dlog = np.cumsum(a / g, axis=1)         # -d ln DF_t / d dm
        nz = cf != 0
        terms = np.where(nz, cf * df, 0.0)
        pv = terms.sum(axis=1)
        dpv = -np.where(nz, terms * dlog, 0.0).sum(axis=1)
    return pv, dpv


def price_from_dm(cashflows, index_rates, accrual_days, dm) -> np.ndarray:
    """Full price of floater flows at discount margin `dm` (decimal), shape (S,).

    DF_t = prod_{k<=t} 1 / (1 + (index_k + dm) * days_k / 360).
    """
    cf, idx, a = _dm_inputs(cashflows, index_rates, accrual_days)
    d = _per_scenario(dm, cf.shape[0], "dm")
    nz = cf != 0
    last = np.where(nz.any(axis=1), cf.shape[1] - 1 - nz[:, ::-1].argmax(axis=1), -1)
    upto = np.arange(cf.shape[1])[None, :] <= last[:, None]
    return _pv_dm(cf, np.where(upto, idx, 0.0), np.where(upto, a, 0.0), d)[0]


def discount_margin(cashflows, index_rates, accrual_days, price) -> np.ndarray:
    """Discount margin (decimal) per scenario, shape (S,).

    Solves  sum_t CF_t prod_{k<=t} 1/(1 + (index_k + dm) days_k/360) = price, where
      index_rates   (S, T) projected index (e.g. 1M LIBOR) for each accrual period;
      accrual_days  (T,) or (S, T) actual days of each period, the first from settlement to the
                    first payment date;
      price         full price (floaters usually settle flat: accrued = 0).
    NaN where a scenario has no cashflow.
    """
    cf, idx, a = _dm_inputs(cashflows, index_rates, accrual_days)
    s = cf.shape[0]
    p = _per_scenario(price, s, "price")
    nz = cf != 0
    # only periods up to the last flow matter (index / days may be NaN-padded after it)
    last = np.where(nz.any(axis=1), cf.shape[1] - 1 - nz[:, ::-1].argmax(axis=1), -1)
    upto = np.arange(cf.shape[1])[None, :] <= last[:, None]
    valid = nz.any(axis=1) & np.isfinite(p) & np.isfinite(cf.sum(axis=1)) & \
        np.all(np.where(upto, np.isfinite(idx) & np.isfinite(a), True), axis=1)
    # domain: every period's growth factor 1 + (i + dm) a must stay positive (up to the last flow)
    with np.errstate(all="ignore"):
        bound = np.where(upto & (a > 0), -1.0 / np.where(a > 0, a, 1.0) - idx, -np.inf)
    lower = bound.max(axis=1)
    lower = np.where(np.isfinite(lower), lower, -np.inf)
    # initial guess: continuously-compounded spread over the index, on actual/360 years
    t = np.cumsum(np.where(upto, a, 0.0), axis=1)
    total = cf.sum(axis=1)
    with np.errstate(all="ignore"):
        mean_t = np.where(nz, cf * t, 0.0).sum(axis=1) / total
        idx_mean = np.where(nz, cf * idx, 0.0).sum(axis=1) / total
        x0 = np.log(total / p) / mean_t - idx_mean
    x0 = np.where(np.isfinite(x0), x0, 0.0)
    x0 = np.where(x0 > lower, x0, np.where(np.isfinite(lower), lower + 1e-4, 0.0))
    idx = np.where(upto, idx, 0.0)
    a = np.where(upto, a, 0.0)

    def fdf(dm, rows):
        pv, dpv = _pv_dm(cf[rows], idx[rows], a[rows], dm)
        return pv - p[rows], dpv

    return _solve(fdf, x0, valid, step=1e-3, lower=lower)


# --------------------------------------------------------------------------------------------
# Periodic yield and duration
# --------------------------------------------------------------------------------------------

def periodic_yield(cashflows, years, price, frequency: int = 2) -> np.ndarray:
    """Yield compounded `frequency` times a year on the given times (years from settlement):
    sum CF_t / (1 + y/f)^(f t_t) = price. With t = 30/360 years and f = 2 this is exactly the
    BEY of `bond_equivalent_yield` (t = months / 12)."""
    cf = _flows(cashflows)
    t = _times(years, cf.shape, "years") * frequency
    p = _per_scenario(price, cf.shape[0], "price")
    x = _solve_exp_rate(cf, t, p)          # x = ln(1 + y/f)
    return frequency * np.expm1(x)


def macaulay_duration(cashflows, years, yld, frequency: int = 2) -> np.ndarray:
    """Macaulay duration (years) at yield `yld` compounded `frequency` times a year (SIFMA SF):
    D = sum t PV_t / sum PV_t, PV_t = CF_t / (1 + y/f)^(f t)."""
    cf = _flows(cashflows)
    t = _times(years, cf.shape, "years")
    y = _per_scenario(yld, cf.shape[0], "yield")
    nz = cf != 0
    with np.errstate(all="ignore"):
        pv = np.where(nz, cf * np.exp(-frequency * np.where(nz, t, 0.0)
                                      * np.log1p(y / frequency)[:, None]), 0.0)
        den = pv.sum(axis=1)
        out = np.where(nz, t * pv, 0.0).sum(axis=1) / den
    return np.where(nz.any(axis=1) & (den != 0), out, np.nan)


def modified_duration(cashflows, years, yld, frequency: int = 2) -> np.ndarray:
    """Modified duration = Macaulay / (1 + y/f) (f = 2 for the page-11 MDUR)."""
    y = _per_scenario(yld, _flows(cashflows).shape[0], "yield")
    return macaulay_duration(cashflows, years, y, frequency) / (1.0 + y / frequency)


def cashflow_convexity(cashflows, years, yld, frequency: int = 2) -> np.ndarray:
    """Cash-flow convexity (years squared) at yield `yld` compounded `frequency` times a year
    (SIFMA SF-48, f.): C = 1 / (P (1 + y/f)^2) * sum t (t + 1/f) CF_t / (1 + y/f)^(f t), with P
    the present value at the yield (the full price); the second derivative of price with
    respect to the yield, over the price. The standard's Ginnie Mae I example (SF-50) gives
    54.4326 years^2, "or 0.544326" when divided by 100 for expression; this is the former."""
    cf = _flows(cashflows)
    t = _times(years, cf.shape, "years")
    y = _per_scenario(yld, cf.shape[0], "yield")
    nz = cf != 0
    with np.errstate(all="ignore"):
        tt = np.where(nz, t, 0.0)
        pv = np.where(nz, cf * np.exp(-frequency * tt * np.log1p(y / frequency)[:, None]), 0.0)
        den = pv.sum(axis=1)
        out = np.where(nz, tt * (tt + 1.0 / frequency) * pv, 0.0).sum(axis=1) / den / (1.0 + y / frequency) ** 2
    return np.where(nz.any(axis=1) & (den != 0) & np.isfinite(y), out, np.nan)


class YieldDuration(NamedTuple):
    yld: np.ndarray        # (S,) yield compounded `frequency` times a year
    macaulay: np.ndarray   # (S,) years
    modified: np.ndarray   # (S,) years


def yield_and_duration(cashflows, years, price, frequency: int = 2) -> YieldDuration:
    """Solve the `frequency`-compounded yield on `years` at full `price`, and return it with the
    Macaulay and modified durations at that yield.

    Page-11 conventions: fixed classes use 30/360 years (the yield is then the BEY); floaters use
    actual/360 years along the projected index path (cumulative accrual days / 360).
    """
    y = periodic_yield(cashflows, years, price, frequency)
    mac = macaulay_duration(cashflows, years, y, frequency)
    return YieldDuration(y, mac, mac / (1.0 + y / frequency))


# --------------------------------------------------------------------------------------------
# Price quotes and accrued interest
# --------------------------------------------------------------------------------------------

def format_32nds(price: float) -> str:
    """Price in points as a 32nds quote rounded to the nearest 64th: 100 -> '100-00',
    99.515625 -> '99-16+' (the '+' is half a 32nd)."""
    p = float(price)
    if not math.isfinite(p):
        raise ValueError(f"cannot format {price!r}")
    sign = "-" if p < 0 else ""
    n64 = int(math.floor(abs(p) * 64.0 + 0.5))
    whole, rem = divmod(n64, 64)
    t32, half = divmod(rem, 2)
    return f"{sign}{whole}-{t32:02d}{'+' if half else ''}"


_PRICE_RE = re.compile(r"\s*(-?)(\d+)-(\d{1,2})(\+|[0-7]|\s+\d/\d)?\s*")


def parse_price(text) -> float:
    """Parse '99-16+' -> 99.515625, '100-00', '99-162' (third digit in eighths of a 32nd),
    or a decimal '99.5'."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    m = _PRICE_RE.fullmatch(s)
    if m:
        sign, whole, t32, extra = m.groups()
        n32 = int(t32)
        if n32 >= 32:
            raise ValueError(f"bad 32nds in price {text!r}")
        frac = 0.0
        if extra == "+":
            frac = 0.5
        elif extra and extra.strip().count("/"):
            a, b = extra.strip().split("/")
            frac = int(a) / int(b)
        elif extra:
            frac = int(extra) / 8.0
        v = int(whole) + (n32 + frac) / 32.0
        return -v if sign else v
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"cannot parse price {text!r}") from None


def accrued(coupon, days_30_360):
    """Accrued interest as a fraction of face: coupon x days / 360 (coupon as a decimal).

    E.g. 3.108% from April 1 to the April 30 settlement (29 days): 0.03108 * 29 / 360.
    """
    return np.asarray(coupon, dtype=float) * np.asarray(days_30_360, dtype=float) / 360.0
