"""Running a deal's compiled waterfall: its library built (or found by an
index keyed by the deal's text and this package's code) and run over the
scenarios on the backend policy's threads. Records are written (class,
scenario, period); a lean run writes only what the analytics need (``KEEP``).
"""
from __future__ import annotations

import ctypes
import hashlib
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ..native import build as cbuild
from ..native.policy import n_threads, run_split
from . import program as P
from .c_emit import GROUP_FIELDS, RECORDS, Generator
from .c_unit import assemble


# ---- running it
_kernels: Dict[str, tuple] = {}  # a deal's text -> (library, generator), for this process


def kernel(program: P.Program) -> Optional[tuple]:
    """(library, generator) for the program's deal, or None without a C compiler.
    Raises cbuild.CompileError (CompileTimeout for a deal too large to compile
    within the time limit): the engine then runs numpy, or reports it."""
    hit = _kernels.get(program.source_key) if program.source_key else None
    if hit is not None:
        return hit
    if not cbuild.available():
        return None
    gen = Generator(program)
    # The C source is a function of the deal's text and of this package's code:
    # an index keyed by both names the library built from it (and the SHA-256 of
    # its bytes), so a run finds its kernel without generating the source again.
    index = _index_path(program.source_key)
    lib = None
    if index is not None:
        entry = _read_index(index)
        if entry is not None:
            lib = cbuild.load_file(index.parent / entry[0], entry[1])
    if lib is None:
        src = assemble(gen)
        # said on a terminal: the deal's name with anything unprintable (an escape sequence) as '?'
        name = "".join(ch if ch.isprintable() else "?" for ch in program.name)
        lib = cbuild.load("deal", src, note=f"the waterfall of {name}")
        if lib is None:
            return None
        so = Path(lib._name)
        if index is not None and so.parent == index.parent:  # not when built outside the cache
            digest = cbuild.file_digest(so)
            if digest is not None:
                _write_atomically(index, f"{so.name}\n{digest}\n")
    fn = lib.run_range
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_void_p]  # the inspections' array, or NULL
    if program.source_key:
        _kernels[program.source_key] = (lib, gen)
    return lib, gen


def _index_path(source_key: str) -> Optional[Path]:
    """Where the name of the deal's compiled library is kept (None: no cache, or a
    deal built in memory without its text)."""
    from dsl.cachedir import cache_dir, code_fingerprint
    if not source_key:
        return None
    cc = cbuild.compiler()
    if cc is None:
        return None
    folder = cache_dir("c")
    if folder is None:
        return None
    h = hashlib.sha256(code_fingerprint())
    here = Path(__file__).resolve().parent
    for f in sorted(here.rglob("*.py")):  # every module that may shape the generated C (the lowering too)
        h.update(f.relative_to(here).as_posix().encode() + b"\0" + f.read_bytes())
    h.update("\0".join((*cbuild.key_parts(cc), source_key)).encode("utf-8", "surrogatepass"))
    return folder / f"deal-index-{h.hexdigest()[:24]}"


def _read_index(index: Path) -> Optional[tuple]:
    """(library file name, SHA-256) from an index entry; None if there is none or
    it is not one this module wrote (a name in the folder, a digest)."""
    import re
    try:
        with open(index, "rb") as fh:
            text = fh.read(200).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    m = re.fullmatch(r"(deal-[0-9a-f]{20}\.so)\n([0-9a-f]{64})\n", text)
    return (m.group(1), m.group(2)) if m else None


def _write_atomically(path: Path, text: str) -> None:
    from dsl.cachedir import write_private
    write_private(path, text.encode("ascii"))  # only a shortcut: if not written, the source is generated next time


def threads_for(S: int) -> int:
    return n_threads(S, min_scenarios=64, per_thread=32)


# What a run keeps. "all": every record for every period. "lean" (grids of
# many scenarios): what the analytics read, so memory stays small: the cash
# and principal of each class by period, and the first period's rate, coupon and
# notional (an IO class's face, a floater's first coupon); write-downs are
# kept as totals in either case.
KEEP = {
    "all": {k: None for k in RECORDS if k != "cash_paid"},
    "lean": {"principal": None, "cash_paid": None, "rate": 1, "coupon": 1, "notional": 1},
    # breakeven solvers (report/breakeven.py): interest shortfalls by period, write-down totals
    "credit": {"unpaid_interest": None},
}


