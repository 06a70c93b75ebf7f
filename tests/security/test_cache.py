"""The cache folder runs nothing it did not build (issue 13, items 1 and 5).

Every hostile folder, pickle and library here is built by the test under
tmp_path; the user's cache is never read. A planted library writes a marker
file from its constructor, a planted pickle from its ``__reduce__``: if either
were ever loaded, the marker would exist."""
from __future__ import annotations

import ctypes
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import dsl.parse
from dsl import cachedir, larktables
from dsl.check import load_deal
from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
from interpreter.native import build as cbuild
from interpreter.cli import main
from interpreter.engine import horizon, lower_program, run
from interpreter.waterfall.lowering import source_key

from .helpers import ROOT, SEQ, SEQ_YAML, Bomb, env_for, evil_library, mode, needs_cc, twice, unique_source


# ------------------------------------------------------------------ owner and permissions
@needs_cc
def test_folders_0700_and_files_0600_whatever_the_umask(tmp_path, monkeypatch, fresh, seq_deal, seq_assumptions):
    root = tmp_path / "made" / "by" / "cache"  # two parents the cache creates, too
    monkeypatch.setenv("WATERFALL_CACHE", str(root))
    old = os.umask(0)
    try:
        lib = cbuild.load("t", unique_source())
        r = run(seq_deal, seq_assumptions, [1.0], engine="c")  # the deal's library and its index
    finally:
        os.umask(old)
    for folder in (tmp_path / "made", tmp_path / "made" / "by", root, root / "c"):
        assert mode(folder) == 0o700, folder
    files = sorted((root / "c").iterdir())
    assert {"t", "deal"} <= {f.name.split("-")[0] for f in files} <= {"t", "deal", "collateral", "analytics"}
    assert any(f.name.startswith("deal-index-") for f in files)
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert twice(lib) == 42.0  # a 0600 library loads
    np.testing.assert_array_equal(r.principal, run(seq_deal, seq_assumptions, [1.0], engine="numpy").principal)


def foreign(folder: Path, monkeypatch):
    if os.geteuid() == 0:
        os.chown(folder, 54321, -1)
    else:  # not root: the folder is ours, so this process plays another user
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 1)


@needs_cc
@pytest.mark.parametrize("hostile", ["group-writable", "other-writable", "foreign owner", "symlink",
                                     "subfolder writable"])
def test_a_folder_others_could_write_is_not_used(tmp_path, monkeypatch, fresh, capsys, seq_deal, hostile):
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    os.chmod(root, 0o700)
    if hostile == "group-writable":
        os.chmod(root, 0o770)
    elif hostile == "other-writable":
        os.chmod(root, 0o707)
    elif hostile == "foreign owner":
        foreign(root, monkeypatch)
    elif hostile == "symlink":
        real = tmp_path / "elsewhere"
        root.rename(real)
        root.symlink_to(real)
    else:
        (root / "c").mkdir()
        os.chmod(root / "c", 0o777)
    monkeypatch.setenv("WATERFALL_CACHE", str(root))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert twice(cbuild.load("t", unique_source())) == 42.0
    assert twice(cbuild.load("t", unique_source())) == 42.0
    assert c_run._index_path(source_key(seq_deal)) is None
    if hostile == "group-writable":  # a whole run-deal, too
        assert main([str(SEQ), "--speeds", "100"]) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err  # one line, once per process
    assert err.startswith("waterfall-dsl: cache folder ") and err.endswith("; running without a cache\n")
    assert str(root) in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "the folder was used"


@needs_cc
def test_a_full_cache_folder_means_building_outside_it(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    folder = cachedir.cache_dir("c")
    real = cbuild.tempfile.mkstemp

    def full(*a, **k):
        if Path(k.get("dir", "")) == folder:
            raise OSError(28, "No space left on device")
        return real(*a, **k)
    monkeypatch.setattr(cbuild.tempfile, "mkstemp", full)
    assert twice(cbuild.load("t", unique_source())) == 42.0
    assert list(folder.iterdir()) == []
    assert cachedir.write_private(folder / "x", b"data") is False and list(folder.iterdir()) == []


# ------------------------------------------------------------------ no pickle is read
def old_deal_cache_entries(root: Path):
    """Where the deal cache of the previous version kept SEQ (its recipe), and a few other names."""
    import hashlib
    import importlib.util
    h = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]} pickle {pickle.HIGHEST_PROTOCOL}\n".encode())
    files = sorted((ROOT / "dsl").glob("*.py")) + sorted((ROOT / "grammar").glob("*.lark"))
    files.append(Path(importlib.util.find_spec("lark").origin))
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    e = hashlib.sha256(h.digest())
    e.update(str(SEQ).encode() + b"\0" + SEQ.read_text(encoding="utf-8").encode())
    return [root / "deals" / f"{e.hexdigest()}.pickle"] + [root / "deals" / f"{uuid.uuid4().hex * 2}.pickle"
                                                           for _ in range(3)]


