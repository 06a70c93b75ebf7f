"""Outputs whole or absent (issue 13, items 3-5): --cashflows DIR is replaced as
one set or left exactly as it was; class files cannot collide with the run's own;
SIGTERM and SIGINT end a run quietly with its temporaries removed; --workers
processes end with their parent."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interpreter.report import cashflows
from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "deals" / "sequential-cmo.waterfall"
ASSUMPTIONS = ROOT / "deals" / "sequential-cmo.assumptions.yaml"
NEW_SET = [".run-deal-cashflows", "A.csv", "B.csv", "C.csv", "D.csv", "R.csv", "clauses.csv", "collateral.csv", "payments.csv", "terms.csv"]

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals, /proc and prctl: Linux")


def snapshot(folder: Path) -> dict:
    """Every entry under folder: a file's bytes, a folder's listing, recursively."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else ("dir" if p.is_dir() else "other")
    return out


def old_set(folder: Path) -> dict:
    """A folder as an earlier run left it, its manifest listing its files (and a
    stale class file a new run drops)."""
    folder.mkdir()
    for name in ("A.csv", "B.csv", "payments.csv", "Z.csv"):
        (folder / name).write_text(f"old {name}\n")
    (folder / ".run-deal-cashflows").write_text("# an earlier run\nA.csv\nB.csv\npayments.csv\nZ.csv\n")
    return snapshot(folder)


def temporaries(*folders: Path) -> list:
    return [p.name for f in folders if f.is_dir() for p in f.iterdir()
            if p.name.startswith(".cashflows-") or p.name.endswith(".tmp")]


# ------------------------------------------------------------------ 3: whole or absent
def test_a_run_replaces_the_whole_set_and_leaves_no_temporary(tmp_path, capsys):
    out = tmp_path / "cf"
    old_set(out)
    out.chmod(0o750)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out), "--format", "csv"]) == 0
    assert sorted(p.name for p in out.iterdir()) == NEW_SET  # the stale Z.csv went with the old set
    assert (out / "A.csv").read_text().startswith("scenario,speed,mode,period")
    assert (out / "payments.csv").read_text() != "old payments.csv\n"
    assert out.stat().st_mode & 0o777 == 0o750  # the folder keeps its permissions
    assert temporaries(tmp_path, out) == []


def test_a_folder_in_the_way_fails_the_run_and_the_folder_is_as_it_was(tmp_path, capsys):
    out = tmp_path / "cf"
    old_set(out)
    (out / "payments.csv").unlink()
    (out / "payments.csv").mkdir()
    (out / "payments.csv" / "keep.txt").write_text("someone's\n")
    before = snapshot(out)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    assert "payments.csv" in err and "did not write" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []


def test_a_folder_holding_someone_elses_files_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "results"
    old_set(out)
    (out / "notes.txt").write_text("mine\n")
    before = snapshot(out)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--cashflows {out}: the folder holds notes.txt" in err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []


def test_a_failure_at_the_last_file_or_at_the_swap_leaves_the_folder_as_it_was(tmp_path, capsys, monkeypatch):
    out = tmp_path / "cf"
    before = old_set(out)
    real_write_set = cashflows._write_set

    def disk_full_at_the_end(result, tmp, *rest):
        real_write_set(result, tmp, *rest)  # every file written, then the disk fills
        raise OSError(28, "No space left on device", str(tmp / "payments.csv"))
    monkeypatch.setattr(cashflows, "_write_set", disk_full_at_the_end)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []
    monkeypatch.setattr(cashflows, "_write_set", real_write_set)

    def exchange_fails(a, b):
        raise OSError(5, "Input/output error", str(b))
    monkeypatch.setattr(cashflows, "_exchange", exchange_fails)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    assert "Input/output error" in capsys.readouterr().err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []


def test_without_an_exchanging_rename_the_set_is_swapped_in_steps(tmp_path, capsys, monkeypatch):
    """Where renameat2(RENAME_EXCHANGE) is missing: old set aside, new set in, the
    old put back if the second rename fails."""
    out = tmp_path / "cf"
    before = old_set(out)
    monkeypatch.setattr(cashflows, "_exchange", lambda a, b: False)
    real_rename = os.rename
    calls = []

    def second_rename_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError(5, "Input/output error", str(dst))
        return real_rename(src, dst)
    monkeypatch.setattr(os, "rename", second_rename_fails)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    assert len(calls) == 3  # aside, in (failed), back
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []
    monkeypatch.setattr(os, "rename", real_rename)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == NEW_SET
    assert temporaries(tmp_path, out) == []