def run_kernel(lib, gen: Generator, program: P.Program, S: int, T: int, flows: dict, ipaths: np.ndarray,
               pending: np.ndarray, dates, closing, retire_event: np.ndarray, fractions: np.ndarray,
               keep_records: str = "all", pending_by_group: Optional[dict] = None, start=None,
               per_scenario_constants: Optional[dict] = None, inspected: Optional[np.ndarray] = None):
    """Run every scenario through the compiled deal. Returns (records: name ->
    (C, S, T') array for the records ``KEEP[keep_records]`` names, clause_paid
    (S, T, K), accounts (S, T, A), contracts (S, T, N) (None when lean),
    write-down totals (S, C), sold_period (S,), error or None). ``inspected``:
    a C-contiguous (S, T, len(program.inspections)) array the kernel fills with
    the program's inspections (None: a run without them)."""
    if inspected is not None:
        assert inspected.flags.c_contiguous and inspected.shape == (S, T, len(program.inspections))
    keep = []

    def arr(a):
        a = np.ascontiguousarray(a, dtype=np.float64)
        keep.append(a)
        return a.ctypes.data
    slots = [0] * gen.n_slots
    for gi, g in enumerate(program.groups):
        f = flows[g]
        for field in GROUP_FIELDS:
            if field == "principal":
                v = f.principal
            elif field == "pending":  # defaulted balance not yet recovered, before the floor at 0
                v = (pending_by_group[g] if pending_by_group is not None
                     else np.cumsum(f.default - f.loss - f.recovery, axis=1))
            else:
                v = getattr(f, field)
            slots[gen.group_slot(gi, field)] = arr(v)
    for i in range(len(program.indices)):
        slots[gen.slot("index", i)] = arr(ipaths[i])
    for t in program.table_data:
        slots[gen.slot("table", t.k)] = arr(t.values)
    for k, values in enumerate(program.schedule_values):
        slots[gen.slot("schedule", k)] = arr(values)
    slots[gen.slot("date")] = arr(np.array([d.toordinal() for d in dates], dtype=float))
    prev = [closing] + list(dates[:-1])
    slots[gen.slot("days")] = arr(np.array([(d - p).days for d, p in zip(dates, prev)], dtype=float))
    slots[gen.slot("pending")] = arr(pending)
    slots[gen.slot("retire")] = arr(retire_event.astype(float))
    for k in range(len(fractions)):
        slots[gen.slot("fraction", k)] = arr(fractions[k])
    if start is None:
        from .lowering import start_state
        start = start_state(program, S)
    cum_loss = start.cum_loss if start.cum_loss is not None else np.zeros((len(program.groups), S))
    rows = np.concatenate([start.classes, start.accounts, start.events_happened, cum_loss,
                           np.full((1, S), float(start.period))])
    slots[gen.slot("start")] = arr(rows.T)  # (S, n_start): a scenario's starting values together
    P = (ctypes.c_void_p * len(slots))(*slots)
    # every number of the deal, for each scenario (S, constants)
    from .lowering import scenario_constants
    K = np.ascontiguousarray(scenario_constants(program, S, per_scenario_constants).T, dtype=float)
    Cn = len(program.classes)
    wanted = KEEP[keep_records]
    recs = {}
    for k, n in wanted.items():
        recs[k] = np.zeros((Cn, S, T if n is None else min(n, T)))
    if "cap" in recs:
        recs["cap"][:] = np.nan
    R = (ctypes.c_void_p * len(RECORDS))(*[recs[k].ctypes.data if k in recs else None for k in RECORDS])
    TN = np.array([recs[k].shape[2] if k in recs else 0 for k in RECORDS], dtype=np.intc)
    ncl, na, nk = len(program.clause_decls), len(program.layout.accounts), len(program.contract_decls)
    full = keep_records == "all"
    clause = np.zeros((S, T, max(ncl, 1))) if full else None
    acc = np.zeros((S, T, max(na, 1))) if full else None
    con = np.zeros((S, T, max(nk, 1))) if full else None
    wdt = np.zeros((S, Cn))
    sold = np.full(S, -1, dtype=np.int32)
    nt = threads_for(S)
    errs = [np.zeros(8, dtype=np.int32) for _ in range(nt)]
    errvs = [np.zeros(8) for _ in range(nt)]
    rcs = [0] * nt

    def work(i, s0, s1):
        rcs[i] = lib.run_range(P, K.ctypes.data, T, S, s0, s1, R, TN.ctypes.data,
                               _data(clause), _data(acc), _data(con), wdt.ctypes.data, sold.ctypes.data,
                               errs[i].ctypes.data, errvs[i].ctypes.data, _data(inspected))
    run_split(work, S, nt)
    error = None
    for i in range(nt):
        if rcs[i]:
            error = (errs[i], errvs[i])
            break
    if not full:
        return recs, None, None, None, wdt, sold.astype(int), error
    return recs, clause[:, :, :ncl], acc[:, :, :na], con[:, :, :nk], wdt, sold.astype(int), error


def _data(a):
    return None if a is None else a.ctypes.data