def old_lark_cache_file(root: Path) -> Path:
    import hashlib

    import lark
    text = (ROOT / "grammar" / "waterfall.lark").read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return root / "lark" / f"waterfall-{digest}-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.cache"


def test_a_planted_pickle_is_never_read(tmp_path, monkeypatch, fresh, capsys):
    marker = tmp_path / "MARKER"
    bomb = pickle.dumps(Bomb(marker))
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Bomb(control)))
    assert control.exists(), "the bomb does not go off: this test could not fail"
    root = tmp_path / "cache"
    for f in [old_lark_cache_file(root), *old_deal_cache_entries(root)]:
        f.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        f.write_bytes(b"waterfall-dsl deal cache 1\n" + bomb if f.suffix == ".pickle" else b"0" * 64 + b"\n" + bomb)
    # and where the package keeps Lark's tables (a copy of the grammar folder, ours)
    pkg = tmp_path / "grammar"
    pkg.mkdir()
    os.chmod(pkg, 0o755)
    text = (ROOT / "grammar" / "waterfall.lark").read_text(encoding="utf-8")
    options = dict(parser="lalr", lexer="contextual", postlex=dsl.parse.DealIndenter(), propagate_positions=True,
                   maybe_placeholders=False)
    (pkg / larktables.file_name(text, options)).write_bytes(bomb)
    monkeypatch.setattr(dsl.parse, "_tables_folder", lambda: pkg)
    monkeypatch.setenv("WATERFALL_CACHE", str(root))
    dsl.parse._parser.cache_clear()
    try:
        assert main([str(SEQ), "--speeds", "100"]) == 0
        assert load_deal(SEQ).name == "Sequential CMO 2024-1"
    finally:
        dsl.parse._parser.cache_clear()
    assert not marker.exists()
    assert not list((root / "deals").glob("*.pickle")) and not (root / "lark").exists(), \
        "the old pickles are left behind"
    assert json.loads((pkg / larktables.file_name(text, options)).read_text())["format"] == larktables.FORMAT
    # and a run-deal process (the "next run" of the issue)
    p = subprocess.run([sys.executable, "-m", "interpreter", str(SEQ), "--speeds", "100"], capture_output=True,
                       text=True, env=env_for(root, WATERFALL_ENGINE="numpy"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not marker.exists()


# ------------------------------------------------------------------ the index and the libraries it names
@pytest.fixture(scope="module")
def built_kernel(tmp_path_factory):
    """A cache folder in which another process built the sequential CMO's kernel
    (so that this process has loaded none of its files)."""
    root = tmp_path_factory.mktemp("seed") / "cache"
    code = ("import sys\n"
            "from dsl.check import load_deal\n"
            "from interpreter.assumptions import load_assumptions\n"
            "from interpreter import engine\n"
            "from interpreter.waterfall import c_run\n"
            "d = load_deal(sys.argv[1]); a = load_assumptions(sys.argv[2], d)\n"
            "assert c_run.kernel(engine.lower_program(d, a, engine.horizon(d, a))) is not None\n")
    subprocess.run([sys.executable, "-c", code, str(SEQ), str(SEQ_YAML)], check=True, env=env_for(root))
    return root


@needs_cc
@pytest.mark.parametrize("hostile, rebuilt", [
    ("path outside", 0),  # the library the index should have named is found by its source instead
    ("not an entry", 0),
    ("symlink outside", 1),
    ("content altered", 1),
    ("truncated", 1),
])
def test_an_index_entry_must_name_a_library_in_the_folder_with_its_hash(
        tmp_path, monkeypatch, fresh, built_kernel, seq_deal, seq_assumptions, hostile, rebuilt):
    root = tmp_path / "cache"
    shutil.copytree(built_kernel, root)
    folder = root / "c"
    (index,) = folder.glob("deal-index-*")
    name, digest = index.read_text().split()
    so = folder / name
    marker = tmp_path / "MARKER"
    evil = evil_library(tmp_path, marker)
    if hostile == "path outside":  # the entry of the previous version: a path
        index.write_text(str(evil))
    elif hostile == "symlink outside":
        so.unlink()
        so.symlink_to(evil)
    elif hostile == "content altered":
        so.write_bytes(evil.read_bytes())
    elif hostile == "truncated":
        so.write_bytes(so.read_bytes()[: so.stat().st_size // 2])
    else:
        index.write_text(f"../{evil.name}\n{digest}\n")
    monkeypatch.setenv("WATERFALL_CACHE", str(root))
    compiled = []
    real = cbuild._compile
    monkeypatch.setattr(cbuild, "_compile", lambda *a: compiled.append(a) or real(*a))
    model = lower_program(seq_deal, seq_assumptions, horizon(seq_deal, seq_assumptions))
    lib, _ = c_run.kernel(model)
    assert not marker.exists(), "the planted library was loaded"
    assert len(compiled) == rebuilt
    assert Path(lib._name) == so and so.is_file() and not so.is_symlink()
    assert index.read_text() == f"{name}\n{cbuild.file_digest(so)}\n"  # the entry is written again
    r = run(seq_deal, seq_assumptions, [1.0], engine="c")
    np.testing.assert_array_equal(r.principal, run(seq_deal, seq_assumptions, [1.0], engine="numpy").principal)


@needs_cc
@pytest.mark.parametrize("damage", ["truncated", "empty", "another architecture", "not a library"])
def test_a_library_that_cannot_be_loaded_is_rebuilt(tmp_path, monkeypatch, fresh, damage):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    src = unique_source()
    folder = cachedir.cache_dir("c")
    so = folder / f"t-{cbuild.library_key(cbuild.compiler(), src)}.so"
    good = tmp_path / "good.so"
    cbuild._compile(cbuild.compiler(), src, good, "t")  # built, never loaded by this process
    data = good.read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = b""
    elif damage == "another architecture":
        assert data[:4] == b"\x7fELF"
        machine = int.from_bytes(data[18:20], "little")
        data = data[:18] + (machine ^ 0x0F0F).to_bytes(2, "little") + data[20:]
    else:
        data = b"#!/bin/sh\necho not a library\n"
    if damage != "truncated":  # (loading a truncated library can crash the process: never tried)
        bad = tmp_path / "bad.so"
        bad.write_bytes(data)
        with pytest.raises(OSError):
            ctypes.CDLL(str(bad))  # the damage is real: it cannot be loaded as it is
    so.write_bytes(data)
    shutil.copy(good.with_suffix(".sha256"), so.with_suffix(".sha256"))  # the record of the good library
    assert twice(cbuild.load("t", src)) == 42.0
    assert so.read_bytes() != data and cbuild.file_digest(so) + "\n" == so.with_suffix(".sha256").read_text(), \
        "not rebuilt"


@needs_cc
def test_a_library_without_its_record_is_rebuilt(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    marker = tmp_path / "MARKER"
    src = unique_source()
    so = cachedir.cache_dir("c") / f"t-{cbuild.library_key(cbuild.compiler(), src)}.so"
    shutil.copy(evil_library(tmp_path, marker), so)
    assert twice(cbuild.load("t", src)) == 42.0
    assert not marker.exists()
    assert so.with_suffix(".sha256").read_text() == cbuild.file_digest(so) + "\n"


def test_the_keys_name_the_machine_and_the_compiler(monkeypatch, seq_deal):
    cc = cbuild.compiler() or "/usr/bin/cc"
    key = cbuild.library_key(cc, "int x;")
    assert cbuild.compiler_version(cc) != "" or not cbuild.available()
    monkeypatch.setattr(cbuild.platform, "machine", lambda: "another-machine")
    assert cbuild.library_key(cc, "int x;") != key
    monkeypatch.undo()
    monkeypatch.setitem(cbuild._versions, cc, "cc (another version) 99.0")
    assert cbuild.library_key(cc, "int x;") != key
    monkeypatch.undo()
    assert cbuild.library_key(cc, "int x;") == key
    if cbuild.available():
        index = c_run._index_path(source_key(seq_deal))
        monkeypatch.setattr(cbuild.platform, "machine", lambda: "another-machine")
        assert c_run._index_path(source_key(seq_deal)) != index


def test_the_fingerprint_covers_the_grammar_and_the_parser(tmp_path, monkeypatch):
    here = ROOT / "dsl"
    shutil.copytree(here, tmp_path / "dsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "grammar", tmp_path / "grammar", ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    monkeypatch.setattr(cachedir, "_HERE", tmp_path / "dsl")

    def fingerprint():
        monkeypatch.setattr(cachedir, "_fingerprint", None)
        return cachedir.code_fingerprint()
    first = fingerprint()
    assert fingerprint() == first
    for edited in (tmp_path / "grammar" / "waterfall.lark", tmp_path / "dsl" / "parse.py",
                   tmp_path / "dsl" / "checker.py", tmp_path / "dsl" / "ast.py"):
        before = edited.read_bytes()
        edited.write_bytes(before + b"\n")
        assert fingerprint() != first, f"an edit of {edited.name} keeps the fingerprint"
        edited.write_bytes(before)
        assert fingerprint() == first


# ------------------------------------------------------------------ stale temporaries (item 5)
def test_stale_temporaries_are_swept_when_the_folder_is_opened(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    folder = cachedir.cache_dir("c")
    old = time.time() - 2 * cachedir.STALE_SECONDS
    stale = ["tmpab12cd.c", "tmpab12cd.so", ".deal-index-0123.x1y2.tmp", "x.tmp"]
    kept = ["tmpnew.c", "deal-0123456789abcdef0123.so", "deal-index-0123"]
    for name in stale + kept:
        (folder / name).write_bytes(b"")
        if name != "tmpnew.c":
            os.utime(folder / name, (old, old))  # an old library stays: pruning is by count
    monkeypatch.setattr(cachedir, "_swept", set())
    assert cachedir.cache_dir("c") == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)
