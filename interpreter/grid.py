"""Scenario grids: many speeds, default rates, severities and rate paths in
one vectorised pass, chunked so memory stays bounded at any grid size.

A grid is written on the command line or in a YAML file::

    speed=0..300/25 cdr=0,2,5,10 severity=35%,50% libor=+0,+100bp,+200bp

- ``speed``: percent of the deal's pricing speed (a range ``a..b/step`` or a list);
- ``cdr``: a constant CDR (percent) for every group, replacing the assumptions' defaults;
- ``severity``: loss severity (percent);
- any other key shifts the indices whose names contain it (case-insensitive):
  ``libor=+100bp`` moves LIBOR_1M, LIBOR_6M and LIBOR_1Y up by 1%.

The grid is the product of the axes: at most MAX_SCENARIOS (10 million)
scenarios, and MAX_AXIS_VALUES values an axis, counted before any value is
built. Each chunk of scenarios runs through the engine in one pass; only the
analytics of each chunk are kept (per-period tensors are dropped unless asked for).
"""
from __future__ import annotations

import math
import re
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import yaml

from .assumptions import _load_yaml, yaml_message
from .engine import run
from .report.analyze import analyze, column_list


class GridError(ValueError):
    pass


_NUM = r"[+-]?\d+(?:\.\d+)?"


MAX_SCENARIOS = 10_000_000  # scenarios in one grid (the product of its axes' lengths)
MAX_AXIS_VALUES = 100_000  # values on one axis
_HUGE = 10 ** 30  # counts past this are not worth writing out


def _range(key: str, text: str):
    """(start, step, unit, count) of a range a..b/step, or None for a list. The count
    is arithmetic: nothing is built, however many values the range spans."""
    m = re.fullmatch(rf"({_NUM})(%|bp)?\.\.({_NUM})(%|bp)?/({_NUM})(%|bp)?", text)
    if not m:
        return None
    a, b, step = (Decimal(m.group(1)), Decimal(m.group(3)), Decimal(m.group(5)))
    unit = m.group(2) or m.group(4) or m.group(6) or ""
    if step <= 0:
        raise GridError(f"{key}: the step of a range must be positive ({text})")
    try:
        q = (b - a) / step
    except ArithmeticError:  # decimal.Overflow, on numbers of a million digits
        raise GridError(f"{key}: cannot count the values of {text}") from None
    n = int(q) + 1 if q < _HUGE else _HUGE + 1
    if n < 1:
        raise GridError(f"{key}: the range {text} is empty (it ends below its start)")
    return a, step, unit, n


def _count_text(n: int) -> str:
    return f"{n:,}" if n <= _HUGE else "more than 10^30"


def _count(key: str, text: str) -> int:
    """How many values an axis has, without building them; past MAX_AXIS_VALUES, an error."""
    text = str(text).strip()
    if not text:
        raise GridError(f"{key}: no values")
    r = _range(key, text)
    n = r[3] if r else text.count(",") + 1
    if n > MAX_AXIS_VALUES:
        raise GridError(f"{key}: {_count_text(n)} values, more than the {MAX_AXIS_VALUES:,} an axis may have")
    return n


def _values(key: str, text: str) -> List[float]:
    """A comma list of values or a range a..b/step; units: %, bp (shifts), bare = percent."""
    _count(key, text)
    text = str(text).strip()
    r = _range(key, text)
    if r:
        a, step, unit, n = r
        return [_scale(key, a + i * step, unit) for i in range(n)]
    out = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(rf"({_NUM})\s*(%|bp)?", part)
        if not m:
            raise GridError(f"{key}: cannot read {part!r} (e.g. 0..300/25, 0,2,5 or +100bp)")
        out.append(_scale(key, Decimal(m.group(1)), m.group(2) or ""))
    return out


