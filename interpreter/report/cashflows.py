"""``--cashflows DIR``: a run's per-period cashflows as CSV files, one per
class plus the collateral, the clause ledger, the payments and the terms,
written whole or not at all (see below)."""
from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from dsl import ast as A
from dsl.diagnostics import DealError

from ..errors import UsageError
from ..signals import signals_deferred
from .amounts import DUST, amount_text
from .analyze import payment_dates


# ------------------------------------------------------------------ cashflows
#
# --cashflows DIR is replaced whole or not at all. The new set is built in a
# hidden .cashflows-* folder beside DIR (the same parent, so the same file
# system) and swapped in with one rename: renameat2(RENAME_EXCHANGE) on Linux,
# else old set aside, new set in, old set removed (the old one put back if the
# second rename fails). Where DIR itself cannot be renamed (a mount point, the
# working folder or one above it, a folder another user owns, a parent we may
# not write) the set is built in a .cashflows-* folder inside DIR and its files
# moved into place one by one, the old files kept until all new ones are in and
# put back on a failure: best effort, since a machine that stops midway can
# leave a mix there. Because the whole folder is replaced, DIR must be new,
# empty, or hold only what an earlier run wrote there: the files its manifest
# (.run-deal-cashflows) lists, or, in a folder without one, files named as this
# deal's run names them. Anything else (a loan tape.csv among them) is refused,
# never swapped away.

TEMP_PREFIX = ".cashflows-"
STALE_AFTER = 3600.0  # seconds: a temporary of ours untouched this long is left from a dead run
RESERVED_FILES = ("collateral", "clauses", "payments", "terms")  # the run's own CSVs, besides the classes'
MANIFEST = ".run-deal-cashflows"  # in DIR: the files the run wrote there, one a line
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def check_cashflow_names(deal) -> None:
    """--cashflows writes CLASS.csv beside collateral.csv, clauses.csv,
    payments.csv and terms.csv: a class whose file would be one of those, or
    another class's (names compared without case, as some file systems do), is an
    input error at the class, found before anything runs."""
    from dsl.diagnostics import Diagnostic
    seen = {}
    diags = []
    for c in deal.classes:
        stem = _safe(c.name)
        key = stem.lower()
        span = _name_span(deal, c)
        if key in RESERVED_FILES:
            diags.append(Diagnostic(span, f"class {c.name}: its cashflow file {stem}.csv would overwrite the run's "
                                          f"{key}.csv (file names are compared without case)",
                                    hint="rename the class, or run without --cashflows"))
        elif key in seen:
            first = seen[key]
            diags.append(Diagnostic(span, f"class {c.name}: its cashflow file {stem}.csv would overwrite class "
                                          f"{first.name}'s {_safe(first.name)}.csv (line {first.span.line}; file "
                                          f"names are compared without case)",
                                    hint="rename one of the classes, or run without --cashflows"))
        else:
            seen[key] = c
    if diags:
        raise DealError(diags, {deal.path: deal.source})


def _name_span(deal, c) -> "A.Span":
    """The span of the class's name on its 'class NAME' line (else the whole declaration)."""
    import re
    sp = c.span
    lines = (deal.source or "").splitlines()
    if 0 < sp.line <= len(lines):
        m = re.match(r"[ \t]*class[ \t]+", lines[sp.line - 1])
        if m and lines[sp.line - 1][m.end():].startswith(c.name):
            col = m.end() + 1
            return A.Span(sp.file, sp.line, col, sp.line, col + len(c.name))
    return sp


def own_files(class_names) -> frozenset:
    """The file names a --cashflows run of a deal with these classes may write."""
    return frozenset([f"{_safe(n)}.csv" for n in class_names] + [f"{k}.csv" for k in RESERVED_FILES])


