"""``run-deal DEAL --report FILE.html``: one self-contained page (no script,
no style sheet or font fetched: it opens without network access) with the
term sheet's tables, the decrement tables, and charts drawn here as inline
SVG: each class's balance over time at the table speeds, the collateral's
cashflows by kind, the cash each clause paid per period and the
available-funds cap schedule. The tables' figures are those of the text
tables (the same rows, the same formatting)."""
from __future__ import annotations

import html
import io
from typing import List, Optional, Sequence

import numpy as np

from ..engine import run
from .analyze import analyze
from .decrement import decrement_tables, pct_cell, principal_classes
from .pool import collateral_rows, format_collateral
from .quotes import pricing_speed_text
from .tables import class_tables, last_scheduled

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
AFC_STRESS = 0.20  # the --afc default: every index held at 20%

_CSS = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f0f0f0}td:first-child{text-align:left}
h2{border-bottom:2px solid #444;margin-top:2em}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0}figcaption{font-size:90%;text-align:center}svg text{font-size:11px;font-family:sans-serif}"""


def e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x, spec):
    return "NA" if x is None else format(x, spec)


def _window(r):
    return "NA" if r["first_period"] is None else f"{r['first_period']}-{r['last_period']}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{e(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


# ------------------------------------------------------------------ charts
def svg_lines(series: List[tuple], x: Sequence[float], title: str, y_label: str, width: int = 460,
              height: int = 260, x_label: str = "period") -> str:
    """A line chart: ``series`` of (label, values over ``x``); NaN breaks a line."""
    left, right, top = 62, 12, 24
    pw = width - left - right
    cols = max(1, pw // 200)  # legend entries a row
    rows = (len(series) + cols - 1) // cols
    bottom = 58 + 14 * rows
    ph = height - top - bottom + 14 * rows
    height = top + ph + bottom
    xs = np.asarray(x, dtype=float)
    ys = [np.asarray(v, dtype=float) for _, v in series]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.zeros(0)
    y0 = min(0.0, float(finite.min())) if len(finite) else 0.0
    y1 = float(finite.max()) if len(finite) else 1.0
    if y1 <= y0:
        y1 = y0 + 1.0
    x0, x1 = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
    if x1 <= x0:
        x1 = x0 + 1.0

    def px(v):
        return left + (v - x0) / (x1 - x0) * pw

    def py(v):
        return top + ph - (v - y0) / (y1 - y0) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">',
           f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-weight="bold">{e(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for k in range(5):
        v = y0 + (y1 - y0) * k / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{e(_tick(v, y1 - y0))}</text>')
    for k in range(5):
        v = x0 + (x1 - x0) * k / 4
        out.append(f'<text x="{px(v):.1f}" y="{top + ph + 14}" text-anchor="middle">{v:.0f}</text>')
    out.append(f'<text x="{left + pw / 2:.0f}" y="{top + ph + 28}" text-anchor="middle">{e(x_label)}</text>')
    out.append(f'<text x="12" y="{top + ph / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {top + ph / 2:.0f})">{e(y_label)}</text>')
    for i, ((label, _), y) in enumerate(zip(series, ys)):
        color = PALETTE[i % len(PALETTE)]
        for seg in _segments(xs, y):
            pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in seg)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
        lx = left + (i % cols) * (pw / cols)
        ly = top + ph + 44 + 14 * (i // cols)
        short = label if len(label) <= 30 else label[:29] + "\u2026"
        out.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{lx + 14:.1f}" y="{ly + 1}">{e(short)}<title>{e(label)}</title></text>')
    out.append("</svg>")
    return "\n".join(out)


def _segments(xs, y):
    seg = []
    for a, b in zip(xs, y):
        if np.isfinite(b):
            seg.append((a, b))
        elif seg:
            yield seg
            seg = []
    if seg:
        yield seg


def _tick(v: float, span: float) -> str:
    if span >= 5e6:
        return f"{v / 1e6:,.0f}M"
    if span >= 5e3:
        return f"{v / 1e3:,.0f}K"
    return f"{v:.3g}"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{e(caption)}</figcaption></figure>"


# ------------------------------------------------------------------ sections
def summary_table(deal, result, rows, modes, last: dict) -> str:
    """report.tables.format_summary as an HTML table (the same figures; ``last``:
    report.tables.last_scheduled)."""
    mode_names = "/".join(m.capitalize() if m != "maturity" else "Mat" for m in modes)
    at = {(r["class"], r["to"], round(r["speed_pct"], 9)): r for r in rows}
    body = []
    for name in dict.fromkeys(r["class"] for r in rows):
        per = [at.get((name, m.lower(), 100.0)) for m in modes]
        first = per[0]
        if first["kind"] == "io":
            bal = f"{result.notional[0, result.cls(name), 0]:,.0f} (N)"
        else:
            bal = _fmt(first["balance"], ",.0f")
        body.append([name, bal, " / ".join(_fmt(p["wal_years"], ".2f") for p in per),
                     " / ".join(_window(p) for p in per), last.get(name, "NA")])
    return _table(["Class", "Principal Amount", f"WAL (yrs) {mode_names}", f"Window (mos) {mode_names}",
                   "Last Scheduled Distribution"], body)


def price_tables(rows) -> str:
    """report.tables' class tables as HTML tables."""
    return "\n".join(_table(head, body, caption) for caption, head, body in class_tables(rows))


def decrement_section(tables) -> str:
    out = []
    for tb in tables:
        to = "Maturity" if tb.to == "maturity" else tb.to.capitalize()
        body = [["Initial Percentage" if k == 0 else f"{d:%B} {d.day}, {d.year}"]
                + [pct_cell(x) for x in tb.pct[k]] for k, d in enumerate(tb.dates)]
        body.append(["Weighted Average Life (years)"] + ["NA" if not np.isfinite(w) else f"{w:.2f}" for w in tb.wal])
        out.append(_table(["Distribution Date"] + [f"{s:g}%" for s in tb.speeds_pct], body,
                          f"Class {tb.cls} (to {to})"))
    return "\n".join(out)


def write_report(path: str, deal, assumptions, speeds: Sequence[float], modes: Sequence[str],
                 classes: Optional[Sequence[str]] = None) -> None:
    from .sizing import write_text_atomically
    write_text_atomically(path, report_html(deal, assumptions, speeds, modes, classes))


def report_html(deal, assumptions, speeds: Sequence[float], modes: Sequence[str],
                classes: Optional[Sequence[str]] = None) -> str:
    speeds = list(speeds)
    run_speeds = speeds + [x for x in (1.0, 0.0) if x not in speeds]
    run_modes = list(modes) + (["maturity"] if "maturity" not in modes else [])
    result = run(deal, assumptions, run_speeds, to=run_modes)
    all_rows = analyze(result, classes=classes)
    wanted = {round(x * 100, 9) for x in speeds}
    rows = [r for r in all_rows if round(r["speed_pct"], 9) in wanted and r["to"] in [m.lower() for m in modes]]
    table_run = run(deal, assumptions, speeds, to=list(modes))
    dec = decrement_tables(table_run, classes)
    out = io.StringIO()
    settle = deal.header.settlement or deal.header.closing
    out.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(deal.name)}</title>'
              f"<style>{_CSS}</style></head><body>\n<h1>{e(deal.name)}</h1>\n")
    out.write(f"<p>Settlement {settle.isoformat()}; first distribution "
              f"{deal.header.first_distribution.isoformat()}; tables at "
              f"{', '.join(f'{s * 100:g}%' for s in speeds)} of the pricing speed.</p>\n")
    last = last_scheduled(deal, assumptions, result, all_rows)
    out.write("<h2>Term sheet: at 100% of the pricing speed</h2>\n" + summary_table(deal, result, all_rows, modes, last))
    out.write("\n<h2>Yield, WAL and duration by speed</h2>\n")
    settle = deal.header.settlement or deal.header.closing
    out.write(f"<p>Prices clean, per 100 of current face; settlement {settle.isoformat()}. Pricing speed: "
              f"{e(pricing_speed_text(deal, assumptions.prepayment))}; a percent is of the pricing speed.</p>\n")
    out.write(f"<pre>{e(format_collateral(collateral_rows(result)))}</pre>\n")  # the pool's own line, as the text tables
    out.write(_flow(price_tables(rows)))
    out.write("\n<h2>Percent of Initial Class Principal Balance Outstanding</h2>\n" + _flow(decrement_section(dec)))
    out.write("\n<h2>Class balances</h2>\n" + _balance_charts(table_run, classes))
    out.write("\n<h2>Collateral cashflows at 100% of the pricing speed</h2>\n" + _collateral_chart(result))
    out.write("\n<h2>Cash paid by each clause at 100% of the pricing speed</h2>\n" + _clause_chart(result))
    out.write("\n<h2>Available funds cap</h2>\n" + _afc_chart(deal, assumptions, result))
    out.write("\n</body></html>\n")
    return out.getvalue()


def _flow(tables: str) -> str:
    """Tables side by side, as many as the page is wide."""
    return f'<div class="charts">{tables}</div>'


def _scenario(result, speed: float, mode: str) -> int:
    for s, (sp, m) in enumerate(zip(result.speeds, result.modes)):
        if abs(sp - speed) < 1e-12 and m == mode:
            return s
    return 0


def _live(result, s: int) -> int:
    """Periods up to the last with any class balance (or collateral) in scenario ``s``."""
    alive = np.nonzero(result.begin_balance[:, :, s].sum(axis=1) > 0.005)[0]
    return int(alive[-1]) + 1 if len(alive) else 1


def _balance_charts(result, classes) -> str:
    figs = []
    modes = list(dict.fromkeys(result.modes))
    n = len(result.modes) // len(modes)
    for mode in modes:
        for name in principal_classes(result, classes):
            ci = result.cls(name)
            series, end = [], 1
            for j in range(n):
                s = modes.index(mode) * n + j
                bal = np.concatenate([[result.begin_balance[0, ci, s]], result.balance[:, ci, s]])
                series.append((f"{result.speeds[s] * 100:g}%", bal))
                alive = np.nonzero(bal > 0.005)[0]
                end = max(end, int(alive[-1]) + 2 if len(alive) else 1)
            series = [(label, v[:end]) for label, v in series]
            to = "maturity" if mode == "maturity" else mode
            figs.append(_figure(svg_lines(series, np.arange(end), f"Class {name}, to {to}", "balance ($)"),
                                f"Class {name} balance by period at the table speeds, to {to}"))
    return '<div class="charts">' + "\n".join(figs) + "</div>"


def _collateral_chart(result) -> str:
    s = _scenario(result, 1.0, "maturity")
    flows = list(result.collateral.values())
    T = _live(result, s)
    kinds = [("net interest", "net_interest"), ("scheduled principal", "scheduled_principal"),
             ("prepayments", "prepayment"), ("recoveries", "recovery"), ("losses", "loss"),
             ("prepayment charges", "penalty")]
    series = [(label, sum(getattr(f, k)[s, :T] for f in flows)) for label, k in kinds]
    series = [(label, v) for label, v in series if np.any(v != 0)]
    return _figure(svg_lines(series, np.arange(1, T + 1), "Collateral cashflows by kind", "$ per period",
                             width=720, height=300), "every group, to maturity")


def _clause_chart(result) -> str:
    s = _scenario(result, 1.0, "maturity")
    T = _live(result, s)
    series = [(label, result.clause_paid[:T, k, s]) for k, label in enumerate(result.clause_labels)]
    return _figure(svg_lines(series, np.arange(1, T + 1), "Cash paid by clause", "$ per period",
                             width=720, height=320), "to maturity")


def _afc_chart(deal, assumptions, result) -> str:
    s = _scenario(result, 1.0, "maturity")
    capped = [i for i, n in enumerate(result.class_names) if not np.all(np.isnan(result.cap[:, i, s]))]
    if not capped:
        return "<p>No class of this deal has a cap.</p>"
    stressed = run(deal, assumptions, [1.0], index_levels={i.name: AFC_STRESS for i in deal.indices})
    T = _live(result, s)
    series = []
    for i in capped:
        name = result.class_names[i]
        live = result.begin_balance[:T, i, s] > 0
        series.append((f"{name} curve", np.where(live, result.cap[:T, i, s] * 100, np.nan)))
        series.append((f"{name} @{AFC_STRESS * 100:g}%", np.where(live, stressed.cap[:T, i, 0] * 100, np.nan)))
    return _figure(svg_lines(series, np.arange(1, T + 1), "Effective Net Rate Cap", "% a year", width=720,
                             height=340),
                   f"at 100% of the pricing speed, indices on their curves and held at {AFC_STRESS * 100:g}%")