def check_size(counts: Dict[str, int]) -> int:
    """The number of scenarios of a grid whose axes have these lengths; past
    MAX_SCENARIOS, an error naming the count and the limit."""
    n = 1
    for c in counts.values():
        n *= c
    if n > MAX_SCENARIOS:
        dims = " x ".join(f"{c:,} {k}" for k, c in counts.items())
        raise GridError(f"{_count_text(n)} scenarios ({dims}), more than the limit of {MAX_SCENARIOS:,} "
                        f"in one grid; split it into several runs")
    return n


def _scale(key: str, v: Decimal, unit: str) -> float:
    try:
        x = float(v / 10000) if unit == "bp" else float(v / 100)  # percent, the default unit of every axis
    except ArithmeticError:  # decimal.Overflow
        x = float("inf")
    if not math.isfinite(x):
        text = f"{v}{unit}"
        raise GridError(f"{key}: {text if len(text) <= 24 else text[:20] + '...'} is out of range")
    return x


def parse_grid(spec: str) -> Dict[str, List[float]]:
    """'speed=0..300/25 cdr=0,2' (or the path of a YAML mapping) -> axis values."""
    if spec.endswith((".yaml", ".yml")):
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except (OSError, ValueError) as e:
            raise GridError(f"cannot read the grid file {spec}: {getattr(e, 'strerror', None) or e}") from None
        try:
            doc = _load_yaml(text)  # the assumptions' loader: safe, and bounded in size and depth
        except yaml.YAMLError as e:
            raise GridError(_yaml_error(spec, text, e)) from None
        if not isinstance(doc, dict):
            raise GridError(f"{spec}: a grid file is a mapping of axis: values")
        items = [(str(k), ",".join(str(x) for x in v) if isinstance(v, list) else str(v)) for k, v in doc.items()]
    else:
        items = []
        for part in spec.split():
            if "=" not in part:
                raise GridError(f"cannot read {part!r}: expected AXIS=VALUES (e.g. speed=0..300/25)")
            k, _, v = part.partition("=")
            items.append((k.strip(), v))
    counts: Dict[str, int] = {}
    for k, v in items:
        if k in counts:
            raise GridError(f"axis {k} is given twice")
        counts[k] = _count(k, v)
    check_size(counts)  # before any value is built
    axes: Dict[str, List[float]] = {}
    for k, v in items:
        axes[k] = _values(k, v)
        if k in ("speed", "cdr", "severity") and any(not (x >= 0) or x == float("inf") for x in axes[k]):
            raise GridError(f"{k}: values must be 0 or more ({v})")
        if k == "severity" and any(x > 1 for x in axes[k]):
            raise GridError(f"severity: a loss severity is at most 100% ({v})")
    if not axes:
        raise GridError("an empty grid")
    return axes


def _yaml_error(path: str, text: str, e: "yaml.YAMLError") -> str:
    """``path:line:col: problem``, then the line and a caret (as the assumptions' errors show)."""
    mark = getattr(e, "problem_mark", None)
    message = yaml_message(e)
    if mark is None:
        return f"{path}: {message}"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    return (f"{path}:{mark.line + 1}:{mark.column + 1}: {message}\n    {line[:mark.column + 200]}\n    "
            + "".join(ch if ch == "\t" else " " for ch in line[:mark.column]) + "^")