def cashflows_target(directory, own=frozenset()) -> Path:
    """The folder --cashflows DIR writes (symbolic links followed), checked before
    anything runs: new, empty, or holding only what a run wrote there (see
    _foreign; ``own``: the files this deal's run writes, from own_files)."""
    d = Path(os.path.realpath(directory))
    if os.path.lexists(d):
        if not d.is_dir():
            raise UsageError(f"--cashflows {directory}: exists and is not a folder")
        foreign = _foreign(d, own)
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            listed = os.path.lexists(d / MANIFEST)
            why = (f"not among the files an earlier run wrote there (listed in {MANIFEST})" if listed
                   else "not a file this deal's run writes")
            raise UsageError(f"--cashflows {directory}: the folder holds {', '.join(foreign[:3])}{more}, which "
                             f"run-deal did not write ({why}); a run replaces the whole folder, so it writes only "
                             f"to a new or empty folder or one holding just its own files: move those files out, "
                             f"or name another folder")
    else:
        up = d.parent
        while not os.path.lexists(up) and up != up.parent:
            up = up.parent
        if not up.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(up))
    return d


def _manifest(d: Path) -> Optional[frozenset]:
    """The files an earlier run wrote in d, from its manifest (None: d has none)."""
    p = d / MANIFEST
    if not p.is_file() or p.is_symlink():
        return None
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return frozenset(x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#"))


def _foreign(d: Path, own=frozenset()) -> List[str]:
    """What in d a cashflows run did not write: anything but regular files its
    manifest lists (in a folder without a manifest, one written before run-deal
    kept one: the names in ``own``), the manifest, our .cashflows-* temporaries
    (and lost+found on a mount point)."""
    mount = os.path.ismount(d)
    listed = _manifest(d)
    ours = listed if listed is not None else own
    out = []
    for e in os.scandir(d):
        if e.is_file(follow_symlinks=False) and (e.name in ours or (e.name == MANIFEST and listed is not None)):
            continue
        if e.name.startswith(TEMP_PREFIX) and e.is_dir(follow_symlinks=False):
            continue
        if mount and e.name == "lost+found":
            continue
        out.append(e.name + ("/" if e.is_dir(follow_symlinks=False) else ""))
    return sorted(out)


def _in_place(d: Path) -> bool:
    """True when d cannot be swapped for a new folder: the new set then goes in file by file."""
    if not d.is_dir():
        return False
    if os.path.ismount(d):
        return True
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:
        cwd = ""
    if cwd == str(d) or cwd.startswith(str(d).rstrip(os.sep) + os.sep):
        return True
    if hasattr(os, "geteuid") and d.stat().st_uid != os.geteuid():
        return True
    return not os.access(d.parent, os.W_OK | os.X_OK)


def sweep_stale(folder: Path, now: Optional[float] = None) -> None:
    """Remove what killed runs left in folder: our .cashflows-* folders (holding
    only CSV files and a manifest, owned by this user) untouched for STALE_AFTER seconds."""
    import shutil
    import time
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not (e.name.startswith(TEMP_PREFIX) and e.is_dir(follow_symlinks=False)):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if now - st.st_mtime < STALE_AFTER or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
                continue
            if all((x.name.endswith(".csv") or x.name == MANIFEST) and x.is_file(follow_symlinks=False)
                   for x in os.scandir(e.path)):
                shutil.rmtree(e.path, ignore_errors=True)
        except OSError:
            continue


def sweep_stale_tables(path: str, now: Optional[float] = None) -> None:
    """Remove what killed --grid --out runs left beside FILE: .run-deal-grid-XXXXXXXX.csv.tmp
    and .parquet.tmp files of this user, untouched for STALE_AFTER seconds (never
    another program's tmpXXXXXXXX.csv.tmp)."""
    import re
    import time
    now = time.time() if now is None else now
    folder = os.path.dirname(os.path.abspath(path))
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not re.fullmatch(r"\.run-deal-grid-[a-z0-9_]{8}\.(csv|parquet)\.tmp", e.name):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if (e.is_file(follow_symlinks=False) and now - st.st_mtime >= STALE_AFTER
                    and not (hasattr(os, "geteuid") and st.st_uid != os.geteuid())):
                os.unlink(e.path)
        except OSError:
            continue


def _free_name(home: Path) -> Path:
    import secrets
    for _ in range(100):
        p = home / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
        if not os.path.lexists(p):
            return p
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(home))