def test_a_mount_point_is_filled_in_place_and_restored_on_failure(tmp_path, capsys, monkeypatch):
    """A mount point cannot be renamed: the set is built inside it, moved in file
    by file, and the old files put back when a step fails."""
    out = tmp_path / "mnt"
    before = old_set(out)
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: os.path.realpath(p) == str(out) or real_ismount(p))
    real_replace = os.replace
    calls = []

    def fifth_replace_fails(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", fifth_replace_fails)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []
    monkeypatch.setattr(os, "replace", real_replace)
    inode = out.stat().st_ino
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 0
    assert out.stat().st_ino == inode  # the same folder, filled in place
    assert sorted(p.name for p in out.iterdir()) == NEW_SET
    assert (out / "A.csv").read_text().startswith("scenario,")
    assert temporaries(tmp_path, out) == []


def test_stale_temporaries_of_ours_are_swept_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "cf"
    old = time.time() - 2 * 3600
    stale, fresh, foreign = (tmp_path / ".cashflows-stale", tmp_path / ".cashflows-fresh",
                             tmp_path / ".cashflows-notours")
    for d in (stale, fresh, foreign):
        d.mkdir()
        (d / "A.csv").write_text("x\n")
    (foreign / "thesis.tex").write_text("keep me\n")
    for d in (stale, foreign):
        os.utime(d, (old, old))
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 0
    assert not stale.exists()
    assert fresh.exists() and foreign.exists()  # a run in progress, and a folder that is not ours


def test_stale_grid_table_temporaries_beside_out_are_swept_and_nothing_else(tmp_path, capsys):
    old = time.time() - 2 * 3600
    stale, fresh, other = (tmp_path / ".run-deal-grid-ab12_xyz.csv.tmp", tmp_path / ".run-deal-grid-cd34_xyz.csv.tmp",
                           tmp_path / "notes.tmp")
    python = tmp_path / "tmpab12_xyz.csv.tmp"  # another Python program's temporary: not ours to sweep
    for f in (stale, fresh, other, python):
        f.write_text("x\n")
    for f in (stale, other, python):
        os.utime(f, (old, old))
    assert main([str(DEAL), "--grid", "speed=100", "--out", str(tmp_path / "grid.csv")]) == 0
    assert (tmp_path / "grid.csv").read_text().startswith("scenario,")
    assert not stale.exists()
    assert fresh.exists() and other.exists() and python.exists()  # a run in progress, and files not ours


# ------------------------------------------------------------------ 4: file names
@pytest.mark.parametrize("renamed,caret", [("Collateral", "^" * 10), ("payments", "^" * 8)])
def test_a_class_whose_file_is_the_runs_own_is_an_error_at_the_class(tmp_path, capsys, renamed, caret):
    text = DEAL.read_text().replace('class R "Residual"', f'class {renamed} "Residual"')
    text = text.replace("pay remaining to R\n", f"pay remaining to {renamed}\n")
    deal = tmp_path / "named.waterfall"
    deal.write_text(text)
    (tmp_path / "named.assumptions.yaml").write_text(ASSUMPTIONS.read_text())
    line = text.splitlines().index(f'class {renamed} "Residual"') + 1
    out = tmp_path / "cf"
    assert main([str(deal), "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{deal}:{line}:7: error: class {renamed}: its cashflow file {renamed}.csv would overwrite "
                          f"the run's {renamed.lower()}.csv")
    assert f'\n    class {renamed} "Residual"\n          {caret}\n' in err
    assert "Traceback" not in err
    assert not out.exists() and temporaries(tmp_path) == []
    # without --cashflows the deal runs as before
    assert main([str(deal), "--speeds", "100", "--format", "csv"]) == 0


def test_two_classes_whose_files_differ_only_in_case_are_an_error(tmp_path, capsys):
    text = DEAL.read_text().replace('class B "Sequential"', 'class a "Sequential"').replace("A, B, C, D", "A, a, C, D")
    deal = tmp_path / "case.waterfall"
    deal.write_text(text)
    (tmp_path / "case.assumptions.yaml").write_text(ASSUMPTIONS.read_text())
    lines = text.splitlines()
    out = tmp_path / "cf"
    assert main([str(deal), "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    a_line, first = lines.index('class a "Sequential"') + 1, lines.index('class A "Sequential"') + 1
    assert err.startswith(f"{deal}:{a_line}:7: error: class a: its cashflow file a.csv would overwrite class A's "
                          f"A.csv (line {first};")
    assert '\n    class a "Sequential"\n          ^\n' in err
    assert not out.exists()


# ------------------------------------------------------------------ 5: signals, workers
def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_deal(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "interpreter", *map(str, args)], cwd=cwd, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout=30.0, what=""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list:
    """Live processes whose parent is pid (from /proc/*/stat)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has ended; only its parent has yet to reap it


@linux_only
@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_writing_cashflows_ends_quietly_and_leaves_the_folder_as_it_was(tmp_path, sig, status):
    out = tmp_path / "cf"
    before = old_set(out)
    speeds = ",".join(str(s) for s in range(0, 300, 6))  # seconds of CSV writing
    p = _run_deal([DEAL, "--speeds", speeds, "--cashflows", out, "--engine", "numpy", "--format", "csv"], tmp_path)
    try:
        _wait_for(lambda: temporaries(tmp_path) or p.poll() is not None, what="the cashflows to be written")
        assert p.poll() is None, p.stderr.read()
        p.send_signal(sig)
        _, err = p.communicate(timeout=20)
    finally:
        _kill(p, [])
    assert p.returncode == status, err
    assert "Traceback" not in err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []


GRID = ["--grid", "speed=0..300/1 cdr=0..30/1 severity=35%", "--chunk", "400", "--engine", "numpy", "--workers", "2"]


@linux_only
@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_grid_on_workers_ends_quietly_and_stops_the_workers(tmp_path, sig, status):
    p = _run_deal([DEAL, *GRID, "--out", tmp_path / "grid.csv"], tmp_path)
    workers = []
    try:
        workers = _wait_for(lambda: len(_children(p.pid)) >= 2 and _children(p.pid), what="the workers")
        time.sleep(0.3)  # well into the chunks
        p.send_signal(sig)
        _, err = p.communicate(timeout=20)
        left = [w for w in workers if _alive(w)]
    finally:
        _kill(p, workers)
    assert p.returncode == status, err
    assert "Traceback" not in err
    assert not (tmp_path / "grid.csv").exists() and temporaries(tmp_path) == []
    assert left == []


@linux_only
def test_workers_end_when_their_parent_is_killed(tmp_path):
    p = _run_deal([DEAL, *GRID, "--out", tmp_path / "grid.csv"], tmp_path)
    workers = []
    try:
        workers = _wait_for(lambda: len(_children(p.pid)) >= 2 and _children(p.pid), what="the workers")
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        _wait_for(lambda: not [w for w in workers if _alive(w)], timeout=5, what="the workers to end")
    finally:
        _kill(p, workers)


def _kill(p, workers) -> None:
    """Whatever a test's outcome, it leaves no process behind."""
    p.kill()
    p.wait()
    for w in workers:
        try:
            os.kill(w, signal.SIGKILL)
        except OSError:
            pass


# ------------------------------------------------------------------ A13: never a file run-deal did not write
def test_a_folder_holding_a_csv_run_deal_did_not_write_is_refused_untouched(tmp_path, capsys):
    """mkdir tapes; echo x > tapes/my-loan-tape.csv; run-deal DEAL --cashflows tapes: the tape stays."""
    out = tmp_path / "tapes"
    out.mkdir()
    (out / "my-loan-tape.csv").write_text("x\n")
    before = snapshot(out)
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--cashflows {out}: the folder holds my-loan-tape.csv, which run-deal did not write" in err
    assert "move those files out, or name another folder" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert temporaries(tmp_path, out) == []


@pytest.mark.parametrize("option", [["--inspect", "pool"], []])
def test_a_csv_beside_an_earlier_runs_set_is_refused_by_every_mode(tmp_path, capsys, option):
    out = tmp_path / "cf"
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 0
    (out / "notes.csv").write_text("mine\n")  # not in the manifest
    before = snapshot(out)
    capsys.readouterr()
    assert main([str(DEAL), "--speeds", "100", "--to", "maturity", "--cashflows", str(out), *option]) == 2
    err = capsys.readouterr().err
    assert "notes.csv, which run-deal did not write (not among the files an earlier run wrote there" in err
    assert snapshot(out) == before


def test_an_empty_folder_and_one_of_this_deals_files_without_a_manifest_are_written(tmp_path, capsys):
    """A folder written before run-deal kept a manifest: files named as this deal's run names them."""
    empty, older = tmp_path / "empty", tmp_path / "older"
    empty.mkdir()
    older.mkdir()
    for name in ("A.csv", "payments.csv", "terms.csv"):
        (older / name).write_text("old\n")
    for out in (empty, older):
        assert main([str(DEAL), "--speeds", "100", "--cashflows", str(out)]) == 0
        assert sorted(p.name for p in out.iterdir()) == NEW_SET
        assert (out / ".run-deal-cashflows").read_text().splitlines()[2:] == NEW_SET[1:]
    (older / "A.csv").unlink()
    (older / ".run-deal-cashflows").unlink()
    (older / "Z.csv").write_text("a class this deal does not have\n")
    assert main([str(DEAL), "--speeds", "100", "--cashflows", str(older)]) == 2
    assert "Z.csv, which run-deal did not write (not a file this deal's run writes)" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--grid", "speed=100", "--out"], ["--report"], ["--save-state"]])
def test_a_file_output_is_never_an_input_nor_a_folder(tmp_path, capsys, option):
    deal, assumptions = tmp_path / "d.waterfall", tmp_path / "d.assumptions.yaml"
    deal.write_text(DEAL.read_text())
    assumptions.write_text(ASSUMPTIONS.read_text())
    extra = ["--after", "3", "--speeds", "100", "--to", "maturity"] if option == ["--save-state"] else []
    before = snapshot(tmp_path)
    for target, said in ((deal, "is the deal file this run reads"),
                         (assumptions, "is the assumptions file this run reads"), (tmp_path, "is a folder")):
        assert main([str(deal), *option, str(target), *extra]) == 2
        err = capsys.readouterr().err
        assert f"{option[-1]} {target}: {said}" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before