def expand(axes: Dict[str, List[float]], index_names: List[str]) -> Dict[str, np.ndarray]:
    """The product of the axes, flattened: one array per axis, and per index its shift."""
    n = check_size({k: len(v) for k, v in axes.items()})
    if n == 0:
        raise GridError("an axis has no values")
    # In the order of itertools.product (the last axis varies fastest), built
    # with repeat and tile: n values an axis, no tuple per scenario.
    cols: Dict[str, np.ndarray] = {}
    inner = n
    for k, v in axes.items():
        inner //= len(v)
        cols[k] = np.tile(np.repeat(np.asarray(v, dtype=float), inner), n // (len(v) * inner))
    out: Dict[str, np.ndarray] = {"speed": cols.pop("speed", np.ones(n))}
    if "cdr" in cols:
        out["cdr"] = cols.pop("cdr")
    if "severity" in cols:
        out["severity"] = cols.pop("severity")
    for k, v in cols.items():
        hits = [n for n in index_names if k.upper() in n.upper()]
        if not hits:
            from dsl.diagnostics import did_you_mean
            hint = did_you_mean(k, ["speed", "cdr", "severity"] + [n.lower() for n in index_names])
            raise GridError(f"axis {k!r}: no index of the deal matches (indices: {', '.join(index_names) or 'none'}; "
                            f"known axes: speed, cdr, severity){'; ' + hint if hint else ''}")
        out[f"shift:{k}"] = v
    return out


def _columns(shift_keys) -> Dict[str, list]:
    cols: Dict[str, list] = {k: [] for k in ("scenario", "to", "class", "speed_pct", "cdr_pct", "severity_pct")}
    for k in shift_keys:
        cols[k[6:] + "_shift_bp"] = []
    for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period", "last_period",
              "writedown", "collateral_loss"):
        cols[k] = []
    return cols


def run_chunk(deal, assumptions, grid: Dict[str, np.ndarray], lo: int, to=("maturity",), prices=None,
              default_price=100.0, keep_result: bool = False):
    """One vectorised pass over a slice of the grid (its arrays already sliced);
    ``lo`` is the slice's first scenario number. Returns (columns as arrays, result or None).
    A plain function of picklable inputs, so a Dask worker can run it."""
    index_names = [i.name for i in deal.indices]
    shift_keys = [k for k in grid if k.startswith("shift:")]
    shifts: Dict[str, np.ndarray] = {}
    for k in shift_keys:
        for name in index_names:
            if k[6:].upper() in name.upper():
                shifts[name] = shifts.get(name, 0.0) + grid[k]
    # Only what the table reads is recorded, unless the caller keeps the run.
    r = run(deal, assumptions, grid["speed"], to=to, cdr=grid.get("cdr"), severity=grid.get("severity"),
            index_shift=shifts or None, keep="all" if keep_result else "lean")
    rows = analyze(r, prices, default_price)
    cols = chunk_columns(r, rows, grid, lo, assumptions.severity)
    return cols, (r if keep_result else None)


_INT_COLUMNS = ("scenario", "first_period", "last_period")


def chunk_columns(r, rows, grid: Dict[str, np.ndarray], lo: int, default_severity: float) -> Dict[str, np.ndarray]:
    """The grid's columns for one chunk, as arrays (NaN where the table has no value):
    ``rows`` (``analyze(r)``, class by class and scenario by scenario) with the chunk's
    axis values, each class's writedown and the collateral loss per scenario."""
    shift_keys = [k for k in grid if k.startswith("shift:")]
    table = rows.columns()
    s = table["scenario"]
    n = len(s)
    m = len(grid["speed"])
    local = s % m  # scenarios are modes x speeds
    cols: Dict[str, np.ndarray] = {k: None for k in _columns(shift_keys)}
    cols["scenario"] = lo + local
    cols["to"] = table["to"]
    cols["class"] = table["class"]
    cols["speed_pct"] = table["speed_pct"]
    cols["cdr_pct"] = grid["cdr"][local] * 100 if "cdr" in grid else np.full(n, np.nan)
    cols["severity_pct"] = (grid["severity"][local] * 100 if "severity" in grid else
                            np.full(n, default_severity * 100))
    for k in shift_keys:
        cols[k[6:] + "_shift_bp"] = grid[k][local] * 10000
    for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period", "last_period"):
        cols[k] = table[k]
    # each analysed class's total writedown (S,), one class at a time
    names = table["class"]
    S = len(r.modes)
    wd = np.empty(n)
    totals = r.writedown_total()  # (C, S)
    for b in range(0, n, S):
        wd[b:b + S] = totals[r.cls(names[b])]
    cols["writedown"] = wd
    loss = sum(f.loss for f in r.collateral.values())  # (S, T)
    if r.sold_period is not None:  # a run to an event: the losses until the collateral is sold
        t = np.arange(loss.shape[1])[None, :]
        loss = np.where((r.sold_period[:, None] >= 0) & (t > r.sold_period[:, None]), 0.0, loss)
    cols["collateral_loss"] = loss.sum(axis=1)[s]
    return cols


