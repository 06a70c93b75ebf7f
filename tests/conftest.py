import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"


def pytest_configure(config):
    """The suite runs with its own cache folder, fresh and 0700 (mkdtemp), unless
    WATERFALL_CACHE already names one: the user's cache is neither read nor changed.
    Set in the environment, so the run-deal processes the tests start use it too."""
    # run-deal compiles before its first run, as the tests expect (a quick start,
    # numpy while the kernel builds in the background, is tested on its own)
    os.environ.setdefault("WATERFALL_QUICK_START", "off")
    if "WATERFALL_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="waterfall-test-cache-")
        os.environ["WATERFALL_CACHE"] = folder
        config._waterfall_cache = folder


def pytest_unconfigure(config):
    folder = getattr(config, "_waterfall_cache", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("WATERFALL_CACHE") == folder:
            del os.environ["WATERFALL_CACHE"]


@pytest.fixture(scope="session")
def seq_deal():
    from dsl.check import load_deal
    return load_deal(DEALS / "sequential-cmo.waterfall")


@pytest.fixture(scope="session")
def seq_assumptions(seq_deal):
    from interpreter.assumptions import load_assumptions
    return load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", seq_deal)


@pytest.fixture(scope="session")
def seq_run(seq_deal, seq_assumptions):
    from interpreter.engine import run
    return run(seq_deal, seq_assumptions)
