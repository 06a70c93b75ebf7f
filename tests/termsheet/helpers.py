"""Constants, term-sheet parsers and hand calculations shared by the term-sheet tests.

Nothing here reads the engine's intermediate values: caps, corridor payments,
IO notionals and the like are recomputed from the term sheet's own numbers and
from the projected collateral (balances and net rates), so that a test compares
the engine against an independent calculation.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEAL_PATH = ROOT / "deals" / "cwalt-2004-j4.waterfall"
ASSUMPTIONS_PATH = ROOT / "deals" / "cwalt-2004-j4.assumptions.yaml"
TERMSHEET = Path("/work/shared/termsheet/cwalt-2004-j4-computational-materials.txt")

CLOSING = dt.date(2004, 4, 30)
CUTOFF = 615_000_000.0  # p.3 total; the pool equals the certificates at closing
OC_TARGET = 0.0035 * CUTOFF  # p.8: 2,152,500
IO_RATE = 0.015  # p.6, periods 1-21
MAX_RATE = 0.1125  # p.6 Maximum Rate
LIBOR = 0.0110  # pricing-assumptions.md, 1M LIBOR

SENIORS = ["1-A-1", "1-A-2", "1-A-3", "1-A-4", "1-A-5", "1-A-6", "2-A"]
CLASS_1A = SENIORS[:6]
SUBS = ["M-1", "M-2", "B"]
CERTS = SENIORS + SUBS  # principal certificates
IOS = ["1-A-IO", "2-A-IO"]
OFFERED = SENIORS + IOS + SUBS
FLOATERS = ["1-A-1", "2-A", "M-1", "M-2", "B"]
# pricing-assumptions.md: coupons/margins before the Mandatory Auction, and after it (note 2, p.3)
FIXED_COUPON = {"1-A-2": 0.03108, "1-A-3": 0.038, "1-A-4": 0.04924, "1-A-5": 0.05225, "1-A-6": 0.0443}
FIXED_STEP_UP = {"1-A-4": 0.005, "1-A-5": 0.005, "1-A-6": 0.005}
MARGIN = {"1-A-1": 0.0016, "2-A": 0.0025, "M-1": 0.006, "M-2": 0.013, "B": 0.0225}
MARGIN_AFTER = {"1-A-1": 0.0016, "2-A": 0.0050, "M-1": 0.009, "M-2": 0.0195, "B": 0.03375}

BASE_SPEEDS = [0.0, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5]
STRESS_SPEEDS = [3.0, 4.0]
MODES = ("auction", "maturity", "call")
LOSS_CASES = [(0.05, 0.20), (0.10, 0.40), (0.20, 0.60), (0.20, 0.00)]  # (CDR, severity)
LOSS_SPEEDS = [0.0, 0.5, 1.0, 1.5, 2.0]

MONTHS = {m: i for i, m in enumerate(["January", "February", "March", "April", "May", "June", "July",
                                       "August", "September", "October", "November", "December"], 1)}


# ---------------------------------------------------------------- the term sheet
def page3_table(text: str) -> dict:
    """Page 3: class -> dict(amount, wal (auction, maturity), window (auction, maturity), last_scheduled)."""
    out = {}
    row = re.compile(r"^(\d-A-\d|2-A|M-\d|B)\s+([\d,]+)\s+([\d.]+)\s*/\s*([\d.]+)\s+(\d+)-(\d+)\s*/\s*(\d+)-(\d+)"
                     r"\s+\S+\s+([A-Z][a-z]+) (\d{4})", re.M)
    for m in row.finditer(text):
        out[m.group(1)] = dict(
            amount=float(m.group(2).replace(",", "")),
            wal=(float(m.group(3)), float(m.group(4))),
            window=((int(m.group(5)), int(m.group(6))), (int(m.group(7)), int(m.group(8)))),
            last_scheduled=(int(m.group(10)), MONTHS[m.group(9)]),
        )
    io = re.compile(r"^(\d-A-IO)\s+([\d,]+)\(6\).*?([A-Z][a-z]+) (\d{4})", re.M)
    for m in io.finditer(text):
        out[m.group(1)] = dict(notional=float(m.group(2).replace(",", "")),
                               last_scheduled=(int(m.group(4)), MONTHS[m.group(3)]))
    total = re.search(r"Total:\s+\$([\d,]+)", text)
    out["Total"] = float(total.group(1).replace(",", ""))
    return out


def io_schedule(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Page 6 table: (notional 1-A-IO, notional 2-A-IO, rate) for periods 1..22 (index 0..21)."""
    rows = re.findall(r"^\s+(\d+)\s+([\d,]+\.\d\d)\s+([\d.]+)\s+([\d,]+\.\d\d)\s+([\d.]+)\s*$", text, re.M)
    rows = sorted((int(p), float(a.replace(",", "")), float(r1) / 100, float(b.replace(",", "")))
                  for p, a, r1, b, _ in rows)
    assert [r[0] for r in rows] == list(range(1, 23)), rows
    return (np.array([r[1] for r in rows]), np.array([r[3] for r in rows]), np.array([r[2] for r in rows]))


def extend(schedule: np.ndarray, T: int) -> np.ndarray:
    """A period-1.. schedule whose last row holds thereafter."""
    return np.concatenate([schedule, np.full(max(0, T - len(schedule)), schedule[-1])])[:T]


# ---------------------------------------------------------------- runs
def scen(r, mode, speed):
    for s, (m, x) in enumerate(zip(r.modes, r.speeds)):
        if m == mode and abs(x - speed) < 1e-12:
            return s
    raise KeyError((mode, speed))


def idx(r, names):
    return [r.cls(n) for n in names]


