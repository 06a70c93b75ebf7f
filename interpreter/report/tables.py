"""The term sheet's tables as text: the page-3 summary (balance, WAL and
principal window per class and mode) and the page-11 style tables (yield or
discount margin, WAL, modified duration and window by speed), from the rows
``report.analyze`` gives."""
from __future__ import annotations

import io

from ..analytics.measures import format_32nds
from ..dates import month_label, parse_date
from .analyze import EXTRA_KEYS
from .quotes import pricing_speed_text


def _fmt(x, spec):
    return "NA" if x is None else format(x, spec)


def _window(r):
    if r["first_period"] is None:
        return "NA"
    return f"{r['first_period']}-{r['last_period']}"


def last_scheduled(deal, assumptions, result, rows) -> dict:
    """Each class's Last Scheduled Distribution Date (a month label, or NA): its last
    principal (an IO: its last notional) at 0% prepayments and no defaults, to maturity:
    a date of the deal's structure, not of a credit scenario. From the run's 0% scenario
    when the assumptions state no defaults, else from a run of its own without them."""
    zero = [s for s in range(len(result.speeds)) if result.speeds[s] == 0.0 and result.modes[s] == "maturity"]
    if assumptions is not None and (assumptions.defaults or not zero):
        from ..engine import run
        from .analyze import analyze
        result = run(deal, assumptions, [0.0], to=["maturity"], cdr=[0.0] if assumptions.defaults else None)
        rows, zero = analyze(result), [0]
    if not zero:
        return {}
    at = {r["class"]: r for r in rows if r["to"] == "maturity" and round(r["speed_pct"], 9) == 0.0}
    out = {}
    for name in dict.fromkeys(r["class"] for r in rows):
        ci = result.cls(name)
        if (at.get(name) or {}).get("kind") == "io":
            nz = [t for t in range(result.n_periods) if result.notional[t, ci, zero[0]] > 0]
            out[name] = month_label(result.dates[nz[-1]]) if nz else "NA"
        else:
            last = (at.get(name) or {}).get("last_principal")
            out[name] = month_label(parse_date(last)) if last else "NA"
    return out


def format_summary(deal, result, rows, modes, settle=None, last: dict = None) -> str:
    """Page-3 style: balance, WAL and window at the pricing speed to each mode,
    and the Last Scheduled Distribution Date (``last``: report.tables.last_scheduled)."""
    out = io.StringIO()
    settle = settle or deal.header.settlement or deal.header.closing
    last = last if last is not None else last_scheduled(deal, None, result, rows)
    mode_names = "/".join(m.capitalize() if m != "maturity" else "Mat" for m in modes)
    out.write(f"{deal.name}\n")
    out.write(f"Settlement {settle.isoformat()}; first distribution {deal.header.first_distribution.isoformat()}; "
              f"at 100% of the pricing speed\n\n")
    head = f"{'Class':<8} {'Principal Amount':>18}  {'WAL (yrs) ' + mode_names:>22}  " \
           f"{'Window (mos) ' + mode_names:>26}  {'Last Scheduled Distribution':>28}"
    out.write(head + "\n" + "-" * len(head) + "\n")
    at = {}
    for r in rows:
        at[(r["class"], r["to"], round(r["speed_pct"], 9))] = r
    for name in dict.fromkeys(r["class"] for r in rows):
        per = [at.get((name, m.lower(), 100.0)) for m in modes]
        first = per[0]
        if first["kind"] == "io":
            bal_text = f"{result.notional[0, result.cls(name), 0]:,.0f} (N)"
        else:
            bal_text = _fmt(first["balance"], ",.0f")
        wal = " / ".join(_fmt(p["wal_years"], ".2f") for p in per)
        win = " / ".join(_window(p) for p in per)
        out.write(f"{name:<8} {bal_text:>18}  {wal:>22}  {win:>26}  {last.get(name, 'NA'):>28}\n")
    out.write("\n")
    return out.getvalue()


def _price_label(per, speeds) -> str:
    prices = [per[s]["price"] for s in speeds]
    if all(p is not None and abs(p - prices[0]) < 1e-9 for p in prices):
        return format_32nds(prices[0])
    return "varies"