def _new_temp(home: Path, mode: int = 0o700) -> Path:
    for _ in range(100):
        p = _free_name(home)
        try:
            os.mkdir(p, mode)
            return p
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(home))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 with RENAME_EXCHANGE).
    False where that is not available (another system, an old C library, a file
    system without it): the caller then renames in steps."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", -1), getattr(errno, "EOPNOTSUPP", -1)):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, d: Path, own=frozenset()) -> None:
    """Put the folder new at d in one step. Afterwards the old set, if any, is at
    new (removed by the caller) or already gone; on failure d is as it was."""
    import shutil
    with signals_deferred():
        if not os.path.lexists(d):
            os.rename(new, d)
            return
        if _foreign(d, own):  # something arrived while the run ran
            raise UsageError(f"--cashflows {d}: files run-deal did not write appeared during the run; left as it was")
        os.chmod(new, stat.S_IMODE(os.stat(d).st_mode))
        if _exchange(new, d):
            return
        aside = _free_name(d.parent)
        os.rename(d, aside)
        try:
            os.rename(new, d)
        except BaseException:
            os.rename(aside, d)
            raise
        shutil.rmtree(aside, ignore_errors=True)


def _move_in(new: Path, d: Path, own=frozenset()) -> None:
    """The new set's files into d one by one (d cannot be swapped): each file is
    replaced in one step; the old files are kept until all new ones are in, and
    put back if a step fails."""
    import shutil
    names = sorted(os.listdir(new))
    with signals_deferred():
        if _foreign(d, own):
            raise UsageError(f"--cashflows {d}: files run-deal did not write appeared during the run; left as it was")
        stale = sorted(e.name for e in os.scandir(d)  # the earlier run's files (all of them, as checked above)
                       if e.is_file(follow_symlinks=False) and e.name not in names)
        keep = _new_temp(d)
        kept, placed = [], []
        try:
            for name in names:
                if os.path.lexists(d / name):
                    try:
                        os.link(d / name, keep / name)  # the old file stays in place until replaced
                    except OSError:
                        os.replace(d / name, keep / name)
                    kept.append(name)
                os.replace(new / name, d / name)
                placed.append(name)
            for name in stale:
                os.replace(d / name, keep / name)
                kept.append(name)
        except BaseException:
            for name in placed:
                if name not in kept:
                    _quietly(os.unlink, d / name)
            for name in kept:
                _quietly(os.replace, keep / name, d / name)
            raise
        finally:
            shutil.rmtree(keep, ignore_errors=True)


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass


def write_cashflows(result, directory: Path, classes=None, t0: int = 0, since_before=None, scenarios=None) -> None:
    """One CSV per class (of ``classes`` only, when given: the payments too), one for
    the collateral, the clause ledger and every payment, written to a temporary folder and swapped in as a whole only when all
    are complete: DIR holds the new set or, on any failure or signal, exactly what
    it held before. ``t0``, ``since_before``: a run from a deal state after distribution
    ``t0`` (and the events that happened before it): the periods from ``t0 + 1`` on.
    ``scenarios``: the run's scenarios (indices) to write, numbered 0, 1, ... in
    the files (default: all of them)."""
    import shutil
    _check_file_names(result.class_names)
    own = own_files(result.class_names)
    d = cashflows_target(directory, own)
    in_place = _in_place(d)
    if not in_place:
        d.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(d.parent)
    if d.is_dir():
        sweep_stale(d)
    tmp = None
    try:
        with signals_deferred():
            # a new DIR gets the mode a plain mkdir gives; a replaced one keeps its own
            tmp = _new_temp(d if in_place else d.parent, 0o700 if in_place or d.exists() else 0o777)
        _write_set(result, tmp, classes, t0, since_before, scenarios)
        _write_manifest(tmp, result.deal.name)
        if in_place:
            _move_in(tmp, d, own)
        else:
            _swap_in(tmp, d, own)
    finally:
        if tmp is not None:
            with signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)


def _write_manifest(tmp: Path, deal_name: str) -> None:
    """The manifest: what this run wrote, so a later run knows what it may replace."""
    names = sorted(n for n in os.listdir(tmp) if n != MANIFEST)
    with open(tmp / MANIFEST, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"# run-deal --cashflows wrote these files here for {deal_name}; a later run replaces this folder\n"
                 f"# only if it holds nothing else\n" + "".join(n + "\n" for n in names))


def _check_file_names(class_names) -> None:
    seen = {k: k for k in RESERVED_FILES}
    for name in class_names:
        key = _safe(name).lower()
        if key in seen:
            raise UsageError(f"--cashflows: class {name}'s file {_safe(name)}.csv would overwrite {seen[key]}.csv")
        seen[key] = _safe(name)