def pool_end(r):
    """(S, T) collateral balance at the end of each period, all groups."""
    return sum(f.end_balance for f in r.collateral.values())


def pool_for_losses(r):
    """(S, T) the loans against which realized losses are measured: the performing balance
    plus defaulted loans still awaiting liquidation (only a realized loss, default less
    recovery, reduces the certificates)."""
    pending = sum(np.cumsum(f.default - f.loss - f.recovery, axis=1) for f in r.collateral.values())
    return pool_end(r) + np.maximum(pending, 0.0)


def pool_begin(r):
    return sum(f.begin_balance for f in r.collateral.values())


def collections(r):
    """(T, S) net interest + principal (+ prepayment charges) collected."""
    return sum(f.net_interest + f.principal + f.penalty for f in r.collateral.values()).T


def sale_period(r, s, fraction):
    """0-based period in which the pool first ends at or below fraction x cut-off, or None."""
    hit = np.nonzero(pool_end(r)[s] <= fraction * CUTOFF)[0]
    return int(hit[0]) if hit.size else None


EVENT_FRACTION = {"auction": 0.20, "call": 0.10}


def sale_t(r, s):
    m = r.modes[s]
    return None if m == "maturity" else sale_period(r, s, EVENT_FRACTION[m])


def alive_mask(r):
    """(T, S) 1 while a scenario still holds its collateral (the sale period included)."""
    out = np.ones((r.n_periods, len(r.speeds)))
    for s in range(len(r.speeds)):
        t = sale_t(r, s)
        if t is not None:
            out[t + 1:, s] = 0.0
    return out


def sale_proceeds(r):
    """(T, S) the collateral sold in the sale period of a run 'to' an event: the pool
    balance and the recoveries still to come on defaulted loans (defaults less losses
    less recoveries received)."""
    out = np.zeros((r.n_periods, len(r.speeds)))
    pe = pool_end(r)
    f = list(r.collateral.values())
    to_come = np.maximum(sum(np.cumsum(g.default - g.loss - g.recovery, axis=1) for g in f), 0.0)  # (S, T)
    for s in range(len(r.speeds)):
        t = sale_t(r, s)
        if t is not None:
            out[t, s] = pe[s, t] + to_come[s, t]
    return out


def clause(r, prefix):
    """Index of the waterfall clause whose label starts with prefix ('1)', ..., '6)')."""
    hits = [k for k, lab in enumerate(r.clause_labels) if lab.startswith(prefix)]
    assert len(hits) == 1, (prefix, r.clause_labels)
    return hits[0]


def accrual_days(r) -> np.ndarray:
    prev = [CLOSING] + list(r.dates[:-1])
    return np.array([(b - a).days for a, b in zip(prev, r.dates)], dtype=float)


def hand_caps(r, s, io1, io2):
    """Net Rate Caps of p.6-7 recomputed from the collateral of scenario s, as (T,) arrays:
    nrc_1a (30/360), nrc_2a_30, and the effective actual/360 caps of 1-A-1, 2-A and the
    subordinates (pricing-assumptions.md: start-of-period balances; converted x 30/days)."""
    T = r.n_periods
    days = accrual_days(r)
    b1 = r.collateral["1"].begin_balance[s]
    b2 = r.collateral["2"].begin_balance[s]
    w1 = r.collateral["1"].net_wac[s]
    w2 = r.collateral["2"].net_wac[s]
    io_rate = np.where(np.arange(T) < 21, IO_RATE, 0.0)
    n1 = np.minimum(extend(io1, T), b1)
    n2 = np.minimum(extend(io2, T), b2)
    with np.errstate(divide="ignore", invalid="ignore"):
        nrc1 = w1 - io_rate * np.where(b1 > 0, n1 / b1, 0.0)
        nrc2 = w2 - io_rate * np.where(b2 > 0, n2 / b2, 0.0)
        sen1 = r.begin_balance[:, idx(r, CLASS_1A), s].sum(axis=1)
        sen2 = r.begin_balance[:, r.cls("2-A"), s]
        wsub1, wsub2 = b1 - sen1, b2 - sen2
        sub30 = (nrc1 * wsub1 + nrc2 * wsub2) / (wsub1 + wsub2)
    f = 30.0 / days
    return dict(nrc_1a=nrc1, nrc_2a_30=nrc2, cap_1a1=nrc1 * f, cap_2a=nrc2 * f, cap_sub=sub30 * f,
                days=days, n1=n1, n2=n2, io_rate=io_rate)


def coupons(r, s, auction_t=None):
    """(T,) uncapped coupon of each offered principal class in scenario s; the step-ups of
    note (2) p.3 apply from the period after auction_t (0-based) when given."""
    T = r.n_periods
    lib = r.index_path["LIBOR_1M"][s][:T]
    after = np.zeros(T, dtype=bool) if auction_t is None else (np.arange(T) > auction_t)
    out = {}
    for c, m in MARGIN.items():
        out[c] = lib + np.where(after, MARGIN_AFTER[c], m)
    for c, k in FIXED_COUPON.items():
        out[c] = np.full(T, k) + np.where(after, FIXED_STEP_UP.get(c, 0.0), 0.0)
    return out


def cap_of(c, caps):
    if c in CLASS_1A:
        return caps["cap_1a1"] if c == "1-A-1" else caps["nrc_1a"]
    if c == "2-A":
        return caps["cap_2a"]
    return caps["cap_sub"]


def day_fraction(c, days):
    return days / 360.0 if c in FLOATERS else np.full_like(days, 30.0 / 360.0)


def months_between(a: tuple, b: tuple) -> int:
    """(year, month) b - a in months."""
    return (b[0] - a[0]) * 12 + (b[1] - a[1])