def _quote_rows(per, speeds, measure, floater, several: bool) -> list:
    """The measure at one quote: 'Yield @ 99-16' (one price at every speed), or the measure
    and the price it gives (a quote by yield or margin); with several quotes, its MDUR too."""
    prices = [per[s]["price"] for s in speeds]
    one_price = all(p is not None and abs(p - prices[0]) < 1e-9 for p in prices)
    label = f"{measure} @ {format_32nds(prices[0])}" if one_price else measure
    out = [[label] + [_fmt(per[s]["dm_bp"], ".0f") if floater else _fmt(per[s]["yield_pct"], ".2f") for s in speeds]]
    if not one_price:
        out.append(["Price"] + ["NA" if p is None else format_32nds(p) for p in prices])
    if several:
        lab = f"MDUR (yr) @ {format_32nds(prices[0])}" if one_price else "MDUR (yr)"
        out.append([lab] + [_fmt(per[s]["mdur_years"], ".2f") for s in speeds])
    return out


def class_tables(rows) -> list:
    """Page-11 style: (caption, header, body rows) for each class and mode, the
    speeds as columns, every cell as printed. The text tables and the HTML
    report both lay these out."""
    groups: dict = {}
    for r in rows:  # (class, mode) -> [quote -> {speed: row}]
        quotes = groups.setdefault((r["class"], r["to"]), [])
        q = r.get("quote", 0)
        while len(quotes) <= q:
            quotes.append({})
        quotes[q][r.get("speed") or f"{r['speed_pct']:g}%"] = r
    tables = []
    for (name, to), quotes in groups.items():
        per = quotes[0]
        first = next(iter(per.values()))
        if first["kind"] in ("io", "po") and all(r["price"] is None for q in quotes for r in q.values()):
            continue  # an IO or PO is priced only when asked
        speeds = list(per)
        floater = first["kind"] == "floater"
        measure = "DM" if floater else "Yield"
        body = []
        for quote in quotes:  # one row per price (and its MDUR), as a price/yield table shows them
            body += _quote_rows(quote, speeds, measure, floater, several=len(quotes) > 1)
        rows_once = [("WAL (yr)", "wal_years")] + ([] if len(quotes) > 1 else [("MDUR (yr)", "mdur_years")])
        for lab, key in rows_once:
            body.append([lab] + [_fmt(per[s][key], ".2f") for s in speeds])
        accrued = [per[s].get("accrued") for s in speeds]
        if any(a is not None for a in accrued):
            body.append(["Accrued (per 100)"] + [_fmt(a, ".5f") for a in accrued])
        for quote in quotes:
            if any(quote[s].get("proceeds") is not None for s in speeds):
                label = "Proceeds" if len(quotes) == 1 else f"Proceeds @ {_price_label(quote, speeds)}"
                body.append([label] + [_fmt(quote[s].get("proceeds"), ",.2f") for s in speeds])
        for lab, key in (("First Prin Pay", "first_principal"), ("Last Prin Pay", "last_principal")):
            body.append([lab] + ["NA" if per[s][key] is None else month_label(parse_date(per[s][key]))
                                 for s in speeds])
        tables.append((f"Class {name} (To {to.capitalize()})", ["Prepayment Speed"] + speeds, body))
    return tables


def format_tables(deal, result, rows, modes, settle=None, collateral: str = "", prepayment=None) -> str:
    """Page-11 style: one table per class and mode, the speeds as columns; prices are
    clean, per 100 of current face, with each class's accrued interest (and proceeds
    for a face amount) below."""
    out = io.StringIO()
    settle = settle or deal.header.settlement or deal.header.closing
    out.write(f"Prices clean, per 100 of current face; settlement {settle.isoformat()}\n")
    out.write(f"Pricing speed: {pricing_speed_text(deal, prepayment)}; a percent is of the pricing speed\n\n")
    out.write(collateral)  # the collateral line, above the classes
    out.write(lay_out_tables(class_tables(rows)))
    return out.getvalue()


def lay_out(head: list, body: list) -> str:
    """A table's rows as text: the label column 26 wide, each figure column 11 wide or,
    where a cell is longer (a proceeds of $25 million), as wide as its longest cell and
    two spaces, so no two figures ever run together."""
    width = max([11] + [len(c) + 2 for row in [head] + body for c in row[1:]])
    return "".join(f"  {row[0]:<26}" + "".join(f"{c:>{width}}" for c in row[1:]) + "\n" for row in [head] + body)


def lay_out_tables(tables) -> str:
    """``class_tables``' (caption, header, body) as text, each table followed by a blank line."""
    return "".join(caption + "\n" + lay_out(head, body) + "\n" for caption, head, body in tables)


CSV_TABLE_KEYS = ("class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                  "first_principal", "last_principal", "first_period", "last_period",
                  "speed") + EXTRA_KEYS  # new columns go at the end: a reader's column numbers stay


def format_csv(rows, more=()) -> str:
    """``--format csv``: the rows under CSV_TABLE_KEYS and then ``more`` (e.g. proceeds)."""
    import csv
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_TABLE_KEYS + tuple(more), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


# ------------------------------------------------------------------ signals
