"""A deal's C translation unit: its sizes as #defines, the fixed helpers of
``kernels/waterfall.h``, the period state, then the deal's own code (formulas,
fund sets, steps, distributions) in the period loop, phase by phase in the
order ``program.PERIOD`` gives.
"""
from __future__ import annotations

from pathlib import Path

from . import program as P
from .c_emit import GROUP_FIELDS, RECORDS, Generator, _line, check_source

_KERNELS = Path(__file__).resolve().parent.parent / "kernels"


def _fixed(name: str) -> str:
    """A fixed part of every deal's source, from ``interpreter/kernels``."""
    return (_KERNELS / name).read_text(encoding="ascii")


def generate(program: P.Program) -> str:
    """The deal's C source (see ``assemble``)."""
    return assemble(Generator(program))


def assemble(gen: Generator) -> str:
    """The C source of ``gen``'s program. It holds no text of the deal (labels,
    names, strings, the file's path): clauses, classes, formulas, distributions
    and funds appear by index and deal-file line only, so nothing a deal says
    can change what the C means (see ``check_source``)."""
    return check_source(_unit(gen))


def _unit(gen: Generator) -> str:
    m = gen.m
    gen.functions = []
    NC = len(m.classes)
    NF = m.n_funds
    NE = len(m.event_decls)
    NG = len(m.groups)
    NK = len(m.contract_decls)
    NA = len(m.layout.accounts)
    NCL = len(m.clause_decls)
    ND = len(m.formulas)
    NI = len(m.indices)

    # formulas (bodies generated first: they may register bucket sets)
    define_src = []
    for i, f in enumerate(m.formulas):
        body = gen.expr(f.body)
        note = f"/* formula {i} (line {_line(f.span)}) */"
        if f.caching is P.Caching.NEVER:
            define_src.append(f"static double D{i}(St *s) {{ return {body}; }}  {note}")
        else:
            # Cached until what it reads can change (program.Caching): STEP until the
            # next payment (version), PERIOD until the period's state is next set
            # (pver: period start, contracts, events, notionals).
            key = "version" if f.caching is P.Caching.STEP else "pver"
            define_src.append(
                f"static double D{i}(St *s) {{  {note}\n"
                f"    if (s->dver[{i}] != s->{key}) {{ s->dval[{i}] = {body}; s->dver[{i}] = s->{key}; }}\n"
                f"    return s->dval[{i}];\n}}")
    # the inspections (waterfall/inspection.py): after the waterfall and losses, outside any step,
    # with every cached formula computed afresh; only in a kernel built for them
    inspect_src = ""
    if m.inspections:
        vals = "\n".join(f"        ins_[{j}] = (double)({gen.expr(i.op)});" for j, i in enumerate(m.inspections))
        inspect_src = (f"        if (INS) {{ s->version++; s->pver++; s->cf = -1;\n"
                       f"        double *ins_ = INS + ((size_t)sc * T + t) * {len(m.inspections)};\n{vals}\n        }}\n")
    # the waterfall
    clauses = []
    for k, clause in enumerate(m.clause_decls):
        body = [f"        /* clause {k} (line {_line(clause.span)}) */"]
        for st in clause.steps:
            body.append("        s->cf = -1;")
            body += gen.steps([st], "        ")
        body.append(f"        if (R_CLAUSE) R_CLAUSE[{k}] = s->paid_total - before; before = s->paid_total;")
        clauses.append("\n".join(body))
    # accruals, events, contracts
    contracts = []
    for c in m.contract_decls:
        contracts.append(f"        {{ double amt = mx({gen.expr(c.pays)}, 0.0) * s->alive; "
                         f"s->contract_paid[{c.k}] = amt; s->funds[{c.fund}] = amt; s->version++; s->pver++; }}")
    events = []
    for e in m.event_decls:
        k = e.k
        events.append(f"        if (s->ev_before[{k}]) s->ev_now[{k}] = 0;\n"
                      f"        else {{ s->ev_now[{k}] = ({gen.cond(e.when)}) && s->alive > 0; s->version++; s->pver++; }}")
    notionals = []
    for n in m.notionals:
        notionals.append(f"        s->notional_now[{n.c}] = mx({gen.expr(n.notional)}, 0.0) * s->alive;")
    accruals = []
    for acc in m.accruals:
        c = acc.c
        lines = [f"        /* accrual: class {c} (line {_line(acc.span)}) */"]
        frac = f"s->frac[{acc.fraction}]"
        base = f"s->notional_now[{c}]" if acc.on_notional else f"s->balance[{c}]"
        if acc.on_notional:
            lines.append("        {")
        else:  # retired with nothing owed: no accrual, no rate, no cap
            lines.append(f"        if (s->balance[{c}] != 0.0 || s->carryover[{c}] != 0.0) {{")
        lines.append(f"            double frac = {frac}, coupon = {gen.expr(acc.coupon)}, rate = coupon;")
        if acc.cap is not None:
            lines.append(f"            double capv = {gen.expr(acc.cap)}; PUT(R_CAP, {c}, capv); rate = mn(coupon, capv);")
        lines += ["            rate = mx(rate, 0.0);",
                  f"            double base = {base};",
                  f"            s->current_due[{c}] = base * rate * frac;",
                  f"            PUT(R_RATE, {c}, rate);",
                  f"            PUT(R_COUPON, {c}, mx(coupon, 0.0));"]
        if acc.carryover:
            unc = "coupon" if acc.carry_limit is None else f"mn(coupon, {gen.expr(acc.carry_limit)})"
            lines += [f"            double unc = {unc};",
                      f"            s->carryover[{c}] = s->carryover[{c}] * (1.0 + unc * frac) + base * mx(unc - rate, 0.0) * frac;"]
        lines.append("        }" if acc.on_notional else f"        }} else s->current_due[{c}] = 0.0;")
        accruals.append("\n".join(lines))
    clause_src = "\n".join(clauses)
    # retirement and losses
    retire = []
    for k, e in enumerate(m.event_decls):
        targets = list(e.retires)
        n = len(targets)
        pool = " + ".join(gen.gfield("end_balance", g) for g in range(NG))
        lines = [f"        if (s->ev_now[{k}] && retire_event == {k} && s->alive > 0) {{",
                 f"            double proceeds = ({pool}) + s->pending[t];",
                 "            collected = collected + proceeds;",
                 "            double rest = proceeds;"]
        if n:
            lines.append(f"            double p[{n}];")
        for tier in e.tiers:  # program.EventDecl: tier by tier, pro rata within one
            js = [targets.index(c) for c in tier]
            lines += [f"            {{ double d[{len(tier)}] = {{{', '.join(f's->balance[{c}]' for c in tier)}}}, "
                      f"q[{len(tier)}]; prorata(rest, d, d, q, {len(tier)});",
                      f"              {' '.join(f'p[{j}] = q[{i}];' for i, j in enumerate(js))}",
                      f"              rest = rest - ({' + '.join(f'q[{i}]' for i in range(len(tier)))}); }}"]
        for j, c in enumerate(targets):
            lines.append(f"            s->balance[{c}] -= p[{j}]; s->paid_principal[{c}] += p[{j}];")
        if m.first_residual is not None:
            lines.append(f"            s->paid_total += rest; s->paid_interest[{m.first_residual}] += rest;")
        lines += ["            sold = 1;", "        }"]
        retire.append("\n".join(lines))
    losses = []
    if m.loss_decls:
        pool = " + ".join(gen.gfield("end_balance", g) for g in range(NG))
        perf = [c for c in range(NC) if not (m.classes[c].notional or m.classes[c].residual)]
        losses.append(f"        double pool_end = (({pool}) + s->pending[t]) * s->alive * (double)(!sold);")
        losses.append(f"        double excess = mx(({' + '.join(f's->balance[{c}]' for c in perf) or '0.0'}) - pool_end, 0.0);")
        for loss in m.loss_decls:
            order = loss.classes
            if loss.mode is P.Mode.SEQUENTIAL:
                for c in order:
                    losses.append(f"        {{ double w = mn(excess, s->balance[{c}]); s->balance[{c}] -= w; s->unpaid_loss[{c}] += w; "
                                  f"WD({c}, w); excess = excess - w; }}")
            else:
                n = len(order)
                lst = ", ".join(f"s->balance[{c}]" for c in order)
                body = [f"        {{ double d[{n}] = {{{lst}}}, w[{n}]; prorata(excess, d, d, w, {n});"]
                for j, c in enumerate(order):
                    body.append(f"          s->balance[{c}] -= w[{j}]; s->unpaid_loss[{c}] += w[{j}]; WD({c}, w[{j}]);")
                body.append(f"          excess = excess - ({' + '.join(f'w[{j}]' for j in range(n))}); }}")
                losses.append("\n".join(body))
    sets_src = []
    default_set = gen.set_id(m.available_funds)
    # bucket-set helpers (sums and draws); generated last, after every step registered its sets
    step_funcs = "\n".join(gen.functions)
    for sid, b in enumerate(gen.sets):
        summ = " + ".join(f"s->funds[{i}]" for i in b)
        sets_src.append(f"static inline double fsum{sid}(const St *s) {{ return {summ}; }}")
        if len(b) == 1:
            sets_src.append(f"static inline void draw{sid}(St *s, double a) {{ s->version++; s->funds[{b[0]}] -= a; }}")
        else:
            upd = " ".join(f"s->funds[{i}] = s->funds[{i}] - s->funds[{i}] * r;" for i in b)
            sets_src.append(
                f"static inline void draw{sid}(St *s, double a) {{ s->version++; double tot = fsum{sid}(s);\n"
                f"    double r = tot > 0 ? a / tot : 0.0; {upd} }}")
    avail_cases = "\n".join(f"        case {sid}: return fsum{sid}(s);" for sid in range(len(gen.sets)))
    sets_src.append(f"static double available(const St *s) {{\n    switch (s->cf) {{\n{avail_cases}\n"
                    f"        default: return fsum{default_set}(s);\n    }}\n}}")
    nflow = m.n_flow_buckets
    records = "\n".join(f"#define R_{r.name.upper()} {i}" for i, r in enumerate(P.CLASS_RECORDS))
    header = f"""
#include <math.h>
#include <string.h>
#include <stdint.h>

#define NC {NC}
#define NF {NF}
#define NE {max(NE, 1)}
#define NG {NG}
#define NK {max(NK, 1)}
#define ND {max(ND, 1)}
#define NI {max(NI, 1)}
#define MAXD {gen.max_depth + 1}
#define NSLOT {gen.n_slots}
#define NCONST {max(len(m.const_decls), 1)}
#define NFRAC {max(len(m.fraction_kinds), 1)}
#define NGSLOT {max(gen.n_group_slots, 1)}
{records}

"""
    fwd = [f"static double D{i}(St *s);" for i in range(len(m.formulas))]
    fwd += [f"static void {fn}(St *s);" for fn in gen.dist_fns.values()]
    helpers = f"""
static double wavg(double num, double w) {{ return w > 0 ? num / w : 0.0; }}
static double delinquency_all(const St *s, int t) {{
    double w = 0.0, num = 0.0;
{chr(10).join(f'    w += s->g[{gen.group_slot(g, "begin_balance")}][t]; num += s->g[{gen.group_slot(g, "delinquent")}][t] * s->g[{gen.group_slot(g, "begin_balance")}][t];' for g in range(NG))}
    return w > 0 ? num / w : 0.0;
}}
static double avg_delinquency(const St *s, double n_, int g) {{
    int n = (int)n_;
    int t0 = s->t - n + 1; if (t0 < 0) t0 = 0;  /* summed from this period back, as the numpy engine sums */
    double sum = 0.0; int k = 0;
    for (int t = s->t; t >= t0; t--, k++) sum += g < 0 ? delinquency_all(s, t) : s->g[g * {len(GROUP_FIELDS)} + {GROUP_FIELDS.index("delinquent")}][t];
    return k ? sum / k : 0.0;
}}
"""
    init_accounts = "\n".join(
        f"    s->funds[{fund}] = st0[{5 * NC + k}];" for k, fund in enumerate(m.layout.account_funds))
    fill = []
    for gi in range(NG):
        interest, principal, penalties = m.layout.group_funds[gi]
        fill.append(f"        s->funds[{interest}] = s->g[{gen.group_slot(gi, 'net_interest')}][t] * s->alive;")
        fill.append(f"        s->funds[{principal}] = s->g[{gen.group_slot(gi, 'principal')}][t] * s->alive;")
        fill.append(f"        s->funds[{penalties}] = s->g[{gen.group_slot(gi, 'penalty')}][t] * s->alive;")
        fill.append(f"        s->cum_loss[{gi}] += s->g[{gen.group_slot(gi, 'loss')}][t] * s->alive;")
    # the period, phase by phase in the program's order (program.PERIOD)
    nl = "\n"
    phase_src = {
        P.Phase.START: f"""        s->t = t; s->period = t + 1; s->version++; s->pver++;
        for (int k = 0; k < {len(m.fraction_kinds)}; k++) s->frac[k] = P[{gen.slot('fraction')} + k][t];
        s->cf = -1;  /* outside the waterfall 'available' is all interest and principal */
        for (int i = 0; i < {gen.n_group_slots}; i++) s->gv[i] = s->g[i][t];
        memcpy(s->prior_balance, s->balance, sizeof s->balance);
        COPY(R_BEGIN_BALANCE, s->balance);""",
        P.Phase.COLLECT: f"""        for (int i = 0; i < {nflow}; i++) s->funds[i] = 0.0;
{nl.join(fill)}""",
        P.Phase.CONTRACTS: f"""        s->version++; s->pver++;
{nl.join(contracts)}
        collected = 0.0;
        for (int i = 0; i < {nflow}; i++) collected += s->funds[i];
        accounts_before = 0.0;
        for (int i = {nflow}; i < NF; i++) accounts_before += s->funds[i];""",
        P.Phase.EVENTS: nl.join(events),
        P.Phase.NOTIONALS: nl.join(notionals) + f"{nl}        s->version++; s->pver++;",
        P.Phase.ACCRUALS: nl.join(accruals),
        P.Phase.WATERFALL: f"""        for (int c = 0; c < NC; c++) {{ s->paid_interest[c] = 0.0; s->paid_principal[c] = 0.0; s->paid_carry[c] = 0.0; s->paid_loss[c] = 0.0; s->accreted[c] = 0.0; }}
        s->paid_total = 0.0;
        before = 0.0;
{clause_src}""",
        P.Phase.RETIREMENT: "        sold = 0;" + nl + nl.join(retire),
        P.Phase.LOSSES: nl.join(losses),
        P.Phase.CLOSE: f"""{inspect_src}        for (int c = 0; c < NC; c++) {{ s->shortfall[c] += s->current_due[c]; s->current_due[c] = 0.0; }}
        for (int k = 0; k < NE; k++) s->ev_before[k] |= s->ev_now[k];
        if (sold) {{ s->alive = 0.0; sold_period[sc] = t; }}
        s->version++; s->pver++;
        COPY(R_INTEREST, s->paid_interest);
        COPY(R_PRINCIPAL, s->paid_principal);
        COPY(R_CARRYOVER_PAID, s->paid_carry);
        COPY(R_LOSS_REIMBURSED, s->paid_loss);
        COPY(R_BALANCE, s->balance);
        COPY(R_NOTIONAL, s->notional_now);
        COPY(R_ACCRETED, s->accreted);
        COPY(R_UNPAID_INTEREST, s->shortfall);
        if (rec[R_CASH_PAID]) for (int c = 0; c < NC; c++) rec[R_CASH_PAID][c * cs[R_CASH_PAID]] = s->paid_interest[c] + s->paid_principal[c] + s->paid_carry[c] + s->paid_loss[c];
        if (R_ACC) for (int a = 0; a < {NA}; a++) R_ACC[((size_t)sc * T + t) * {max(NA, 1)} + a] = s->funds[{nflow} + a];
        if (R_CON) for (int k = 0; k < {NK}; k++) R_CON[((size_t)sc * T + t) * {max(NK, 1)} + k] = s->contract_paid[k];""",
        P.Phase.CHECK: f"""        /* money is conserved: collected = paid + change in accounts */
        double pi = 0, pp = 0, pc = 0, pl = 0, held = 0;
        for (int c = 0; c < NC; c++) {{ pi += s->paid_interest[c]; pp += s->paid_principal[c]; pc += s->paid_carry[c]; pl += s->paid_loss[c]; }}
        double paid = pi + pp + pc + pl;
        for (int i = {nflow}; i < NF; i++) held += s->funds[i];
        held = held - accounts_before;
        double gap = collected - paid - held;
        if (!(fabs(gap) <= 1e-6 + 1e-12 * fabs(collected))) {{  /* NaN fails too */
            double left = 0.0; int most = -1; for (int i = 0; i < {nflow}; i++) {{ left += s->funds[i]; if (most < 0 || fabs(s->funds[i]) > fabs(s->funds[most])) most = i; }}
            err[0] = 1; err[1] = t; err[2] = sc; err[3] = most; errv[0] = collected; errv[1] = paid; errv[2] = held; errv[3] = gap; errv[4] = left; errv[5] = most >= 0 ? s->funds[most] : 0.0;
            return 1;
        }}
        for (int c = 0; c < NC; c++) {{
            if (!(s->shortfall[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 0; errv[0] = -s->shortfall[c]; return 1; }}
            if (!(s->carryover[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 1; errv[0] = -s->carryover[c]; return 1; }}
            if (!(s->unpaid_loss[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 2; errv[0] = -s->unpaid_loss[c]; return 1; }}
        }}
        for (int c = 0; c < NC; c++)
            if (!(s->balance[c] >= -1e-6)) {{ err[0] = 3; err[1] = t; err[2] = sc; err[3] = c; errv[0] = s->balance[c]; return 1; }}""",
    }
    period_src = "\n".join(f"        /* {phase.name.lower()} */\n{phase_src[phase]}" for phase in P.PERIOD)
    main = f"""
/* One scenario's whole run. Returns 0, or an error code with err/errv filled. */
static int run_one(St *s, const double *const *P, const double *K, int T, int S, int sc, double **R, const int *TN,
                   double *R_CLAUSE_ALL, double *R_ACC, double *R_CON, double *WDT, int32_t *sold_period,
                   int *err, double *errv, double *INS) {{
    double *wdt = WDT + (size_t)sc * NC;
    (void)INS;  /* read only by a kernel built with inspections */
    memset(s, 0, sizeof(St));
    s->P = P; memcpy(s->K, K + (size_t)sc * {len(m.const_decls)}, sizeof(double) * {len(m.const_decls)});  /* this scenario's */
    for (int i = 0; i < {len(GROUP_FIELDS) * NG}; i++) s->g[i] = P[i] + (size_t)sc * T;
    for (int i = 0; i < {NI if NI else 0}; i++) s->ix[i] = P[{gen.slot('index')} + i] + (size_t)sc * T;
    s->pending = P[{gen.slot('pending')}] + (size_t)sc * T;
    int retire_event = (int)P[{gen.slot('retire')}][sc];
    /* the starting state (program.StartState): this scenario's row */
    const double *st0 = P[{gen.slot('start')}] + (size_t)sc * {gen.n_start};
    for (int c = 0; c < NC; c++) {{
        s->balance[c] = st0[c]; s->original_balance[c] = st0[NC + c]; s->shortfall[c] = st0[2 * NC + c];
        s->carryover[c] = st0[3 * NC + c]; s->unpaid_loss[c] = st0[4 * NC + c];
    }}
    for (int k = 0; k < {len(m.event_decls)}; k++) s->ev_before[k] = st0[{5 * len(m.classes) + m.n_funds - m.n_flow_buckets} + k] != 0.0;
{chr(10).join(f"    s->cum_loss[{g}] = st0[{gen.n_start - 1 - NG + g}];" for g in range(NG))}
    const int t0 = (int)st0[{gen.n_start - 1}];  /* the distributions already made (a run from a deal state) */
    s->alive = 1.0;
    for (int i = 0; i < ND; i++) s->dver[i] = -1;
{init_accounts}
    for (int t = t0; t < T; t++) {{
        /* this period's record rows; a record not asked for (or asked for its
           first TN[r] periods only) has no row: nothing is written to it */
        /* records are (C, S, T) arrays: one class's periods lie together, which is
           how the analytics read them */
        double *rec[{len(RECORDS)}];
        size_t cs[{len(RECORDS)}];
        for (int r = 0; r < {len(RECORDS)}; r++) {{
            rec[r] = (R[r] && t < TN[r]) ? R[r] + (size_t)sc * TN[r] + t : 0;
            cs[r] = (size_t)S * TN[r];
        }}
#define PUT(r, c, v) do {{ if (rec[r]) rec[r][(size_t)(c) * cs[r]] = (v); }} while (0)
#define COPY(r, a) do {{ if (rec[r]) for (int c_ = 0; c_ < NC; c_++) rec[r][c_ * cs[r]] = (a)[c_]; }} while (0)
#define WD(c, w) do {{ if (rec[R_WRITEDOWN]) rec[R_WRITEDOWN][(size_t)(c) * cs[R_WRITEDOWN]] += (w); wdt[c] += (w); }} while (0)
        double *R_CLAUSE = R_CLAUSE_ALL ? R_CLAUSE_ALL + ((size_t)sc * T + t) * {max(NCL, 1)} : 0;
        double collected = 0.0, accounts_before = 0.0, before = 0.0;
        int sold = 0;
{period_src}
#undef PUT
#undef COPY
#undef WD
    }}
    return 0;
}}

"""
    # 'REC' inside accrual lines refers to the period's record rows
    return "\n".join([header, _fixed("waterfall.h"), "\n".join(fwd), "\n".join(sets_src), helpers,
                      "\n".join(define_src), step_funcs, main, _fixed("waterfall_run.h")])