def _write_set(result, tmp: Path, classes=None, t0: int = 0, since_before=None, scenarios=None) -> None:
    import csv
    # the scenarios asked for (the run may add some for the summary), numbered from 0 in the run's order
    keep = list(range(len(result.speeds))) if scenarios is None else list(scenarios)
    number = {s: n for n, s in enumerate(keep)}
    cols = ["scenario", "speed", "mode", "period", "date", "beginning balance", "interest", "principal",
            "ending balance"]
    T = result.n_periods
    money = (result.begin_balance, result.interest, result.principal, result.balance, result.carryover_paid,
             result.loss_reimbursed, result.writedown)
    dates = [d.isoformat() for d in result.dates]
    for ci, name in enumerate(result.class_names):
        if classes and name not in classes:
            continue
        own = result.deal.class_named(name)
        # each class's own payment dates (a stated delay moves them off the distribution dates)
        cdates = dates if own is None or own.delay_days is None else \
            [d.isoformat() for d in payment_dates(result.deal, own, result.dates)]
        with open(tmp / f"{_safe(name)}.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols + ["carryover paid", "loss reimbursed", "writedown", "rate"])
            for n, s in enumerate(keep):
                for t in range(t0, T):
                    w.writerow([n, f"{result.speeds[s] * 100:g}%", result.modes[s], t + 1, cdates[t],
                                *[amount_text(a[t, ci, s]) for a in money], repr(float(result.rate[t, ci, s]))])
    with open(tmp / "collateral.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols + ["group", "scheduled principal", "prepayment", "default", "recovery", "loss",
                           "penalty", "sale proceeds"])
        sold = result.sold_period if result.sold_period is not None else np.full(len(result.speeds), -1)
        for g, f in result.collateral.items():
            for n, s in enumerate(keep):
                for t in range(t0, T):
                    if 0 <= sold[s] < t:
                        break  # the collateral was sold (early retirement): no later flows
                    sale = f.end_balance[s, t] if sold[s] == t else 0.0
                    end = 0.0 if sold[s] == t else f.end_balance[s, t]
                    w.writerow([n, f"{result.speeds[s] * 100:g}%", result.modes[s], t + 1, dates[t],
                                amount_text(f.begin_balance[s, t]),
                                amount_text(f.net_interest[s, t]), amount_text(f.principal[s, t]),
                                amount_text(end), g, amount_text(f.scheduled_principal[s, t]),
                                amount_text(f.prepayment[s, t]), amount_text(f.default[s, t]),
                                amount_text(f.recovery[s, t]), amount_text(f.loss[s, t]),
                                amount_text(f.penalty[s, t]), amount_text(sale)])
    # The clause ledger: what each clause of the waterfall paid, so every
    # payment can be traced to the term-sheet clause that made it.
    with open(tmp / "clauses.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["scenario", "speed", "mode", "period", "date", "clause", "paid"])
        for n, s in enumerate(keep):
            for t in range(t0, T):
                for k, label in enumerate(result.clause_labels):
                    w.writerow([n, f"{result.speeds[s] * 100:g}%", result.modes[s], t + 1, dates[t], label,
                                amount_text(result.clause_paid[t, k, s])])
    # Every defined term and state field by period (run(inspect=True)).
    if result.inspected is not None:
        from .inspect import terms_csv
        with open(tmp / "terms.csv", "w", newline="") as fh:
            fh.write(terms_csv(result, t0, since_before, keep))
    # Every payment, with the clause and the line of the deal file that made it.
    if result.trace is not None:
        with open(tmp / "payments.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["scenario", "speed", "mode", "period", "date", "clause", "line", "pays", "class", "amount"])
            for t, label, line, what, targets, paid in result.trace:
                if t < t0:
                    continue
                for j, ci in enumerate(targets):
                    if classes and result.class_names[ci] not in classes:
                        continue
                    for s in np.nonzero(np.abs(paid[j]) >= DUST)[0]:  # a payment, not floating-point dust
                        if s not in number:
                            continue
                        w.writerow([number[s], f"{result.speeds[s] * 100:g}%", result.modes[s], t + 1, dates[t], label,
                                    line, what, result.class_names[ci], amount_text(paid[j, s])])


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