def columns_as_lists(cols: Dict[str, np.ndarray]) -> Dict[str, list]:
    """Array columns -> lists of Python values, None where a value is NaN."""
    return {k: column_list(v, integer=k in _INT_COLUMNS) for k, v in cols.items()}


def run_grid(deal, assumptions, spec: str, to=("maturity",), prices=None, default_price=100.0,
             chunk: int = 2000, progress: Optional[Callable[[int, int], None]] = None,
             keep_results: bool = False, dask: Optional[str] = None, workers: int = 1) -> dict:
    """Run every scenario of the grid; return {'columns': {...}, 'n_scenarios': n, 'results': [...]}.

    Columns hold one entry per scenario x mode x class, in scenario order. With
    ``workers`` > 1 the chunks run in that many processes on this machine; with
    ``dask`` (a scheduler address, or 'local' for a LocalCluster) on a Dask
    cluster. The results are the same either way."""
    index_names = [i.name for i in deal.indices]
    grid = expand(parse_grid(spec), index_names)
    n = len(grid["speed"])
    bounds = [(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    parts = [{k: v[lo:hi] for k, v in grid.items()} for lo, hi in bounds]
    shift_keys = [k for k in grid if k.startswith("shift:")]
    outs = []
    if dask:
        outs = _run_on_dask(dask, deal, assumptions, parts, bounds, to, prices, default_price, progress)
    elif workers > 1 and len(parts) > 1:
        outs = _run_in_processes(workers, deal, assumptions, parts, bounds, to, prices, default_price, progress)
    elif len(parts) > 1 and not keep_results:
        # Two chunks in flight: one chunk's Python work (setting up, building
        # columns) runs while the other's compiled kernels run without the GIL.
        # Each chunk's kernels then use one thread: the chunks are the parallelism.
        from concurrent.futures import ThreadPoolExecutor

        from .native.policy import threads

        def one_thread(*args):
            with threads(1):
                return run_chunk(*args)
        import os
        with ThreadPoolExecutor(max_workers=max(2, min(os.cpu_count() or 1, len(parts)))) as pool:
            futures = [pool.submit(one_thread, deal, assumptions, part, lo, to, prices, default_price, False)
                       for (lo, hi), part in zip(bounds, parts)]
            try:
                for (lo, hi), fut in zip(bounds, futures):
                    outs.append(fut.result())
                    if progress:
                        progress(hi, n)
            except BaseException:
                # Interrupted (a signal) or failed: the chunks not started are not run.
                for f in futures:
                    f.cancel()
                raise
    else:
        for (lo, hi), part in zip(bounds, parts):
            outs.append(run_chunk(deal, assumptions, part, lo, to, prices, default_price, keep_results))
            if progress:
                progress(hi, n)
    # Chunks return arrays (cheap to build and to send back from a worker); the table
    # is one list per column, rows in chunk order (class, then scenario, within a chunk).
    keys = list(_columns(shift_keys))
    results = [r for _, r in outs if r is not None]
    cols = {k: np.concatenate([c[k] for c, _ in outs]) if outs else np.empty(0) for k in keys}
    return {"columns": columns_as_lists(cols), "n_scenarios": n, "results": results}


def _run_in_processes(workers, deal, assumptions, parts, bounds, to, prices, default_price, progress):
    """The chunks in a pool of processes (numpy's work and Python's per-period
    steps both run in parallel; threads would share one interpreter lock).
    The workers end with their parent (see ``_worker_init``); when the run is cut
    short (an error, SIGTERM, Ctrl-C) they are stopped rather than waited for."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor
    total = bounds[-1][1]
    ctx = multiprocessing.get_context()
    parent = os.getpid() if ctx.get_start_method() in ("fork", "spawn") else None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(parent,))
    try:
        futures = [pool.submit(run_chunk, deal, assumptions, part, lo, tuple(to), prices, default_price, False)
                   for (lo, hi), part in zip(bounds, parts)]
        outs = []
        for f, (lo, hi) in zip(futures, bounds):
            outs.append(f.result())
            if progress:
                progress(hi, total)
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.terminate()  # SIGTERM: a worker stops mid-chunk rather than being waited for
        # Not shutdown(wait=True): the pool's own threads may wait on the workers just ended.
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.join(timeout=5)
        raise
    pool.shutdown(wait=True)
    return outs


def _worker_init(parent: Optional[int]) -> None:
    """In each worker process: end when the parent does. On Linux the kernel sends
    SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread
    watches the parent's pid. SIGTERM ends the worker at once; Ctrl-C is the
    parent's to handle (it stops the workers), so a worker ignores SIGINT."""
    import os
    import signal
    import threading
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ppid = os.getppid()
    if parent is not None and ppid != parent:  # the parent died before this worker got here
        os._exit(1)
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0:
                if os.getppid() != ppid:  # it died between the check and the prctl
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _run_on_dask(address: str, deal, assumptions, parts, bounds, to, prices, default_price, progress):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise GridError("--dask needs Dask: pip install 'waterfall-dsl[dask]'") from None
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except OSError as e:
            raise GridError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    try:
        d_f, a_f = client.scatter([deal, assumptions], broadcast=True)
        futures = [client.submit(run_chunk, d_f, a_f, part, lo, tuple(to), prices, default_price, False, pure=False)
                   for (lo, hi), part in zip(bounds, parts)]
        if progress:
            done = 0
            total = bounds[-1][1] if bounds else 0
            sizes = {f.key: hi - lo for f, (lo, hi) in zip(futures, bounds)}
            for f in as_completed(futures):
                done += sizes[f.key]
                progress(done, total)
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --out FILE is written as .run-deal-grid-XXXXXXXX.csv.tmp beside FILE, then renamed
# over it; a run killed midway leaves that file, which only a later run sweeps
# (report.cashflows.sweep_stale_tables): a name no other program uses.
TABLE_TEMP_PREFIX = ".run-deal-grid-"


def write_table(cols: Dict[str, list], path: Optional[str], fmt: str) -> None:
    """CSV (or Parquet when pyarrow is installed and asked for), written atomically."""
    import csv
    import io
    import os
    import tempfile
    keys = list(cols)
    n = len(cols[keys[0]]) if keys else 0
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise GridError("Parquet output needs pyarrow: pip install 'waterfall-dsl[parquet]'") from None
        if not path:
            raise GridError("Parquet output needs --out FILE")
        table = pa.table(cols)
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=TABLE_TEMP_PREFIX, suffix=".parquet.tmp")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for i in range(n):
        w.writerow(["" if cols[k][i] is None else cols[k][i] for k in keys])
    if path:
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=TABLE_TEMP_PREFIX, suffix=".csv.tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(buf.getvalue())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        sys.stdout.write(buf.getvalue())


def progress_bar(enabled: bool):
    """A tqdm bar on stderr when tqdm is installed and the run is long; else nothing."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    state = {"bar": None, "start": time.time(), "last": 0}

    def update(done, total):
        if state["bar"] is None:
            if time.time() - state["start"] < 1.0 and done < total:
                return
            state["bar"] = tqdm(total=total, file=sys.stderr, unit="scen", leave=False)
            state["bar"].update(state["last"])
        state["bar"].update(done - state["last"])
        state["last"] = done
        if done >= total:
            state["bar"].close()
    return update
